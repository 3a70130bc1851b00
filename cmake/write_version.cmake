# Writes OUTPUT with VERSION and the git revision of SOURCE_DIR; rewrites only on change.
find_package(Git QUIET)
set(rev "unknown")
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SOURCE_DIR} describe --always --dirty --abbrev=12
                  OUTPUT_VARIABLE out RESULT_VARIABLE rc ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(rc EQUAL 0 AND out)
    set(rev "${out}")
  endif()
endif()
set(content "#include <berth/core/version.h>\n\nnamespace berth {\nstd::string_view version() { return \"${VERSION}\"; }\nstd::string_view git_revision() { return \"${rev}\"; }\n} // namespace berth\n")
include(${CMAKE_CURRENT_LIST_DIR}/write_if_changed.cmake)
write_if_changed(${OUTPUT} "${content}")
