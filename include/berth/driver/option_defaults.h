#pragma once
/// A driver's defaults live once, in its DriverOption list; configure, load (of a record written
/// before a setting existed) and messages read them from there by option name.

#include <berth/core/error.h>
#include <berth/driver/driver.h>

#include <string>
#include <string_view>
#include <vector>

namespace berth {

/// The default_value of option `name` in `options` ("" when it has none). Asking for an option the
/// list does not have is a programming error: it throws std::logic_error naming it.
[[nodiscard]] const std::string& option_default(const std::vector<DriverOption>& options, std::string_view name);

/// The default of a whole-number option, as a number (throws std::logic_error when it is not one).
[[nodiscard]] int option_default_int(const std::vector<DriverOption>& options, std::string_view name);

/// The first value of option `name`, else its default from `options`.
[[nodiscard]] std::string option_or_default(const OptionValues& values, const std::vector<DriverOption>& options,
                                            const std::string& name);

/// option_int() with the option's default from `options` as the fallback.
[[nodiscard]] Result<int> option_int_or_default(const OptionValues& values, const std::vector<DriverOption>& options,
                                                std::string_view driver, const std::string& name, int min, int max,
                                                const std::string& unit = {});

}  // namespace berth
