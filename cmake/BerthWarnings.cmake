# One warnings target for every berth target; -Werror only when BERTH_WERROR is on (CI).
add_library(berth_warnings INTERFACE)
target_compile_options(berth_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor)
if(BERTH_WERROR)
  target_compile_options(berth_warnings INTERFACE -Werror)
endif()
