#include <berth/service/machine_service.h>

#include <berth/core/docker_url.h>
#include <berth/core/log.h>
#include <berth/core/machine_name.h>
#include <berth/docker/docker_client.h>
#include <berth/service/driver_table.h>
#include <berth/image/image_cache.h>
#include <berth/pki/pki.h>
#include <berth/provision/templates.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <map>

namespace berth {
namespace {

Result<void> validate_labels(const std::vector<std::string>& labels) {
    for (const auto& label : labels) {
        auto eq = label.find('=');
        if (eq == std::string::npos || eq == 0)
            return fail_usage("invalid engine label \"" + label + "\"", "write it as key=value");
    }
    return {};
}

using SteadyClock = std::chrono::steady_clock;  // not berth::Clock (the injected one)

double seconds_since(SteadyClock::time_point start) {
    return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

/// The Docker API of one machine, as the provisioner's probe.
class ClientProbe final : public DockerProbe {
public:
    explicit ClientProbe(DockerClient client) : m_client(std::move(client)) {}
    Result<void> wait_until_ready(std::chrono::seconds timeout) override { return m_client.wait_until_ready(timeout); }
    Result<nlohmann::json> info() override { return m_client.info(); }
    Result<nlohmann::json> version() override { return m_client.version(); }

private:
    DockerClient m_client;
};

}  // namespace

SshTarget ssh_target_for(const Store& store, std::string_view machine, const SshEndpoint& endpoint) {
    SshTarget t;
    t.host = endpoint.host;
    t.port = endpoint.port;
    t.user = endpoint.user;
    t.key = endpoint.key_path;
    t.known_hosts = store.machine_file(machine, k_known_hosts_file);
    t.machine = std::string(machine);
    return t;
}

MachineService::MachineService(const Store& store, Runner& runner, GetEnv getenv,
                               std::span<const DriverInfo> drivers)
    : m_store(store), m_runner(runner), m_getenv(std::move(getenv)), m_drivers(drivers) {}

DriverContext MachineService::context_for(std::string_view name,
                                          const std::optional<std::filesystem::path>& templates_dir) const {
    DriverContext ctx;
    ctx.templates_dir = templates_dir;
    ctx.machine = std::string(name);
    ctx.machine_dir = m_store.machine_dir(name);
    ctx.runner = &m_runner;
    const Store* store = &m_store;
    // VM drivers boot cached images; a known name is pulled on first use.
    ctx.image = [store](std::string_view what) -> Result<ImageFiles> {
        ImageCache cache(ImageCache::images_dir(store->root()));
        auto image = cache.find_or_pull(what, PullOptions{});
        if (!image) return std::unexpected(image.error());
        return to_image_files(*image);
    };
    ctx.ssh = [store, machine = std::string(name)](const SshEndpoint& endpoint) -> Result<std::unique_ptr<Session>> {
        // Drivers only reach machines whose host key the first provision pinned: without one,
        // fail at once instead of connecting (and waiting for a guest that may still boot).
        std::error_code ec;
        if (!std::filesystem::exists(store->machine_file(machine, k_known_hosts_file), ec))
            return fail("the SSH host key of machine \"" + machine + "\" is not pinned yet",
                        "it is pinned by the first provision (create, or `berth provision " + machine + "`)");
        SshOptions options;
        options.connect_timeout = std::chrono::seconds(30);
        auto session = LibsshSession::connect(ssh_target_for(*store, machine, endpoint), options);
        if (!session) return std::unexpected(session.error());
        return std::unique_ptr<Session>(std::move(*session));
    };
    ctx.shared_lock = [store](std::string_view key, std::string_view what) -> Result<FileLock> {
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

Result<MachineRecord> MachineService::create(const CreateRequest& request) {
    // Everything that can be checked without touching anything is checked first.
    if (auto ok = validate_machine_name(request.name); !ok) return std::unexpected(ok.error());
    auto info = find_driver(m_drivers, request.driver);
    if (!info) return std::unexpected(info.error());
    auto values = resolve_options(**info, request.driver_flags, m_getenv);
    if (!values) return std::unexpected(values.error());
    auto key_type = pki::parse_key_type(request.tls_key_type);
    if (!key_type) return std::unexpected(key_type.error());
    if (request.tls_ca_days < 1 || request.tls_cert_days < 1)
        return fail_usage("certificate validity must be at least one day");
    if (request.tls_cert_days > request.tls_ca_days)
        return fail_usage("--tls-cert-days (" + std::to_string(request.tls_cert_days) +
                          ") is longer than --tls-ca-days (" + std::to_string(request.tls_ca_days) + ")",
                          "a certificate cannot outlive its CA");
    if (auto ok = validate_labels(request.engine_labels); !ok) return std::unexpected(ok.error());
    std::optional<std::filesystem::path> templates_dir;
    if (request.provision.templates_dir) templates_dir = std::filesystem::absolute(*request.provision.templates_dir);
    if (templates_dir)  // a typo in an override is found before anything is made
        if (auto loaded = TemplateSet::load(templates_dir); !loaded) {
            Error e = loaded.error();
            e.kind = ErrorKind::Usage;
            return std::unexpected(e);
        }
    auto driver = make_driver(**info, request.name, templates_dir);
    if (!driver) return std::unexpected(driver.error());
    if (auto ok = (*driver)->configure(*values); !ok) return std::unexpected(ok.error());

    if (auto ok = m_store.ensure_layout(); !ok) return std::unexpected(ok.error());
    auto lock = m_store.lock(request.name);
    if (!lock) return std::unexpected(lock.error());
    if (m_store.exists(request.name))
        return fail_kind(ErrorKind::Conflict, "machine \"" + request.name + "\" already exists",
                         "choose another name, or remove it first with `berth rm " + request.name + "`");

    const std::string prefix = log_prefix(request.name);
    spdlog::debug("{}running pre-create checks of driver {}", prefix, request.driver);
    if (auto ok = (*driver)->precreate_check(); !ok) {
        lock->release_and_remove();  // nothing was made: leave no lock file either
        Error e = ok.error();
        e.kind = ErrorKind::PrecreateCheck;
        e.message = "pre-create check failed: " + e.message;
        return std::unexpected(e);
    }

    MachineRecord record;
    record.name = request.name;
    record.driver_name = request.driver;
    record.status = MachineStatus::Creating;
    record.created_at = now_rfc3339();
    record.driver = (*driver)->save();
    record.engine.labels = request.engine_labels;
    record.engine.labels.insert(record.engine.labels.end(), request.engine.labels.begin(), request.engine.labels.end());
    record.engine.install = request.engine.install;
    record.engine.version_pin = request.engine.version;
    record.engine.opts = request.engine.opts;
    record.engine.insecure_registries = request.engine.insecure_registries;
    record.engine.registry_mirrors = request.engine.registry_mirrors;
    record.engine.storage_driver = request.engine.storage_driver;
    record.engine.env = request.engine.env;
    if (templates_dir) record.provision.templates_dir = templates_dir->string();
    record.tls.key_type = std::string(pki::to_string(*key_type));
    record.tls.extra_sans = request.tls_sans;
    record.tls.ca_days = request.tls_ca_days;
    record.tls.leaf_days = request.tls_cert_days;
    if (auto guest = (*driver)->guest_ports()) {
        record.engine.port = guest->engine;
    } else if (auto url = (*driver)->docker_url(); url) {
        if (auto parsed = parse_docker_url(*url); parsed) record.engine.port = parsed->port;
    }
    if (auto ok = m_store.save(record); !ok) {
        (void)m_store.remove_machine_dir(request.name);
        return std::unexpected(ok.error());
    }

    m_timings.clear();
    auto made = [&]() -> Result<void> {
        spdlog::info("Creating machine {} (driver {})...", request.name, request.driver);
        auto start = SteadyClock::now();
        if (auto ok = (*driver)->create(); !ok) return ok;
        m_timings.emplace_back("machine", seconds_since(start));
        record.driver = (*driver)->save();
        spdlog::info("Making certificates (a CA of its own for {})...", request.name);
        if (auto ok = issue_certificates(record, **driver); !ok) return ok;
        if (!(*driver)->ssh_endpoint()) return {};  // a host berth does not reach (none)
        Machine machine{record, std::move(*driver)};
        auto report = provision_locked(machine, request.provision, true, false);
        *driver = std::move(machine.driver);
        if (!report) return std::unexpected(report.error());
        record = machine.record;
        for (const auto& t : report->timings) m_timings.push_back(t);
        m_remote_commands = report->remote_commands;
        return {};
    }();
    if (!made) {
        // Roll back: the driver removes what it made, then the local files go.
        Error e = made.error();
        spdlog::debug("{}create failed, rolling back: {}", prefix, e.message);
        auto undone = (*driver)->remove();
        if (undone && m_store.remove_machine_dir(request.name)) {
            lock->release_and_remove();
            e.message = "cannot create machine \"" + request.name + "\": " + e.message;
            if (e.hint.empty()) e.hint = "nothing was left behind";
            return std::unexpected(e);
        }
        record.status = MachineStatus::Error;
        record.last_error = e.message;
        (void)m_store.save(record);
        e.message = "cannot create machine \"" + request.name + "\": " + e.message;
        e.hint = "clean up with `berth rm -f " + request.name + "`";
        return std::unexpected(e);
    }
    record.status = MachineStatus::Ready;
    if (auto ok = m_store.save(record); !ok) return std::unexpected(ok.error());
    return record;
}

// What the machine's certificates carry: the driver's addresses plus --tls-san, the recorded key
// type and validity.
Result<pki::MachineCertRequest> cert_request(const MachineRecord& record, Driver& driver) {
    auto key_type = pki::parse_key_type(record.tls.key_type);
    if (!key_type) return std::unexpected(key_type.error());
    pki::MachineCertRequest req;
    req.machine = record.name;
    req.sans = driver.cert_sans();
    req.sans.insert(req.sans.end(), record.tls.extra_sans.begin(), record.tls.extra_sans.end());
    req.key_type = *key_type;
    req.validity.ca_days = record.tls.ca_days;
    req.validity.leaf_days = record.tls.leaf_days;
    return req;
}

Result<void> MachineService::issue_certificates(MachineRecord& record, Driver& driver) const {
    // The CA and client certificate are made once; only regenerate-certs --client-certs replaces them.
    auto req = cert_request(record, driver);
    if (!req) return std::unexpected(req.error());
    const std::vector<std::string>& sans = req->sans;
    auto certs = pki::make_machine_certs(*req);
    if (!certs) return std::unexpected(certs.error());

    struct File {
        const char* name;
        const std::string& content;
        unsigned mode;
    };
    const File files[] = {
        {k_ca_key_file, certs->ca.key_pem, 0600},       {k_ca_cert_file, certs->ca.cert_pem, 0644},
        {k_server_key_file, certs->server.key_pem, 0600}, {k_server_cert_file, certs->server.cert_pem, 0644},
        {k_client_key_file, certs->client.key_pem, 0600}, {k_client_cert_file, certs->client.cert_pem, 0644},
    };
    for (const auto& f : files)
        if (auto ok = m_store.write_file(record.name, f.name, f.content, f.mode); !ok) return ok;

    auto ca = pki::read_cert(certs->ca.cert_pem);
    auto server = pki::read_cert(certs->server.cert_pem);
    auto client = pki::read_cert(certs->client.cert_pem);
    if (!ca) return std::unexpected(ca.error());
    if (!server) return std::unexpected(server.error());
    if (!client) return std::unexpected(client.error());
    record.tls.sans = pki::server_sans(sans);
    record.tls.ca_fingerprint = ca->sha256_fingerprint;
    record.tls.server_not_after = rfc3339(server->not_after);
    record.tls.client_not_after = rfc3339(client->not_after);
    return {};
}

Result<ProvisionReport> MachineService::provision_locked(Machine& machine, const ProvisionOptions& options,
                                                         bool first_contact, bool upgrade) {
    const std::string name = machine.record.name;
    auto endpoint = machine.driver->ssh_endpoint();
    if (!endpoint) return std::unexpected(endpoint.error());
    SshOptions ssh;
    ssh.connect_timeout = options.ssh_timeout;
    ssh.host_key = first_contact ? HostKeyPolicy::PinOnFirstUse
                   : options.replace_host_key ? HostKeyPolicy::ReplacePinned
                                              : HostKeyPolicy::RequirePinned;
    auto start = SteadyClock::now();
    spdlog::info("[{}] Connecting over SSH to {}@{}:{}...", name, endpoint->user, endpoint->host, endpoint->port);
    auto session = LibsshSession::connect(ssh_target_for(m_store, name, *endpoint), ssh);
    if (!session) return std::unexpected(session.error());
    const double connect_seconds = seconds_since(start);

    std::optional<std::filesystem::path> dir = options.templates_dir;
    if (!dir && !machine.record.provision.templates_dir.empty()) dir = machine.record.provision.templates_dir;
    auto templates = TemplateSet::load(dir);
    if (!templates) return std::unexpected(templates.error());

    ProvisionRequest req;
    req.machine = name;
    req.hostname = name;
    req.upgrade = upgrade;
    const auto& e = machine.record.engine;
    req.engine.install = e.install;
    req.engine.version = e.version_pin;
    req.engine.port = e.port;
    req.engine.opts = e.opts;
    req.engine.labels = e.labels;
    req.engine.insecure_registries = e.insecure_registries;
    req.engine.registry_mirrors = e.registry_mirrors;
    req.engine.storage_driver = e.storage_driver;
    req.engine.env = e.env;
    // The firewall on the host opens the ports sshd listens on there, not forwarded ones.
    auto guest = machine.driver->guest_ports();
    req.ssh_ports = {guest ? guest->ssh : endpoint->port};
    for (auto [file, target] : {std::pair{k_ca_cert_file, &req.ca_pem}, std::pair{k_server_cert_file, &req.server_cert_pem},
                                std::pair{k_server_key_file, &req.server_key_pem}}) {
        auto text = read_file(m_store.machine_file(name, file));
        if (!text)
            return fail("machine \"" + name + "\" has no " + file, "make new certificates with `berth regenerate-certs " + name + "`");
        *target = *text;
    }
    auto url = machine.driver->docker_url();
    if (!url) return std::unexpected(url.error());
    ClientProbe probe(DockerClient(*url, DockerTls{m_store.machine_file(name, k_ca_cert_file),
                                                   m_store.machine_file(name, k_client_cert_file),
                                                   m_store.machine_file(name, k_client_key_file)}));
    Provisioner provisioner(**session, *templates, probe);
    auto report = provisioner.run(req);
    if (!report) return std::unexpected(report.error());
    report->timings.insert(report->timings.begin(), {"ssh", connect_seconds});
    report->remote_commands = (*session)->channels_opened();

    auto& p = machine.record.provision;
    p.provisioned_at = now_rfc3339();
    p.os = report->os.id + " " + report->os.version_id;
    p.digests = report->digests;
    p.security_options = report->security_options;
    p.host_key = (*session)->host_key_fingerprint();
    machine.record.engine.version = report->docker_version;
    return report;
}

Result<ProvisionReport> MachineService::provision(std::string_view name, const ProvisionOptions& options, bool upgrade) {
    if (auto ok = validate_machine_name(name); !ok) return std::unexpected(ok.error());
    auto lock = lock_existing(name);
    if (!lock) return std::unexpected(lock.error());
    auto machine = open(name);
    if (!machine) return std::unexpected(machine.error());
    if (!machine->driver->ssh_endpoint())
        return fail("machine \"" + std::string(name) + "\" uses the " + machine->record.driver_name +
                    " driver, which berth cannot reach over SSH to provision");
    auto report = provision_locked(*machine, options, false, upgrade);
    if (!report) return std::unexpected(report.error());
    machine->record.status = MachineStatus::Ready;
    machine->record.last_error.clear();
    if (auto ok = m_store.save(machine->record); !ok) return std::unexpected(ok.error());
    return report;
}

Result<void> MachineService::power(std::string_view name, Power action, const ProvisionOptions& options) {
    if (auto ok = validate_machine_name(name); !ok) return ok;
    auto lock = lock_existing(name);
    if (!lock) return std::unexpected(lock.error());
    auto machine = open(name);
    if (!machine) return std::unexpected(machine.error());
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
    if (!driver.ssh_endpoint()) return m_store.save(machine->record);
    auto ip = driver.ip();
    if (!ip) return std::unexpected(ip.error());
    const auto& sans = machine->record.tls.sans;
    if (std::find(sans.begin(), sans.end(), *ip) == sans.end()) {
        spdlog::info("[{}] Its address is now {}, which its certificate does not carry: issuing a new one...", name, *ip);
        if (auto ok = reissue_server_cert(*machine); !ok) return ok;
        if (auto ok = m_store.save(machine->record); !ok) return ok;
        auto report = provision_locked(*machine, options, false, false);
        if (!report) return std::unexpected(report.error());
    } else {
        // Started means usable: the address may come back at once (an old DHCP lease) while the
        // guest still boots, so wait for the Docker API itself.
        auto url = driver.docker_url();
        if (!url) return std::unexpected(url.error());
        spdlog::info("[{}] Waiting for Docker at {}...", name, *url);
        DockerClient client(*url, DockerTls{m_store.machine_file(name, k_ca_cert_file),
                                            m_store.machine_file(name, k_client_cert_file),
                                            m_store.machine_file(name, k_client_key_file)});
        if (auto ok = client.wait_until_ready(options.ssh_timeout + std::chrono::seconds(60)); !ok) return ok;
    }
    return m_store.save(machine->record);
}

Result<void> MachineService::reissue_server_cert(Machine& machine) {
    auto& record = machine.record;
    const std::string& name = record.name;
    auto ca_cert = read_file(m_store.machine_file(name, k_ca_cert_file));
    auto ca_key = read_file(m_store.machine_file(name, k_ca_key_file));
    if (!ca_cert || !ca_key)
        return fail("machine \"" + name + "\" has no CA in " + m_store.machine_dir(name).string(),
                    "make a new CA too with `berth regenerate-certs --client-certs " + name + "`");
    auto req = cert_request(record, *machine.driver);
    if (!req) return std::unexpected(req.error());
    auto server = pki::issue_server_cert(pki::CertAndKey{*ca_cert, *ca_key}, *req);
    if (!server) return std::unexpected(server.error());
    if (auto ok = m_store.write_file(name, k_server_key_file, server->key_pem, 0600); !ok) return ok;
    if (auto ok = m_store.write_file(name, k_server_cert_file, server->cert_pem, 0644); !ok) return ok;
    auto info = pki::read_cert(server->cert_pem);
    if (!info) return std::unexpected(info.error());
    record.tls.sans = pki::server_sans(req->sans);
    record.tls.server_not_after = rfc3339(info->not_after);
    return {};
}

Result<ProvisionReport> MachineService::regenerate_certs(std::string_view name, bool client_certs,
                                                         const ProvisionOptions& options) {
    if (auto ok = validate_machine_name(name); !ok) return std::unexpected(ok.error());
    auto lock = lock_existing(name);
    if (!lock) return std::unexpected(lock.error());
    auto machine = open(name);
    if (!machine) return std::unexpected(machine.error());
    auto& record = machine->record;
    if (client_certs) {
        spdlog::info("[{}] Making a new CA, server and client certificate...", name);
        if (auto ok = issue_certificates(record, *machine->driver); !ok) return std::unexpected(ok.error());
    } else {
        spdlog::info("[{}] Making a new server certificate from the machine's CA...", name);
        if (auto ok = reissue_server_cert(*machine); !ok) return std::unexpected(ok.error());
    }
    if (auto ok = m_store.save(record); !ok) return std::unexpected(ok.error());
    if (!machine->driver->ssh_endpoint()) {
        ProvisionReport none;
        none.changed = {"local certificates"};
        return none;  // a host berth does not reach: the user installs server.pem themselves
    }
    auto report = provision_locked(*machine, options, false, false);
    if (!report) return std::unexpected(report.error());
    if (auto ok = m_store.save(machine->record); !ok) return std::unexpected(ok.error());
    return report;
}

Result<FileLock> MachineService::lock_existing(std::string_view name) const {
    auto lock = m_store.lock(name);
    if (!lock) return std::unexpected(lock.error());
    if (!m_store.exists(name)) {
        lock->release_and_remove();  // no lock files for machines that do not exist
        return fail_kind(ErrorKind::NotFound,
                         "no machine named \"" + std::string(name) + "\" in " + m_store.root().string(),
                         "`berth ls` lists the machines");
    }
    return lock;
}

Result<Machine> MachineService::open(std::string_view name) const {
    if (auto ok = validate_machine_name(name); !ok) return std::unexpected(ok.error());
    auto record = m_store.load(name);
    if (!record) return std::unexpected(record.error());
    auto info = find_driver(m_drivers, record->driver_name);
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
    auto names = m_store.list_names();
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
        auto info = find_driver(m_drivers, driver_name);
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

Result<std::string> MachineService::remove(std::string_view name, bool force) {
    if (auto ok = validate_machine_name(name); !ok) return std::unexpected(ok.error());
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
    if (auto ok = m_store.remove_machine_dir(name); !ok) return std::unexpected(ok.error());
    lock->release_and_remove();
    return note;
}

}  // namespace berth
