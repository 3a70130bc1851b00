#pragma once
/// The one explicit list of drivers. Adding a driver: a folder in drivers/, one row here, one
/// CMake line.

#include <berth/driver/driver.h>

#include <span>

namespace berth {

[[nodiscard]] std::span<const DriverInfo> driver_table();

/// The row for `name` in `table` (the real table by default); a Usage error listing the known
/// drivers otherwise.
[[nodiscard]] Result<const DriverInfo*> find_driver(std::string_view name);
[[nodiscard]] Result<const DriverInfo*> find_driver(std::span<const DriverInfo> table,
                                                    std::string_view name);

}  // namespace berth
