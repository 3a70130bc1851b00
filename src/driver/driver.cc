#include <berth/driver/driver.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace berth {

std::string_view to_string(MachineState state) {
    switch (state) {
        case MachineState::None: return "";
        case MachineState::Running: return "Running";
        case MachineState::Paused: return "Paused";
        case MachineState::Saved: return "Saved";
        case MachineState::Stopped: return "Stopped";
        case MachineState::Stopping: return "Stopping";
        case MachineState::Starting: return "Starting";
        case MachineState::Error: return "Error";
        case MachineState::Timeout: return "Timeout";
    }
    return "Error";
}

Clock& driver_clock(const DriverContext& ctx) { return ctx.clock != nullptr ? *ctx.clock : system_clock(); }

std::string option_flag(std::string_view driver, const DriverOption& option) {
    if (option.unprefixed) return "--" + option.name;
    return "--" + std::string(driver) + "-" + option.name;
}

std::string option_env_var(std::string_view driver, const DriverOption& option) {
    std::string out = "BERTH_" + std::string(driver) + "_" + option.name;
    for (char& c : out) c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

Result<std::vector<std::string>> Driver::settings_change(const OptionValues&) const {
    return fail_usage("the " + std::string(name()) + " driver has no settings `berth set` can change",
                      "its machines keep the settings they were created with; remove and create one to change them");
}

Result<void> Driver::change_settings(const OptionValues& values) {
    if (auto change = settings_change(values); !change) return std::unexpected(change.error());
    return fail("the " + std::string(name()) + " driver checks settings it cannot change", "this is a bug in berth");
}

Result<void> check_settable(std::string_view driver, const std::vector<DriverOption>& options,
                            const OptionValues& values) {
    std::string settable;
    for (const auto& o : options)
        if (o.settable) settable += (settable.empty() ? "" : ", ") + option_flag(driver, o);
    for (const auto& [name, given] : values) {
        auto it = std::find_if(options.begin(), options.end(), [&](const DriverOption& o) { return o.name == name; });
        if (it != options.end() && it->settable) continue;
        const std::string flag = it != options.end() ? option_flag(driver, *it) : "--" + std::string(driver) + "-" + name;
        return fail_usage(flag + " cannot be changed after create",
                          settable.empty() ? "the " + std::string(driver) + " driver has no settings `berth set` can change"
                                           : "`berth set` changes " + settable);
    }
    return {};
}

std::string option_value(const OptionValues& values, const std::string& name, const std::string& fallback) {
    auto it = values.find(name);
    return it == values.end() || it->second.empty() || it->second.front().empty() ? fallback : it->second.front();
}

bool option_flag_set(const OptionValues& values, const std::string& name) {
    const std::string v = option_value(values, name, "false");
    return v == "true" || v == "1" || v == "yes";
}

Result<int> option_int(const OptionValues& values, std::string_view driver, const std::string& name, int fallback,
                       int min, int max, const std::string& unit) {
    const std::string text = option_value(values, name, std::to_string(fallback));
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(text.c_str(), &end, 10);
    if (end == text.c_str() || *end != '\0' || errno != 0 || v < min || v > max)
        return fail_usage("--" + std::string(driver) + "-" + name + " must be a whole number from " +
                          std::to_string(min) + " to " + std::to_string(max) + unit + ", not \"" + text + "\"");
    return static_cast<int>(v);
}

Result<OptionValues> resolve_options(
    const DriverInfo& info, const OptionValues& from_flags,
    const std::function<std::optional<std::string>(const std::string&)>& getenv) {
    OptionValues out;
    for (const auto& option : info.options) {
        if (auto it = from_flags.find(option.name); it != from_flags.end() && !it->second.empty()) {
            out[option.name] = it->second;
            continue;
        }
        const std::string var = option_env_var(info.name, option);
        if (auto value = getenv(var); value && !value->empty()) {
            if (option.type == OptionType::StringList) {
                // A list from the environment is comma-separated.
                std::vector<std::string> items;
                std::string_view rest = *value;
                while (!rest.empty()) {
                    auto comma = rest.find(',');
                    if (auto item = rest.substr(0, comma); !item.empty()) items.emplace_back(item);
                    if (comma == std::string_view::npos) break;
                    rest.remove_prefix(comma + 1);
                }
                out[option.name] = items;
            } else {
                out[option.name] = {*value};
            }
            continue;
        }
        if (!option.default_value.empty()) {
            out[option.name] = {option.default_value};
            continue;
        }
        if (option.required)
            return fail_usage("driver " + info.name + " needs " + option_flag(info.name, option),
                              "pass " + option_flag(info.name, option) + " or set " + var);
    }
    return out;
}

}  // namespace berth
