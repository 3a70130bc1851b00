// Provisioning a machine that exists: the plan over one SSH connection (provision, upgrade, and
// after a start that moved its address), and the lifecycle calls.

#include <berth/service/machine_service.h>

#include <berth/core/log.h>
#include <berth/core/machine_name.h>
#include <berth/core/progress.h>
#include <berth/pki/pki.h>
#include <berth/provision/templates.h>
#include <berth/service/authz_files.h>
#include <berth/service/connect.h>
#include <berth/transport/known_hosts.h>

#include "provision_request.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace berth {
namespace {

/// First contact trusts the offered key only when none is pinned yet (the generic driver without
/// --generic-host-key); VMs berth seeds have their keys pinned before they boot.
HostKeyPolicy host_key_policy(bool first_contact, bool pinned, const ProvisionOptions& options) {
    if (!options.replace_host_key.empty()) return HostKeyPolicy::ReplacePinned;
    if (first_contact && !pinned) return HostKeyPolicy::PinOnFirstUse;
    return HostKeyPolicy::RequirePinned;
}

/// The policy a machine's record says berth-authz gets: "" for the default (rendered from its
/// template), else the copy --authz-policy left in the store, checked again as it is replayed.
Result<std::string> recorded_policy(const Store& store, const MachineRecord& record) {
    if (!record.authz.custom_policy) return std::string();
    const auto file = store.machine_file(record.name, k_authz_policy_file);
    if (!std::filesystem::exists(file))
        return fail("machine \"" + record.name + "\" has a custom berth-authz policy, but its copy " + file.string() +
                        " is missing",
                    "give the policy again with `berth provision --authz-policy FILE " + record.name +
                        "` (or --authz-policy default)");
    auto text = read_authz_policy(file);
    if (!text) return std::unexpected(Error{ErrorKind::Failed, text.error().message, text.error().hint, {}});
    return text;
}

/// The provisioner's request for a machine: its engine settings, ports, TLS files and berth-authz.
Result<ProvisionRequest> provision_request(const Store& store, const Machine& machine, const SshEndpoint& endpoint,
                                           bool upgrade) {
    const std::string& name = machine.record.name;
    ProvisionRequest req;
    req.machine = name;
    req.hostname = name;
    req.upgrade = upgrade;
    req.engine = machine.record.engine;
    // The firewall on the host opens the ports sshd listens on there, not forwarded ones.
    auto guest = machine.driver->guest_ports();
    req.ssh_ports = {guest ? guest->ssh : endpoint.port};
    for (auto [file, target] : {std::pair{k_ca_cert_file, &req.ca_pem}, std::pair{k_server_cert_file, &req.server_cert_pem},
                                std::pair{k_server_key_file, &req.server_key_pem}}) {
        auto text = read_file(store.machine_file(name, file));
        if (!text)
            return fail("machine \"" + name + "\" has no " + file, "make new certificates with `berth regenerate-certs " + name + "`");
        *target = *text;
    }
    req.authz = machine.record.authz;
    req.swarm = machine.record.swarm;
    req.authz_owner_cn = pki::client_common_name(name);
    req.authz_users = machine.record.users;
    auto policy = recorded_policy(store, machine.record);
    if (!policy) return std::unexpected(policy.error());
    req.authz_policy = *policy;
    return req;
}

/// What a provision did to the host, one line ("" when nothing): packages, files, services.
std::string host_changes(const ProvisionReport& done) {
    std::string out;
    auto add = [&out](const std::string& what, const std::vector<std::string>& items) {
        if (items.empty()) return;
        std::string list;
        for (const auto& item : items) list += (list.empty() ? "" : ", ") + item;
        out += (out.empty() ? "" : "; ") + what + ": " + list;
    };
    add("packages installed", done.installed);
    add("files written and settings changed", done.changed);
    add("services reloaded or restarted", done.restarted);
    return out;
}

/// After every provision and start: the Docker API must refuse a client without a certificate,
/// checked from here. When it does not, the machine is in error, never "ready".
Result<void> check_refuses_anonymous(MachineRecord& record, DockerProbe& docker) {
    spdlog::info("[{}] Checking that Docker refuses clients without a certificate...", record.name);
    auto refused = docker.refuses_anonymous_client();
    if (refused) return {};
    Error e = refused.error();
    e.message = "Docker on " + record.name + " is open: " + e.message;
    record.status = MachineStatus::Error;
    record.last_error = e.message;
    return std::unexpected(e);
}

}  // namespace

