// MachineService::create: everything checked before anything is made, then the record saved as
// "creating", the driver's machine, the certificates and the first provision; a failure rolls back.

#include <berth/service/machine_service.h>

#include <berth/core/docker_url.h>
#include <berth/core/log.h>
#include <berth/core/machine_name.h>
#include <berth/pki/pki.h>
#include <berth/provision/engine_checks.h>
#include <berth/provision/templates.h>
#include <berth/service/driver_table.h>

#include <spdlog/spdlog.h>

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

Result<void> validate_tls(const CreateRequest& request) {
    if (request.tls_ca_days < 1 || request.tls_cert_days < 1)
        return fail_usage("certificate validity must be at least one day");
    if (request.tls_cert_days > request.tls_ca_days)
        return fail_usage("--tls-cert-days (" + std::to_string(request.tls_cert_days) +
                              ") is longer than --tls-ca-days (" + std::to_string(request.tls_ca_days) + ")",
                          "a certificate cannot outlive its CA");
    return {};
}

/// The absolute --templates-dir, loaded once so that a typo in an override is found before
/// anything is made.
Result<std::optional<std::filesystem::path>> checked_templates_dir(const CreateRequest& request) {
    if (!request.provision.templates_dir) return std::optional<std::filesystem::path>{};
    auto dir = std::filesystem::absolute(*request.provision.templates_dir);
    if (auto loaded = TemplateSet::load(dir); !loaded) {
        Error e = loaded.error();
        e.kind = ErrorKind::Usage;
        return std::unexpected(e);
    }
    return std::optional<std::filesystem::path>{dir};
}

}  // namespace

struct MachineService::Prepared {
    std::unique_ptr<Driver> driver;
    pki::KeyType key_type{};
    std::optional<std::filesystem::path> templates_dir;
    std::optional<FileLock> lock;
};

Result<MachineService::Prepared> MachineService::prepare_create(const CreateRequest& request) const {
    if (auto ok = validate_machine_name(request.name); !ok) return std::unexpected(ok.error());
    auto info = find_driver(m_ports.drivers, request.driver);
    if (!info) return std::unexpected(info.error());
    auto values = resolve_options(**info, request.driver_flags, m_ports.env);
    if (!values) return std::unexpected(values.error());
    auto key_type = pki::parse_key_type(request.tls_key_type);
    if (!key_type) return std::unexpected(key_type.error());
    if (auto ok = validate_tls(request); !ok) return std::unexpected(ok.error());
    if (auto ok = validate_labels(request.engine.labels); !ok) return std::unexpected(ok.error());
    if (auto ok = check_engine_config(request.engine); !ok) return std::unexpected(ok.error());
    auto templates_dir = checked_templates_dir(request);
    if (!templates_dir) return std::unexpected(templates_dir.error());
    auto driver = make_driver(**info, request.name, *templates_dir);
    if (!driver) return std::unexpected(driver.error());
    if (auto ok = (*driver)->configure(*values); !ok) return std::unexpected(ok.error());

    const Store& store = *m_ports.store;
    if (auto ok = store.ensure_layout(); !ok) return std::unexpected(ok.error());
    auto lock = store.lock(request.name);
    if (!lock) return std::unexpected(lock.error());
    if (store.exists(request.name))
        return fail_kind(ErrorKind::Conflict, "machine \"" + request.name + "\" already exists",
                         "choose another name, or remove it first with `berth rm " + request.name + "`");
    spdlog::debug("{}running pre-create checks of driver {}", log_prefix(request.name), request.driver);
    if (auto ok = (*driver)->precreate_check(); !ok) {
        lock->release_and_remove();  // nothing was made: leave no lock file either
        Error e = ok.error();
        e.kind = ErrorKind::PrecreateCheck;
        e.message = "pre-create check failed: " + e.message;
        return std::unexpected(e);
    }
    return Prepared{std::move(*driver), *key_type, *templates_dir, std::move(*lock)};
}

MachineRecord MachineService::new_record(const CreateRequest& request, const Prepared& prepared) const {
    Driver& driver = *prepared.driver;
    MachineRecord record;
    record.name = request.name;
    record.driver_name = request.driver;
    record.status = MachineStatus::Creating;
    record.created_at = now_rfc3339();
    record.driver = driver.save();
    record.engine = request.engine;
    if (prepared.templates_dir) record.provision.templates_dir = prepared.templates_dir->string();
    record.tls.key_type = std::string(pki::to_string(prepared.key_type));
    record.tls.extra_sans = request.tls_sans;
    record.tls.ca_days = request.tls_ca_days;
    record.tls.leaf_days = request.tls_cert_days;
    if (auto guest = driver.guest_ports()) {
        record.engine.port = guest->engine;
    } else if (auto url = driver.docker_url(); url) {
        if (auto parsed = parse_docker_url(*url); parsed) record.engine.port = parsed->port;
    }
    return record;
}

Result<void> MachineService::make_machine(const CreateRequest& request, Prepared& prepared,
                                          CreateReport& report) const {
    MachineRecord& record = report.record;
    spdlog::info("Creating machine {} (driver {})...", request.name, request.driver);
    auto start = m_ports.clock->now();
    if (auto ok = prepared.driver->create(); !ok) return ok;
    report.timings.emplace_back("machine", seconds_since(*m_ports.clock, start));
    record.driver = prepared.driver->save();
    spdlog::info("Making certificates (a CA of its own for {})...", request.name);
    if (auto ok = issue_certificates(record, *prepared.driver); !ok) return ok;
    if (!prepared.driver->ssh_endpoint()) return {};  // a host berth does not reach (none)
    Machine machine{record, std::move(prepared.driver)};
    auto provisioned = provision_locked(machine, request.provision, true, false);
    prepared.driver = std::move(machine.driver);
    if (!provisioned) return std::unexpected(provisioned.error());
    record = machine.record;
    report.timings.insert(report.timings.end(), provisioned->timings.begin(), provisioned->timings.end());
    report.provision = std::move(*provisioned);
    return {};
}

Error MachineService::roll_back(const CreateRequest& request, Prepared& prepared, MachineRecord& record,
                                Error e) const {
    spdlog::debug("{}create failed, rolling back: {}", log_prefix(request.name), e.message);
    auto undone = prepared.driver->remove();
    const std::string cause = e.message;
    e.message = "cannot create machine \"" + request.name + "\": " + cause;
    if (undone && m_ports.store->remove_machine_dir(request.name)) {
        prepared.lock->release_and_remove();
        if (e.hint.empty()) e.hint = "nothing was left behind";
        return e;
    }
    record.status = MachineStatus::Error;
    record.last_error = cause;
    (void)m_ports.store->save(record);
    e.hint = "clean up with `berth rm -f " + request.name + "`";
    return e;
}

Result<CreateReport> MachineService::create(const CreateRequest& request) const {
    MachineLogScope log_scope{request.name};
    auto prepared = prepare_create(request);
    if (!prepared) return std::unexpected(prepared.error());
    CreateReport report;
    report.record = new_record(request, *prepared);
    if (auto ok = m_ports.store->save(report.record); !ok) {
        (void)m_ports.store->remove_machine_dir(request.name);
        return std::unexpected(ok.error());
    }
    if (auto made = make_machine(request, *prepared, report); !made)
        return std::unexpected(roll_back(request, *prepared, report.record, made.error()));
    report.record.status = MachineStatus::Ready;
    if (auto ok = m_ports.store->save(report.record); !ok) return std::unexpected(ok.error());
    return report;
}

}  // namespace berth
