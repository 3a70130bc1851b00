#pragma once
/// The input of a libFuzzer run as text. Every target feeds what it is given to a parser the way
/// berth feeds it what another party wrote; a crash, an exception that escapes or a sanitizer
/// report is a finding (docs/fuzzing.md).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace berth::fuzz {

inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

}  // namespace berth::fuzz
