// MachineService::create: everything checked before anything is made, then the record saved as
// "creating", the driver's machine, the certificates and the first provision; a failure rolls back.

#include <berth/service/machine_service.h>

#include <berth/core/docker_url.h>
#include <berth/core/log.h>
#include <berth/core/machine_name.h>
#include <berth/core/progress.h>
#include <berth/pki/pki.h>
#include <berth/provision/engine_options.h>
#include <berth/provision/engine_checks.h>
#include <berth/provision/templates.h>
#include <berth/service/authz_files.h>
#include <berth/service/driver_table.h>
#include <berth/service/user_certs.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

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

// Upper bounds of --tls-ca-days and --tls-cert-days (docs/cli.md): ten years for a machine's CA;
// 825 days for a certificate, as browsers allow (`berth regenerate-certs` makes new ones).
constexpr int k_max_ca_days = 3650;
constexpr int k_max_cert_days = 825;

/// A DNS name as a certificate carries it: dot-separated labels of letters, digits and inner
/// '-', up to 63 characters each and 253 in all, the last not all digits. No wildcard.
bool is_dns_name(std::string_view name) {
    if (name.empty() || name.size() > 253) return false;
    std::string_view last;
    for (std::string_view rest = name;;) {
        const auto dot = rest.find('.');
        last = rest.substr(0, dot);
        if (last.empty() || last.size() > 63 || last.front() == '-' || last.back() == '-') return false;
        for (char c : last)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
        if (dot == std::string_view::npos) break;
        rest.remove_prefix(dot + 1);
    }
    return last.find_first_not_of("0123456789") != std::string_view::npos;
}

Result<void> validate_tls_sans(const std::vector<std::string>& sans) {
    for (const auto& san : sans) {
        if (san.starts_with("*."))
            return fail_usage("--tls-san " + san + " is a wildcard, which berth does not put in a certificate",
                              "name each host or address the machine is reached by with its own --tls-san");
        if (!is_ip_address(san) && !is_dns_name(san))
            return fail_usage("--tls-san \"" + san + "\" is neither an IP address nor a DNS name",
                              "give an address (10.0.0.5, fd00::5) or a host name (docker.example.com)");
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
    if (request.tls_ca_days > k_max_ca_days)
        return fail_usage("--tls-ca-days " + std::to_string(request.tls_ca_days) + " is more than " +
                              std::to_string(k_max_ca_days) + " days (ten years)",
                          "a machine's CA lives at most " + std::to_string(k_max_ca_days) + " days");
    if (request.tls_cert_days > k_max_cert_days)
        return fail_usage("--tls-cert-days " + std::to_string(request.tls_cert_days) + " is more than " +
                              std::to_string(k_max_cert_days) + " days",
                          "certificates live at most " + std::to_string(k_max_cert_days) +
                              " days; renew them with `berth regenerate-certs NAME`");
    return {};
}

/// The absolute --templates-dir, loaded once so that a typo in an override is found before
/// anything is made.
Result<std::optional<std::filesystem::path>> checked_templates_dir(const CreateRequest& request) {
    if (!request.provision.templates_dir) return std::optional<std::filesystem::path>{};
    std::error_code ec;
    auto dir = std::filesystem::absolute(*request.provision.templates_dir, ec);
    if (ec) return fail_usage("cannot resolve --templates-dir " + request.provision.templates_dir->string() + ": " +
                              ec.message());
    if (auto loaded = TemplateSet::load(dir); !loaded) {
        Error e = loaded.error();
        e.kind = ErrorKind::Usage;
        return std::unexpected(e);
    }
    return std::optional<std::filesystem::path>{dir};
}

/// --authz-policy (its text, checked) and --authz-owner-role, and berth-authz itself when the driver
/// provisions: all before anything is made.
Result<std::optional<std::string>> checked_authz(const CreateRequest& request, const DriverInfo& info,
                                                 const Ports& ports) {
    const auto& o = request.provision;
    if (!o.authz_owner_role.empty())
        if (auto ok = check_authz_owner_role(o.authz_owner_role); !ok) return std::unexpected(ok.error());
    std::optional<std::string> policy;
    if (o.authz_policy && *o.authz_policy != "default") {
        if (!o.authz_owner_role.empty())
            return fail_usage("--authz-owner-role applies to berth's default policy, not to --authz-policy " +
                                  o.authz_policy->string(),
                              "give \"" + pki::client_common_name(request.name) + "\" its role under users: in that file");
        auto text = read_authz_policy(*o.authz_policy);
        if (!text) return std::unexpected(text.error());
        policy = std::move(*text);
    }
    if (info.provisions) {
        if (!ports.authz_binary) return fail("internal error: no berth-authz source in the service's ports");
        if (auto binary = ports.authz_binary(); !binary) return std::unexpected(binary.error());
    }
    return policy;
}

}  // namespace

