# Fuzzing (tests/fuzz/, docs/fuzzing.md): -DBERTH_FUZZ=ON builds libFuzzer targets for the parsers
# that read what another party wrote, with every berth library instrumented for coverage and built
# with AddressSanitizer and UndefinedBehaviorSanitizer. Only a compiler that links
# -fsanitize=fuzzer (Debian's clang) can; with any other (g++) the option says so and builds the
# usual targets unchanged. Off by default: the normal build is not affected at all.
option(BERTH_FUZZ "Build the libFuzzer targets of tests/fuzz (clang only; ASan + UBSan)" OFF)
set(BERTH_FUZZ_ENABLED OFF)
if(NOT BERTH_FUZZ)
  return()
endif()

include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_QUIET ON)
set(CMAKE_REQUIRED_FLAGS "-fsanitize=fuzzer,address,undefined")
set(CMAKE_REQUIRED_LINK_OPTIONS "-fsanitize=fuzzer,address,undefined")
check_cxx_source_compiles([[
#include <cstddef>
#include <cstdint>
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }
]] BERTH_HAVE_LIBFUZZER)
unset(CMAKE_REQUIRED_LINK_OPTIONS)
if(NOT BERTH_HAVE_LIBFUZZER)
  message(WARNING "BERTH_FUZZ: ${CMAKE_CXX_COMPILER} cannot link -fsanitize=fuzzer; the fuzz targets "
                  "are not built (use clang++-16: packages clang-16 libclang-rt-16-dev)")
  return()
endif()

# berth uses std::expected. libstdc++ 12 offers it only when __cpp_concepts >= 202002L; clang 16
# implements what <expected> needs (P0848) but still announces 201907L, so announce the level it has.
set(_berth_expected_src [[
#include <expected>
int main() { std::expected<int, int> e = 1; return *e - 1; }
]])
set(CMAKE_REQUIRED_FLAGS "-std=c++2b")
check_cxx_source_compiles("${_berth_expected_src}" BERTH_HAVE_STD_EXPECTED)
set(BERTH_FUZZ_CONCEPTS_FLAGS -U__cpp_concepts -D__cpp_concepts=202002L)
if(NOT BERTH_HAVE_STD_EXPECTED)
  set(CMAKE_REQUIRED_FLAGS "-std=c++2b -U__cpp_concepts -D__cpp_concepts=202002L")
  check_cxx_source_compiles("${_berth_expected_src}" BERTH_HAVE_STD_EXPECTED_WITH_CONCEPTS)
  if(NOT BERTH_HAVE_STD_EXPECTED_WITH_CONCEPTS)
    message(WARNING "BERTH_FUZZ: ${CMAKE_CXX_COMPILER} has no std::expected (clang 16 or later is needed); "
                    "the fuzz targets are not built")
    return()
  endif()
  add_compile_options(${BERTH_FUZZ_CONCEPTS_FLAGS})
endif()
unset(CMAKE_REQUIRED_FLAGS)

# Every library the targets link is instrumented (coverage for libFuzzer, ASan, UBSan); a
# sanitizer report aborts the run, so it counts as a crash.
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                    -fno-omit-frame-pointer)
add_link_options(-fsanitize=address,undefined)
set(BERTH_FUZZ_ENABLED ON)
message(STATUS "BERTH_FUZZ: building the libFuzzer targets of tests/fuzz")