Result<ProvisionRequest> machine_provision_request(const Ports& ports, const Machine& machine,
                                                  const SshEndpoint& endpoint, bool upgrade) {
    auto req = provision_request(*ports.store, machine, endpoint, upgrade);
    if (!req) return std::unexpected(req.error());
    // The plan holds berth-authz's program like every managed file: its digest is compared
    // (check-only runs too) and its architecture checked against the host's.
    if (!ports.authz_binary) return fail("internal error: no berth-authz source in the service's ports");
    auto binary = ports.authz_binary();
    if (!binary) return std::unexpected(binary.error());
    req->authz_binary = std::move(*binary);
    return req;
}

Result<CheckRun> check_only_run(const MachineService& machines, std::string_view name, const ProvisionOptions& options,
                               std::string_view what) {
    auto machine = machines.open(name);
    if (!machine) return std::unexpected(machine.error());
    if (!machine->driver->ssh_endpoint())
        return fail("machine \"" + std::string(name) + "\" uses the " + machine->record.driver_name +
                    " driver, which berth cannot reach over SSH to " + std::string(what));
    SshOptions ssh;
    ssh.connect_timeout = options.ssh_timeout;
    ssh.host_key = HostKeyPolicy::RequirePinned;
    auto connection = connect(machines.ports(), name, *machine->driver, ssh);
    if (!connection) return std::unexpected(connection.error());
    std::optional<std::filesystem::path> dir = options.templates_dir;
    if (!dir && !machine->record.provision.templates_dir.empty()) dir = machine->record.provision.templates_dir;
    auto templates = TemplateSet::load(dir);
    if (!templates) return std::unexpected(templates.error());
    auto request = machine_provision_request(machines.ports(), *machine, connection->endpoint);
    if (!request) return std::unexpected(request.error());
    Provisioner provisioner(*connection->session, *templates, *connection->docker);
    auto check = provisioner.check(*request);
    if (!check) return std::unexpected(check.error());
    return CheckRun{std::move(*machine), std::move(*connection), std::move(*check)};
}

Result<std::optional<std::vector<std::string>>> MachineService::drift(std::string_view name,
                                                                      const ProvisionOptions& options) const {
    MachineLogScope log_scope{std::string(name)};
    {
        auto machine = open(name);
        if (!machine) return std::unexpected(machine.error());
        if (!machine->driver->ssh_endpoint()) return std::optional<std::vector<std::string>>();
    }
    progress_step("drift check");
    auto run = check_only_run(*this, name, options, "check");
    if (!run) return std::unexpected(run.error());
    std::vector<std::string> drifted;
    for (const auto& step : run->check.steps)
        if (!step.drift.empty()) drifted.push_back(step.step);
    return std::optional<std::vector<std::string>>(std::move(drifted));
}

Result<void> MachineService::set_fleet(std::string_view name, const FleetMembership& fleet) const {
    if (auto ok = validate_machine_name(name); !ok) return ok;
    auto lock = lock_existing(name);
    if (!lock) return std::unexpected(lock.error());
    auto record = m_ports.store->load(name);
    if (!record) return std::unexpected(record.error());
    record->fleet = fleet;
    return m_ports.store->save(*record);
}

Result<void> MachineService::set_swarm(std::string_view name, const SwarmMembership& swarm) const {
    if (auto ok = validate_machine_name(name); !ok) return ok;
    if (!swarm.empty() && swarm.role != "manager" && swarm.role != "worker")
        return fail_usage("the swarm role of " + std::string(name) + " is \"" + swarm.role + "\", not manager or worker");
    auto lock = lock_existing(name);
    if (!lock) return std::unexpected(lock.error());
    auto record = m_ports.store->load(name);
    if (!record) return std::unexpected(record.error());
    record->swarm = swarm;
    record->authz.owner_swarm = !swarm.empty();
    return m_ports.store->save(*record);
}

