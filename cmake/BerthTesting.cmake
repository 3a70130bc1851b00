# Registers every Catch2 test case of a test binary with ctest under a label. Each test runs with
# --warn NoTests, so a test whose name does not reach Catch intact (CMake splits names at ';')
# fails instead of passing with no test run.
function(berth_discover_tests target label)
  catch_discover_tests(${target} EXTRA_ARGS --warn NoTests PROPERTIES LABELS ${label})
endfunction()
