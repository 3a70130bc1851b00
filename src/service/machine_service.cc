#include <berth/service/machine_service.h>

#include <berth/core/log.h>
#include <berth/core/machine_name.h>
#include <berth/service/connect.h>
#include <berth/service/driver_table.h>

#include <spdlog/spdlog.h>

#include <map>

namespace berth {

MachineService::MachineService(Ports ports) : m_ports(std::move(ports)) {}

DriverContext MachineService::context_for(std::string_view name,
                                          const std::optional<std::filesystem::path>& templates_dir) const {
    DriverContext ctx;
    ctx.templates_dir = templates_dir;
    ctx.machine = std::string(name);
    ctx.machine_dir = m_ports.store->machine_dir(name);
    ctx.runner = m_ports.runner;
    ctx.clock = m_ports.clock;
    ctx.image = m_ports.images;
    ctx.cache_dir = m_ports.store->root() / "cache";
    ctx.ssh = pinned_sessions(m_ports, std::string(name));
    ctx.shared_lock = [store = m_ports.store](std::string_view key, std::string_view what) -> Result<FileLock> {
        return FileLock::acquire(store->root() / "locks" / ("shared-" + std::string(key) + ".lock"), what,
                                 std::chrono::hours(1), [&](const std::string& message) {
                                     spdlog::info("{}; waiting for it", message);
                                 });
    };
    return ctx;
}

Result<std::unique_ptr<Driver>> MachineService::make_driver(
    const DriverInfo& info, std::string_view name, const std::optional<std::filesystem::path>& templates_dir) const {
    auto driver = info.make(context_for(name, templates_dir));
    if (!driver) return fail("internal error: driver " + info.name + " could not be made");
    return driver;
}

Result<FileLock> MachineService::lock_existing(std::string_view name) const {
    auto lock = m_ports.store->lock(name);
    if (!lock) return std::unexpected(lock.error());
    if (!m_ports.store->exists(name)) {
        lock->release_and_remove();  // no lock files for machines that do not exist
        return fail_kind(ErrorKind::NotFound,
                         "no machine named \"" + std::string(name) + "\" in " + m_ports.store->root().string(),
                         "`berth ls` lists the machines");
    }
    return lock;
}

Result<MachineService::Locked> MachineService::open_locked(std::string_view name) const {
    if (auto ok = validate_machine_name(name); !ok) return std::unexpected(ok.error());
    auto lock = lock_existing(name);
    if (!lock) return std::unexpected(lock.error());
    auto machine = open(name);
    if (!machine) return std::unexpected(machine.error());
    return Locked{std::move(*lock), std::move(*machine)};
}

Result<Machine> MachineService::open(std::string_view name) const {
    if (auto ok = validate_machine_name(name); !ok) return std::unexpected(ok.error());
    auto record = m_ports.store->load(name);
    if (!record) return std::unexpected(record.error());
    auto info = find_driver(m_ports.drivers, record->driver_name);
    if (!info)
        return fail("machine \"" + std::string(name) + "\" uses driver \"" + record->driver_name +
                        "\", which this berth does not have",
                    "use the berth that created it");
    std::optional<std::filesystem::path> templates_dir;
    if (!record->provision.templates_dir.empty()) templates_dir = record->provision.templates_dir;
    auto driver = make_driver(**info, name, templates_dir);
    if (!driver) return std::unexpected(driver.error());
    if (auto ok = (*driver)->load(record->driver); !ok) return std::unexpected(ok.error());
    return Machine{std::move(*record), std::move(*driver)};
}

Result<std::vector<MachineListing>> MachineService::list() const {
    auto names = m_ports.store->list_names();
    if (!names) return std::unexpected(names.error());
    std::vector<MachineListing> out;
    for (const auto& name : *names) {
        MachineListing item;
        item.name = name;
        auto machine = open(name);
        if (machine) item.machine = std::move(*machine);
        else item.error = machine.error();
        out.push_back(std::move(item));
    }
    // Ask states per driver, in one batch where the driver can.
    std::map<std::string, std::vector<MachineListing*>> by_driver;
    for (auto& item : out)
        if (item.machine) by_driver[item.machine->record.driver_name].push_back(&item);
    for (auto& [driver_name, items] : by_driver) {
        auto info = find_driver(m_ports.drivers, driver_name);
        std::vector<Result<MachineState>> states;
        if (info && (*info)->states) {
            std::vector<Driver*> drivers;
            for (auto* item : items) drivers.push_back(item->machine->driver.get());
            states = (*info)->states(drivers);
        } else {
            for (auto* item : items) states.push_back(item->machine->driver->state());
        }
        for (size_t i = 0; i < items.size(); ++i) {
            if (i < states.size() && states[i]) items[i]->state = *states[i];
            else if (i < states.size()) items[i]->error = states[i].error();
        }
    }
    return out;
}

Result<std::string> MachineService::remove(std::string_view name, bool force) const {
    if (auto ok = validate_machine_name(name); !ok) return std::unexpected(ok.error());
    MachineLogScope log_scope{std::string(name)};
    auto lock = lock_existing(name);
    if (!lock) return std::unexpected(lock.error());
    const std::string prefix = log_prefix(name);
    std::string note;
    auto machine = open(name);
    if (!machine) {
        if (!force) {
            Error e = machine.error();
            if (e.hint.empty()) e.hint = "pass -f to remove its local files anyway";
            return std::unexpected(e);
        }
        spdlog::warn("{}: {}; removing its local files anyway", name, machine.error().message);
    } else {
        spdlog::debug("{}removing what driver {} made", prefix, machine->record.driver_name);
        if (auto ok = machine->driver->remove(); !ok) {
            if (!force) {
                Error e = ok.error();
                e.message = "cannot remove machine \"" + std::string(name) + "\": " + e.message;
                e.hint = "pass -f to remove the local record anyway (the driver's resources may remain)";
                return std::unexpected(e);
            }
            spdlog::warn("{}: {}; removing the local record anyway", name, ok.error().message);
        }
        note = machine->driver->removal_note();
    }
    if (auto ok = m_ports.store->remove_machine_dir(name); !ok) return std::unexpected(ok.error());
    lock->release_and_remove();
    return note;
}

Result<DockerEndpoint> MachineService::docker_endpoint(Machine& machine) const {
    const std::string& name = machine.record.name;
    auto url = machine.driver->docker_url();
    if (!url) return std::unexpected(url.error());
    const Store& store = *m_ports.store;
    for (const char* file : {k_ca_cert_file, k_client_cert_file, k_client_key_file}) {
        std::error_code ec;
        if (!std::filesystem::exists(store.machine_file(name, file), ec))
            return fail("machine \"" + name + "\" has no " + file + " in " + store.cert_dir(name).string(),
                        "make new certificates with `berth regenerate-certs " + name + "`");
    }
    return DockerEndpoint{*url, store.cert_dir(name), machine_tls(store, name)};
}

Result<SshTarget> MachineService::ssh_target(std::string_view name) const {
    auto machine = open(name);
    if (!machine) return std::unexpected(machine.error());
    return pinned_ssh_target(*m_ports.store, name, *machine->driver);
}

}  // namespace berth