Result<ProvisionReport> MachineService::provision_locked(Machine& machine, const ProvisionOptions& options,
                                                         bool first_contact, bool upgrade) const {
    const std::string name = machine.record.name;
    SshOptions ssh;
    ssh.connect_timeout = options.ssh_timeout;
    // An imported machine's first contact with berth pins its host key too (docker-machine pinned none).
    ssh.host_key = host_key_policy(
        first_contact || machine.record.imported.not_hardened(), has_pinned_keys(m_ports.store->machine_file(name, k_known_hosts_file)), options);
    ssh.expected_fingerprint = options.replace_host_key;
    progress_step("ssh");
    auto connection = connect(m_ports, name, *machine.driver, ssh);
    if (!connection) return std::unexpected(connection.error());
    if (first_contact) {
        // The VM has booted and its pinned host key is verified: its seed has done its work.
        if (auto gone = machine.driver->discard_seed(); !gone) return std::unexpected(gone.error());
    }

    std::optional<std::filesystem::path> dir = options.templates_dir;
    if (!dir && !machine.record.provision.templates_dir.empty()) dir = machine.record.provision.templates_dir;
    auto templates = TemplateSet::load(dir);
    if (!templates) return std::unexpected(templates.error());
    auto req = machine_provision_request(m_ports, machine, connection->endpoint, upgrade);
    if (!req) return std::unexpected(req.error());
    req->package_gate = options.package_gate;

    Provisioner provisioner(*connection->session, *templates, *connection->docker);
    auto report = provisioner.run(*req);
    if (!report) {
        Error e = report.error();
        if (auto changed = host_changes(provisioner.progress()); !changed.empty()) e.with("host_changed", changed);
        return std::unexpected(e);
    }
    if (auto ok = check_refuses_anonymous(machine.record, *connection->docker); !ok) {
        Error e = ok.error();
        if (auto changed = host_changes(*report); !changed.empty()) e.with("host_changed", changed);
        return std::unexpected(e);
    }
    report->timings.insert(report->timings.begin(), {"ssh", connection->connect_seconds});
    report->remote_commands = connection->session->channels_opened();

    auto& p = machine.record.provision;
    p.provisioned_at = now_rfc3339();
    p.os = report->os.id + " " + report->os.version_id;
    p.digests = report->digests;
    p.security_options = report->security_options;
    p.host_key = connection->session->host_key_fingerprint();
    machine.record.docker_version = report->docker_version;
    machine.record.tls.install_pending = false;  // the host has the store's TLS files now
    return report;
}

Result<void> MachineService::apply_authz_options(MachineRecord& record, const ProvisionOptions& options,
                                                 const std::optional<std::string>& policy) const {
    const bool to_default = options.authz_policy && *options.authz_policy == "default";
    const bool custom = policy ? true : (to_default ? false : record.authz.custom_policy);
    if (!options.authz_owner_role.empty() && custom)
        return fail_usage("--authz-owner-role applies to berth's default policy, and " + record.name +
                              " has its own (--authz-policy)",
                          "give \"" + pki::client_common_name(record.name) + "\" its role under users: in that file");
    if (policy) {
        if (auto ok = m_ports.store->write_file(record.name, k_authz_policy_file, *policy, 0600); !ok) return ok;
    } else if (to_default) {
        std::error_code ec;
        std::filesystem::remove(m_ports.store->machine_file(record.name, k_authz_policy_file), ec);
    }
    record.authz.custom_policy = custom;
    if (!options.authz_owner_role.empty()) record.authz.owner_role = options.authz_owner_role;
    if (custom) record.authz.owner_role = "restricted";  // the file says who is what
    return {};
}

