#pragma once
/// The settings of `berth create` that are not a driver's options (engine, TLS, templates, authz,
/// SSH timeout), in one table: the fleet spec reads them as keys (docs/fleet.md) and create's CLI
/// takes its flags' names and help from it, so the two cannot drift. Driver options come from
/// the driver table (option_flag), not from here.

#include <berth/core/error.h>
#include <berth/driver/driver.h>
#include <berth/service/machine_service.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

struct CreateKey {
    std::string name;   ///< the flag without "--": "engine-opt"
    OptionType type = OptionType::String;
    std::string help;   ///< create's --help text
    bool path = false;  ///< a file or directory (relative to the spec file in a spec)
    /// Sets the value in a request; `values` has one entry unless type is StringList, and Int
    /// values are checked whole numbers. A Usage error for a value out of range.
    Result<void> (*set)(CreateRequest& request, const std::vector<std::string>& values) = nullptr;
};

/// Every key, in create's --help order.
[[nodiscard]] std::span<const CreateKey> create_keys();
/// The key named `name`, or null.
[[nodiscard]] const CreateKey* find_create_key(std::string_view name);
/// Its help text ("" for no such key): for create's CLI.
[[nodiscard]] std::string create_key_help(std::string_view name);

}  // namespace berth
