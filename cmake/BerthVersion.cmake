# berth's version (from project()) and the git revision it was built from, as a small library.
# The revision is read at build time, so a rebuild after a commit reports the new one.
set(BERTH_VERSION_CC "${CMAKE_CURRENT_BINARY_DIR}/berth_version.cc")
add_custom_target(berth_version_stamp
  COMMAND ${CMAKE_COMMAND}
          -DSOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}
          -DOUTPUT=${BERTH_VERSION_CC}
          -DVERSION=${PROJECT_VERSION}
          -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/write_version.cmake
  BYPRODUCTS ${BERTH_VERSION_CC}
  COMMENT "Stamping berth version")
add_library(berth_version STATIC ${BERTH_VERSION_CC})
add_dependencies(berth_version berth_version_stamp)
target_include_directories(berth_version PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
