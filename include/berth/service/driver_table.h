#pragma once
/// The one explicit list of drivers. Adding a driver: a folder in drivers/, one row here, one
/// CMake line.

#include <berth/driver/driver.h>

#include <span>
#include <string>
#include <vector>

namespace berth {

[[nodiscard]] std::span<const DriverInfo> driver_table();
/// The drivers' names, in the table's order (what -d/--driver takes).
[[nodiscard]] std::vector<std::string> driver_names();

/// The row for `name` in `table` (the real table by default); a Usage error listing the known
/// drivers otherwise.
[[nodiscard]] Result<const DriverInfo*> find_driver(std::string_view name);
[[nodiscard]] Result<const DriverInfo*> find_driver(std::span<const DriverInfo> table,
                                                    std::string_view name);

}  // namespace berth
