#include <berth/service/driver_table.h>

#include <berth/drivers/generic/generic_driver.h>
#include <berth/drivers/libvirt/libvirt_driver.h>
#include <berth/drivers/none/none_driver.h>
#include <berth/drivers/virtualbox/virtualbox_driver.h>

#include <vector>

namespace berth {

std::span<const DriverInfo> driver_table() {
    static const std::vector<DriverInfo> table = {
        libvirt_driver_info(),
        virtualbox_driver_info(),
        generic_driver_info(),
        none_driver_info(),
    };
    return table;
}

std::vector<std::string> driver_names() {
    std::vector<std::string> names;
    for (const auto& info : driver_table()) names.push_back(info.name);
    return names;
}

Result<const DriverInfo*> find_driver(std::string_view name) { return find_driver(driver_table(), name); }

Result<const DriverInfo*> find_driver(std::span<const DriverInfo> table, std::string_view name) {
    std::string known;
    for (const auto& info : table) {
        if (info.name == name) return &info;
        known += (known.empty() ? "" : ", ") + info.name;
    }
    return fail_usage("unknown driver \"" + std::string(name) + "\"", "known drivers: " + known);
}

}  // namespace berth