Result<ProvisionReport> MachineService::provision(std::string_view name, const ProvisionOptions& options, bool upgrade) const {
    MachineLogScope log_scope{std::string(name)};
    // The flags are checked before the machine is touched.
    if (!options.authz_owner_role.empty())
        if (auto ok = check_authz_owner_role(options.authz_owner_role); !ok) return std::unexpected(ok.error());
    std::optional<std::string> policy;
    if (options.authz_policy && *options.authz_policy != "default") {
        auto text = read_authz_policy(*options.authz_policy);
        if (!text) return std::unexpected(text.error());
        policy = std::move(*text);
    }
    auto locked = open_locked(name);
    if (!locked) return std::unexpected(locked.error());
    Machine* machine = &locked->machine;
    if (!machine->driver->ssh_endpoint())
        return fail("machine \"" + std::string(name) + "\" uses the " + machine->record.driver_name +
                    " driver, which berth cannot reach over SSH to provision");
    if (options.engine) {
        // berth apply's desired engine settings, saved first like the policy below.
        const int port = machine->record.engine.port;  // the driver's, not the spec's
        machine->record.engine = *options.engine;
        machine->record.engine.port = port;
        if (auto ok = m_ports.store->save(machine->record); !ok) return std::unexpected(ok.error());
    }
    if (options.authz_policy || !options.authz_owner_role.empty()) {
        // Saved at once: a provision that fails later is run again with the same policy.
        if (auto ok = apply_authz_options(machine->record, options, policy); !ok) return std::unexpected(ok.error());
        if (auto ok = m_ports.store->save(machine->record); !ok) return std::unexpected(ok.error());
    }
    // An imported machine berth has not hardened gets a CA of its own first.
    auto report = machine->record.imported.not_hardened() ? provision_imported(*machine, options, upgrade)
                                                          : provision_locked(*machine, options, false, upgrade);
    if (!report) {
        if (machine->record.status == MachineStatus::Error || machine->record.imported.not_hardened())
            (void)m_ports.store->save(machine->record);
        return std::unexpected(report.error());
    }
    machine->record.status = MachineStatus::Ready;
    machine->record.last_error.clear();
    if (auto ok = m_ports.store->save(machine->record); !ok) return std::unexpected(ok.error());
    return report;
}

Result<void> MachineService::power(std::string_view name, Power action, const ProvisionOptions& options) const {
    MachineLogScope log_scope{std::string(name)};
    auto locked = open_locked(name);
    if (!locked) return std::unexpected(locked.error());
    Machine* machine = &locked->machine;
    Driver& driver = *machine->driver;
    switch (action) {
        case Power::Start:
            spdlog::info("Starting {}...", name);
            if (auto ok = driver.start(); !ok) return ok;
            break;
        case Power::Stop:
            spdlog::info("Stopping {}...", name);
            return driver.stop();
        case Power::Restart:
            spdlog::info("Restarting {}...", name);
            if (auto ok = driver.restart(); !ok) return ok;
            break;
        case Power::Kill:
            spdlog::info("Killing {}...", name);
            return driver.kill();
    }
    // The driver's save() may have learned a new address; keep it.
    machine->record.driver = driver.save();
    if (!driver.ssh_endpoint()) return m_ports.store->save(machine->record);
    if (auto ok = after_start(*machine, options); !ok) {
        if (machine->record.status == MachineStatus::Error) (void)m_ports.store->save(machine->record);
        return ok;
    }
    return m_ports.store->save(machine->record);
}

Result<void> MachineService::after_start(Machine& machine, const ProvisionOptions& options) const {
    const std::string& name = machine.record.name;
    Driver& driver = *machine.driver;
    auto ip = driver.ip();
    if (!ip) return std::unexpected(ip.error());
    const auto& sans = machine.record.tls.sans;
    if (std::find(sans.begin(), sans.end(), *ip) == sans.end() && !machine.record.imported.not_hardened()) {
        spdlog::info("[{}] Its address is now {}, which its certificate does not carry: issuing a new one...", name, *ip);
        if (auto ok = reissue_server_cert(machine); !ok) return ok;
        machine.record.tls.install_pending = true;
        if (auto ok = m_ports.store->save(machine.record); !ok) return ok;
        auto report = provision_locked(machine, options, false, false);
        if (!report) return std::unexpected(report.error());
        return {};
    }
    // Started means usable: the address may come back at once (an old DHCP lease) while the
    // guest still boots, so wait for the Docker API itself.
    auto url = driver.docker_url();
    if (!url) return std::unexpected(url.error());
    spdlog::info("[{}] Waiting for Docker at {}...", name, *url);
    auto probe = docker_probe(m_ports, name, driver);
    if (!probe) return std::unexpected(probe.error());
    if (auto ok = (*probe)->wait_until_ready(options.ssh_timeout + std::chrono::seconds(60)); !ok) return ok;
    return check_refuses_anonymous(machine.record, **probe);
}

}  // namespace berth
