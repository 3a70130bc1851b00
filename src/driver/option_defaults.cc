#include <berth/driver/option_defaults.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace berth {

const std::string& option_default(const std::vector<DriverOption>& options, std::string_view name) {
    auto it = std::find_if(options.begin(), options.end(), [&](const DriverOption& o) { return o.name == name; });
    if (it == options.end()) throw std::logic_error("no driver option named \"" + std::string(name) + "\"");
    return it->default_value;
}

int option_default_int(const std::vector<DriverOption>& options, std::string_view name) {
    const std::string& text = option_default(options, name);
    int value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty())
        throw std::logic_error("the default of driver option \"" + std::string(name) + "\" is not a number: \"" +
                               text + "\"");
    return value;
}

std::string option_or_default(const OptionValues& values, const std::vector<DriverOption>& options,
                              const std::string& name) {
    return option_value(values, name, option_default(options, name));
}

Result<int> option_int_or_default(const OptionValues& values, const std::vector<DriverOption>& options,
                                  std::string_view driver, const std::string& name, int min, int max,
                                  const std::string& unit) {
    return option_int(values, driver, name, option_default_int(options, name), min, max, unit);
}

}  // namespace berth
