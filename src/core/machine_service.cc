#include <berth/core/machine_service.h>

#include <berth/core/docker_url.h>
#include <berth/core/log.h>
#include <berth/core/machine_name.h>
#include <berth/driver/driver_table.h>
#include <berth/pki/pki.h>

#include <spdlog/spdlog.h>

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

}  // namespace

GetEnv process_env() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (value == nullptr) return std::nullopt;
        return std::string(value);
    };
}

MachineService::MachineService(const Store& store, Runner& runner, GetEnv getenv,
                               std::span<const DriverInfo> drivers)
    : m_store(store), m_runner(runner), m_getenv(std::move(getenv)), m_drivers(drivers) {}

Result<std::unique_ptr<Driver>> MachineService::make_driver(const DriverInfo& info,
                                                            std::string_view name) const {
    DriverContext ctx{std::string(name), m_store.machine_dir(name), &m_runner};
    auto driver = info.make(ctx);
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
    auto driver = make_driver(**info, request.name);
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
    record.tls.key_type = std::string(pki::to_string(*key_type));
    record.tls.extra_sans = request.tls_sans;
    record.tls.ca_days = request.tls_ca_days;
    record.tls.leaf_days = request.tls_cert_days;
    if (auto url = (*driver)->docker_url(); url)
        if (auto parsed = parse_docker_url(*url); parsed) record.engine.port = parsed->port;
    if (auto ok = m_store.save(record); !ok) {
        (void)m_store.remove_machine_dir(request.name);
        return std::unexpected(ok.error());
    }

    auto made = [&]() -> Result<void> {
        spdlog::info("Creating machine {} (driver {})...", request.name, request.driver);
        if (auto ok = (*driver)->create(); !ok) return ok;
        record.driver = (*driver)->save();
        spdlog::info("Making certificates (a CA of its own for {})...", request.name);
        return issue_certificates(record, **driver);
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

Result<void> MachineService::issue_certificates(MachineRecord& record, Driver& driver) const {
    auto key_type = pki::parse_key_type(record.tls.key_type);
    if (!key_type) return std::unexpected(key_type.error());
    std::vector<std::string> sans = driver.cert_sans();
    sans.insert(sans.end(), record.tls.extra_sans.begin(), record.tls.extra_sans.end());
    pki::MachineCertRequest req;
    req.machine = record.name;
    req.sans = sans;
    req.key_type = *key_type;
    req.validity.ca_days = record.tls.ca_days;
    req.validity.leaf_days = record.tls.leaf_days;
    auto certs = pki::make_machine_certs(req);
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

Result<Machine> MachineService::open(std::string_view name) const {
    if (auto ok = validate_machine_name(name); !ok) return std::unexpected(ok.error());
    auto record = m_store.load(name);
    if (!record) return std::unexpected(record.error());
    auto info = find_driver(m_drivers, record->driver_name);
    if (!info)
        return fail("machine \"" + std::string(name) + "\" uses driver \"" + record->driver_name +
                        "\", which this berth does not have",
                    "use the berth that created it");
    auto driver = make_driver(**info, name);
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

Result<void> MachineService::remove(std::string_view name, bool force) {
    if (auto ok = validate_machine_name(name); !ok) return ok;
    auto lock = m_store.lock(name);
    if (!lock) return std::unexpected(lock.error());
    if (!m_store.exists(name))
        return fail_kind(ErrorKind::NotFound,
                         "no machine named \"" + std::string(name) + "\" in " + m_store.root().string(),
                         "`berth ls` lists the machines");
    const std::string prefix = log_prefix(name);
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
    }
    if (auto ok = m_store.remove_machine_dir(name); !ok) return ok;
    lock->release_and_remove();
    return {};
}

}  // namespace berth
