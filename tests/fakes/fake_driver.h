#pragma once
// A driver for testing the core: it makes nothing, records every call in a shared journal, and
// fails where a test tells it to. Its DriverInfo is built per test so each has its own journal.

#include <berth/driver/driver.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace berth::test {

struct FakeDriverScript {
    std::vector<std::string> calls;      ///< "create n1", "remove n1", "states 3"...
    std::mutex mutex;                    ///< guards calls: machines may be created in parallel
    std::string fail_precreate;          ///< non-empty: precreate_check fails with this
    std::string fail_create;
    std::string fail_remove;
    MachineState state = MachineState::Running;
    std::string address = "192.168.122.10";
    int url_port = 2376;                 ///< the port of docker_url()
    bool forwarded = false;              ///< reached through forwards: guest_ports() = 22, 2376
    bool ssh = false;                    ///< reachable over SSH (root@address:22): create provisions it
    bool owns_host = true;               ///< false: a host berth did not make (as generic)
    std::function<void(const std::string&)> on_create;  ///< called with the machine's name in create()
    bool seeded = false;                 ///< like a VM driver: discard_seed() is recorded ("discard-seed n1")

    void record(std::string call) {
        std::lock_guard lock(mutex);
        calls.push_back(std::move(call));
    }
};

/// size: create-only; memory: settable (`berth set`).
inline std::vector<DriverOption> fake_driver_options() {
    return {DriverOption{.name = "size", .help = "disk size", .default_value = "10", .type = OptionType::Int},
            DriverOption{.name = "memory", .help = "memory", .default_value = "512", .type = OptionType::Int,
                         .settable = true}};
}

class FakeDriver final : public Driver {
public:
    FakeDriver(std::string machine, std::shared_ptr<FakeDriverScript> script)
        : m_machine(std::move(machine)), m_script(std::move(script)) {}

    std::string_view name() const override { return "fake"; }
    Result<void> configure(const OptionValues& values) override {
        if (auto it = values.find("size"); it != values.end() && !it->second.empty()) {
            if (it->second.front().find_first_not_of("0123456789") != std::string::npos)
                return fail_usage("--fake-size must be a number, not \"" + it->second.front() + "\"");
            m_size = it->second.front();
        }
        return {};
    }
    Result<void> precreate_check() override { return step("precreate", m_script->fail_precreate); }
    Result<void> create() override {
        if (m_script->on_create) m_script->on_create(m_machine);
        return step("create", m_script->fail_create);
    }
    Result<void> start() override { return step("start", ""); }
    Result<void> stop() override { return step("stop", ""); }
    Result<void> restart() override { return step("restart", ""); }
    Result<void> kill() override { return step("kill", ""); }
    Result<void> remove() override { return step("remove", m_script->fail_remove); }
    bool owns_host() const override { return m_script->owns_host; }
    Result<void> discard_seed() override { return m_script->seeded ? step("discard-seed", "") : Result<void>{}; }
    Result<MachineState> state() override {
        m_script->record("state " + m_machine);
        return m_script->state;
    }
    Result<std::string> ip() override { return m_script->address; }
    Result<std::string> docker_url() override {
        return "tcp://" + m_script->address + ":" + std::to_string(m_script->url_port);
    }
    std::optional<GuestPorts> guest_ports() const override {
        if (!m_script->forwarded) return std::nullopt;
        return GuestPorts{22, 2376};
    }
    // Without `ssh` the service tests stop before provisioning; with it they provision over the
    // session their Ports open (a ScriptedSession).
    Result<SshEndpoint> ssh_endpoint() override {
        if (!m_script->ssh) return fail("the fake driver has no SSH");
        return SshEndpoint{m_script->address, 22, "root", "/nonexistent/id_ed25519"};
    }
    std::vector<std::string> cert_sans() override { return {m_script->address, m_machine}; }
    nlohmann::json save() const override { return {{"size", m_size}, {"memory", m_memory}}; }
    Result<void> load(const nlohmann::json& saved) override {
        m_size = saved.value("size", "");
        m_memory = saved.value("memory", 512);
        return {};
    }
    Result<std::vector<std::string>> settings_change(const OptionValues& values) const override {
        if (auto ok = check_settable("fake", fake_driver_options(), values); !ok) return std::unexpected(ok.error());
        auto memory = option_int(values, "fake", "memory", m_memory, 128, 65536, " (MiB)");
        if (!memory) return std::unexpected(memory.error());
        if (*memory == m_memory) return std::vector<std::string>{};
        return std::vector<std::string>{"memory: " + std::to_string(m_memory) + " -> " + std::to_string(*memory)};
    }
    Result<void> change_settings(const OptionValues& values) override {
        m_script->record("change-settings " + m_machine);
        m_memory = option_int(values, "fake", "memory", m_memory, 128, 65536).value();
        return {};
    }

private:
    Result<void> step(const std::string& what, const std::string& failure) {
        m_script->record(what + " " + m_machine);
        if (!failure.empty()) return fail(failure);
        return {};
    }

    std::string m_machine;
    std::shared_ptr<FakeDriverScript> m_script;
    std::string m_size = "10";
    int m_memory = 512;
};

inline DriverInfo fake_driver_info(std::shared_ptr<FakeDriverScript> script) {
    return DriverInfo{
        .name = "fake",
        .description = "test driver",
        .options = fake_driver_options(),
        .make = [script](const DriverContext& ctx) -> std::unique_ptr<Driver> {
            return std::make_unique<FakeDriver>(ctx.machine, script);
        },
        .states = [script](const std::vector<Driver*>& drivers) {
            script->record("states " + std::to_string(drivers.size()));
            return std::vector<Result<MachineState>>(drivers.size(), script->state);
        },
    };
}

}  // namespace berth::test
