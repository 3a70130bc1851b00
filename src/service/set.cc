// berth set: change a made machine's driver settings (memory, CPUs) and engine settings.

#include <berth/service/machine_service.h>

#include <berth/core/log.h>
#include <berth/provision/engine_checks.h>
#include <berth/provision/engine_options.h>
#include <berth/service/driver_table.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace berth {
namespace {

std::string key_of(const std::string& entry) { return entry.substr(0, entry.find('=')); }

/// One list's edits: each set KEY's entries replace the KEY's old ones, in the place of the
/// first; unset keys go.
Result<void> edit_list(std::vector<std::string>& list, const std::vector<std::string>& set,
                       const std::vector<std::string>& unset, const std::string& flag) {
    std::set<std::string> unset_keys;
    for (const auto& key : unset) {
        if (key.empty() || key.find('=') != std::string::npos)
            return fail_usage("--unset-" + flag + " takes a KEY, not \"" + key + "\"");
        unset_keys.insert(key);
    }
    std::vector<std::string> keys;  // the set keys, in the order first given
    for (const auto& entry : set) {
        const auto eq = entry.find('=');
        if (eq == std::string::npos || eq == 0) {
            // An --engine-env entry is never repeated: a mistyped one may be a password.
            if (flag == "engine-env") return fail_usage("--engine-env takes KEY=VALUE; one of them has no KEY=");
            return fail_usage("--" + flag + " takes KEY=VALUE, not \"" + entry + "\"");
        }
        if (unset_keys.count(key_of(entry)) != 0)
            return fail_usage("--" + flag + " and --unset-" + flag + " both name \"" + key_of(entry) + "\"");
        if (std::find(keys.begin(), keys.end(), key_of(entry)) == keys.end()) keys.push_back(key_of(entry));
    }
    std::vector<std::string> out;
    std::set<std::string> placed;
    for (const auto& entry : list) {
        const std::string key = key_of(entry);
        if (unset_keys.count(key) != 0) continue;
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
            out.push_back(entry);
            continue;
        }
        if (!placed.insert(key).second) continue;  // the key's new entries are in already
        for (const auto& e : set)
            if (key_of(e) == key) out.push_back(e);
    }
    for (const auto& key : keys) {
        if (placed.count(key) != 0) continue;
        for (const auto& e : set)
            if (key_of(e) == key) out.push_back(e);
    }
    list = std::move(out);
    return {};
}

/// The keys of `from` and `to` whose entries differ, as "--FLAG KEY changed|added|removed".
void describe_list(const std::vector<std::string>& from, const std::vector<std::string>& to, const std::string& flag,
                   std::vector<std::string>& out) {
    std::vector<std::string> keys;
    for (const auto* list : {&from, &to})
        for (const auto& e : *list)
            if (std::find(keys.begin(), keys.end(), key_of(e)) == keys.end()) keys.push_back(key_of(e));
    auto entries = [](const std::vector<std::string>& list, const std::string& key) {
        std::vector<std::string> v;
        for (const auto& e : list)
            if (key_of(e) == key) v.push_back(e);
        return v;
    };
    for (const auto& key : keys) {
        const auto a = entries(from, key);
        const auto b = entries(to, key);
        if (a == b) continue;
        out.push_back("--" + flag + " " + key + (a.empty() ? " added" : b.empty() ? " removed" : " changed"));
    }
}

}  // namespace

bool EngineEdits::empty() const {
    return env.empty() && opts.empty() && labels.empty() && unset_env.empty() && unset_opts.empty() &&
           unset_labels.empty();
}

Result<EngineConfig> apply_engine_edits(EngineConfig engine, const EngineEdits& edits) {
    if (auto ok = edit_list(engine.env, edits.env, edits.unset_env, "engine-env"); !ok) return std::unexpected(ok.error());
    if (auto ok = edit_list(engine.opts, edits.opts, edits.unset_opts, "engine-opt"); !ok)
        return std::unexpected(ok.error());
    if (auto ok = edit_list(engine.labels, edits.labels, edits.unset_labels, "engine-label"); !ok)
        return std::unexpected(ok.error());
    return engine;
}

std::vector<std::string> describe_engine_change(const EngineConfig& from, const EngineConfig& to) {
    std::vector<std::string> out;
    describe_list(from.env, to.env, "engine-env", out);
    describe_list(from.opts, to.opts, "engine-opt", out);
    describe_list(from.labels, to.labels, "engine-label", out);
    return out;
}

