# cmake -DBERTH=PATH -DDATE=YYYY-MM-DD -DGZIP=PATH -DOUT=FILE -P write_man_page.cmake
# Writes `berth man --date DATE` to OUT (berth(1), roff) and OUT.gz (gzip -9n: no name or time
# stamp in the header, so the same page gives the same bytes, as Debian wants).
execute_process(COMMAND "${BERTH}" man --date "${DATE}" OUTPUT_FILE "${OUT}.tmp" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE "${OUT}.tmp")
  message(FATAL_ERROR "berth man failed: ${rc}")
endif()
file(RENAME "${OUT}.tmp" "${OUT}")
execute_process(COMMAND "${GZIP}" -9nc "${OUT}" OUTPUT_FILE "${OUT}.gz.tmp" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE "${OUT}.gz.tmp")
  message(FATAL_ERROR "gzip of ${OUT} failed: ${rc}")
endif()
file(RENAME "${OUT}.gz.tmp" "${OUT}.gz")