struct MachineService::Prepared {
    std::unique_ptr<Driver> driver;
    pki::KeyType key_type{};
    std::optional<std::filesystem::path> templates_dir;
    std::optional<FileLock> lock;
    std::optional<std::string> authz_policy;  ///< --authz-policy's text, checked
};

Result<void> MachineService::validate_create(const CreateRequest& request) const {
    auto checked = check_create(request);
    if (!checked) return std::unexpected(checked.error());
    return {};
}

Result<MachineService::Prepared> MachineService::check_create(const CreateRequest& request) const {
    if (auto ok = validate_machine_name(request.name); !ok) return std::unexpected(ok.error());
    auto info = find_driver(m_ports.drivers, request.driver);
    if (!info) return std::unexpected(info.error());
    auto values = resolve_options(**info, request.driver_flags, m_ports.env);
    if (!values) return std::unexpected(values.error());
    auto key_type = pki::parse_key_type(request.tls_key_type);
    if (!key_type) return std::unexpected(key_type.error());
    if (auto ok = validate_tls(request); !ok) return std::unexpected(ok.error());
    if (auto ok = validate_labels(request.engine.labels); !ok) return std::unexpected(ok.error());
    if (auto ok = validate_tls_sans(request.tls_sans); !ok) return std::unexpected(ok.error());
    if (auto ok = validate_create_users(request.users); !ok) return std::unexpected(ok.error());
    if (auto ok = validate_engine_options(request.engine); !ok) return std::unexpected(ok.error());
    if (auto ok = check_engine_config(request.engine); !ok) return std::unexpected(ok.error());
    auto templates_dir = checked_templates_dir(request);
    if (!templates_dir) return std::unexpected(templates_dir.error());
    auto driver = make_driver(**info, request.name, *templates_dir);
    if (!driver) return std::unexpected(driver.error());
    if (auto ok = (*driver)->configure(*values); !ok) return std::unexpected(ok.error());
    auto authz_policy = checked_authz(request, **info, m_ports);
    if (!authz_policy) return std::unexpected(authz_policy.error());
    return Prepared{std::move(*driver), *key_type, *templates_dir, std::nullopt, std::move(*authz_policy)};
}