Result<void> MachineService::change_driver_settings(Machine& machine, const OptionValues& values, bool running,
                                                    bool start, SetReport& report,
                                                    const ProvisionOptions& options) const {
    const std::string& name = machine.record.name;
    Driver& driver = *machine.driver;
    if (running) {
        spdlog::info("Stopping {} to change its settings...", name);
        if (auto ok = driver.stop(); !ok) return ok;
    }
    if (auto ok = driver.change_settings(values); !ok) return ok;
    machine.record.driver = driver.save();
    if (auto ok = m_ports.store->save(machine.record); !ok) return ok;
    if (!start) {
        report.at_next_start = true;
        return {};
    }
    spdlog::info("Starting {}...", name);
    if (auto ok = driver.start(); !ok) return ok;
    report.restarted = true;
    machine.record.driver = driver.save();
    if (auto ok = after_start(machine, options); !ok) {
        if (machine.record.status == MachineStatus::Error) (void)m_ports.store->save(machine.record);
        return ok;
    }
    return m_ports.store->save(machine.record);
}

Result<SetReport> MachineService::set(const SetRequest& request) const {
    MachineLogScope log_scope{request.name};
    auto locked = open_locked(request.name);
    if (!locked) return std::unexpected(locked.error());
    Machine& machine = locked->machine;
    const std::string& name = machine.record.name;
    if (machine.record.status == MachineStatus::Creating)
        return fail_kind(ErrorKind::Conflict, name + " is still being created (or its create was interrupted)",
                         "wait for the create to end; after an interrupted one, `berth rm " + name + "`");

    // Every check first: nothing changes unless all of it can.
    SetReport report;
    OptionValues values;
    for (const auto& [driver, given] : request.driver_flags) {
        if (given.empty()) continue;
        if (driver != machine.record.driver_name)
            return fail_usage("--" + driver + "-" + given.begin()->first + " is for the " + driver + " driver, and " +
                              name + " uses the " + machine.record.driver_name + " driver");
        values = given;
    }
    if (!values.empty()) {
        auto change = machine.driver->settings_change(values);
        if (!change) return std::unexpected(change.error());
        report.driver_changes = *change;
    }
    auto engine = apply_engine_edits(machine.record.engine, request.engine);
    if (!engine) return std::unexpected(engine.error());
    if (auto ok = validate_engine_options(*engine); !ok) return std::unexpected(ok.error());
    if (auto ok = check_engine_config(*engine); !ok) return std::unexpected(ok.error());
    report.engine_changes = describe_engine_change(machine.record.engine, *engine);
    auto info = find_driver(m_ports.drivers, machine.record.driver_name);
    if (!info) return std::unexpected(info.error());
    if (!report.engine_changes.empty() && !(*info)->provisions)
        return fail_usage(name + " uses the " + machine.record.driver_name +
                          " driver: berth does not provision it, so it has no engine settings to change");
    if (report.nothing()) return report;

    auto state = machine.driver->state();
    if (!state) return std::unexpected(state.error());
    // Paused, starting or stopping count as running: the VM must be stopped for the change.
    const bool running = *state != MachineState::Stopped && *state != MachineState::Saved;
    if (running && !report.driver_changes.empty() && !request.restart)
        return fail_kind(ErrorKind::Conflict,
                         "changing " + name + "'s " + report.driver_changes.front().substr(0, report.driver_changes.front().find(':')) +
                             " needs a stop and a start, and it is running; nothing was changed",
                         "run the same `berth set` with --restart: berth stops " + name +
                             ", changes it and starts it (containers with a restart policy come back)");
    if (*state != MachineState::Running && !report.engine_changes.empty() && !request.restart)
        return fail_kind(ErrorKind::Conflict,
                         "the engine settings are written on the machine, and " + name + " is not running (" +
                             std::string(to_string(*state)) + "); nothing was changed",
                         "start it with `berth start " + name + "`, or add --restart to start it");

    if (!report.driver_changes.empty()) {
        const bool start = running || request.restart;
        if (auto ok = change_driver_settings(machine, values, running, start, report, request.provision); !ok)
            return std::unexpected(ok.error());
    } else if (*state != MachineState::Running) {
        if (auto ok = machine.driver->start(); !ok) return std::unexpected(ok.error());
        report.restarted = true;
        machine.record.driver = machine.driver->save();
        if (auto ok = after_start(machine, request.provision); !ok) return std::unexpected(ok.error());
    }
    if (report.engine_changes.empty()) return report;

    const int port = machine.record.engine.port;
    machine.record.engine = *engine;
    machine.record.engine.port = port;
    if (auto ok = m_ports.store->save(machine.record); !ok) return std::unexpected(ok.error());
    auto provision = provision_locked(machine, request.provision, false, false);
    if (!provision) {
        if (machine.record.status == MachineStatus::Error) (void)m_ports.store->save(machine.record);
        return std::unexpected(provision.error());
    }
    machine.record.status = MachineStatus::Ready;
    machine.record.last_error.clear();
    if (auto ok = m_ports.store->save(machine.record); !ok) return std::unexpected(ok.error());
    report.provision = std::move(*provision);
    return report;
}

}  // namespace berth
