# berth(1), written at build time by the built berth from its own CLI definition (`berth man`, a
# hidden verb: src/cli/man_page.h), so it cannot drift from the verbs; installed gzip'd in
# share/man/man1, where man-db reads it and as Debian wants it. The page's date is the configure
# date, or $SOURCE_DATE_EPOCH's when that is set (reproducible builds).
find_program(BERTH_GZIP gzip REQUIRED)
string(TIMESTAMP BERTH_MAN_DATE "%Y-%m-%d" UTC)
set(BERTH_MAN_PAGE ${CMAKE_CURRENT_BINARY_DIR}/man/berth.1)
add_custom_command(OUTPUT ${BERTH_MAN_PAGE} ${BERTH_MAN_PAGE}.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/man
  COMMAND ${CMAKE_COMMAND} -DBERTH=$<TARGET_FILE:berth> -DDATE=${BERTH_MAN_DATE} -DGZIP=${BERTH_GZIP}
          -DOUT=${BERTH_MAN_PAGE} -P ${PROJECT_SOURCE_DIR}/cmake/write_man_page.cmake
  DEPENDS berth ${PROJECT_SOURCE_DIR}/cmake/write_man_page.cmake
  COMMENT "berth man" VERBATIM)
add_custom_target(berth_man_page ALL DEPENDS ${BERTH_MAN_PAGE} ${BERTH_MAN_PAGE}.gz)
install(FILES ${BERTH_MAN_PAGE}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