Result<MachineService::Prepared> MachineService::prepare_create(const CreateRequest& request) const {
    auto prepared = check_create(request);
    if (!prepared) return std::unexpected(prepared.error());
    const Store& store = *m_ports.store;
    if (auto ok = store.ensure_layout(); !ok) return std::unexpected(ok.error());
    auto lock = store.lock(request.name);
    if (!lock) return std::unexpected(lock.error());
    if (store.exists(request.name))
        return fail_kind(ErrorKind::Conflict, "machine \"" + request.name + "\" already exists",
                         "choose another name, or remove it first with `berth rm " + request.name + "`");
    spdlog::debug("{}running pre-create checks of driver {}", log_prefix(request.name), request.driver);
    if (auto ok = prepared->driver->precreate_check(); !ok) {
        lock->release_and_remove();  // nothing was made: leave no lock file either
        Error e = ok.error();
        e.kind = ErrorKind::PrecreateCheck;
        e.message = "pre-create check failed: " + e.message;
        return std::unexpected(e);
    }
    prepared->lock = std::move(*lock);
    return std::move(*prepared);
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
    record.fleet = request.fleet;
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
    progress_step("machine");
    if (auto ok = prepared.driver->create(); !ok) return ok;
    report.timings.emplace_back("machine", seconds_since(*m_ports.clock, start));
    record.driver = prepared.driver->save();
    spdlog::info("Making certificates (a CA of its own for {})...", request.name);
    progress_step("certificates");
    if (auto ok = issue_certificates(record, *prepared.driver); !ok) return ok;
    // Per-user certificates from the new CA, so the first policy already gives each its role.
    for (const auto& user : request.users)
        if (auto cert = issue_user_cert_into(*m_ports.store, record, user.cn, user.role, user.days); !cert)
            return std::unexpected(cert.error());
    if (!prepared.driver->ssh_endpoint()) return {};  // a host berth does not reach (none)
    Machine machine{record, std::move(prepared.driver)};
    // The driver goes back to `prepared` however provision ends (an exception too): rollback needs it.
    struct GiveBack {
        Prepared& prepared;
        Machine& machine;
        ~GiveBack() { prepared.driver = std::move(machine.driver); }
    } give_back{prepared, machine};
    auto provisioned = provision_locked(machine, request.provision, true, false);
    if (!provisioned) return std::unexpected(provisioned.error());
    record = machine.record;
    report.timings.insert(report.timings.end(), provisioned->timings.begin(), provisioned->timings.end());
    report.provision = std::move(*provisioned);
    return {};
}

/// make_machine, with an exception that escapes it (a bug: failures are Error values) turned into
/// an internal error, so that the create still rolls back and no record is left "creating".
Result<void> MachineService::make_machine_guarded(const CreateRequest& request, Prepared& prepared,
                                                  CreateReport& report) const {
    try {
        return make_machine(request, prepared, report);
    } catch (const std::exception& e) {
        return fail(std::string("internal error: ") + e.what());
    } catch (...) {
        return fail("internal error: an unknown exception");
    }
}

Error MachineService::roll_back(const CreateRequest& request, Prepared& prepared, MachineRecord& record,
                                Error e) const {
    const std::string cause = e.message;
    e.message = "cannot create machine \"" + request.name + "\": " + cause;
    const auto changed = std::find_if(e.context.begin(), e.context.end(),
                                      [](const auto& kv) { return kv.first == "host_changed"; });
    if (prepared.driver && !prepared.driver->owns_host() && changed != e.context.end()) {
        // A host berth did not make and cannot undo: keep the record, its certificates and the
        // pinned host key, and say what changed there.
        record.status = MachineStatus::Error;
        record.last_error = cause;
        (void)m_ports.store->save(record);
        e.message += ". berth changed " + request.name + " before it failed: " + changed->second;
        e.hint = "the machine is kept (status error) with the host key it pinned: run `berth provision " +
                 request.name + "` to finish, or `berth rm " + request.name +
                 "` to forget it (the host keeps these changes)";
        return e;
    }
    spdlog::debug("{}create failed, rolling back: {}", log_prefix(request.name), cause);
    auto undone = prepared.driver ? prepared.driver->remove() : Result<void>(fail("the driver was lost"));
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
    auto saved = m_ports.store->save(report.record);
    // The policy's copy goes into the machine's directory, which the first save made.
    if (saved) saved = apply_authz_options(report.record, request.provision, prepared->authz_policy);
    if (saved) saved = m_ports.store->save(report.record);
    if (!saved) {
        (void)m_ports.store->remove_machine_dir(request.name);
        return std::unexpected(saved.error());
    }
    if (auto made = make_machine_guarded(request, *prepared, report); !made)
        return std::unexpected(roll_back(request, *prepared, report.record, made.error()));
    report.record.status = MachineStatus::Ready;
    if (auto ok = m_ports.store->save(report.record); !ok) return std::unexpected(ok.error());
    return report;
}

}  // namespace berth
