# cmake -DBERTH=PATH -DSHELL=bash|zsh|fish -DOUT=FILE -P write_completion.cmake
# Writes `berth completion SHELL` to OUT (the build's completion scripts, installed by CMakeLists.txt).
execute_process(COMMAND "${BERTH}" completion "${SHELL}" OUTPUT_FILE "${OUT}.tmp" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE "${OUT}.tmp")
  message(FATAL_ERROR "berth completion ${SHELL} failed: ${rc}")
endif()
file(RENAME "${OUT}.tmp" "${OUT}")
