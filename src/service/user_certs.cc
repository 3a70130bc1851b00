// Per-user certificates (`berth certs issue|ls|revoke`): issued from the machine's own CA into
// machines/NAME/users/CN/, recorded in the machine's record under its lock, then the host's
// berth-authz policy follows through a provision (only the policy and the revocation list change,
// so berth-authz reloads and nothing else restarts).

#include <berth/service/user_certs.h>

#include <berth/core/log.h>
#include <berth/core/machine_name.h>
#include <berth/pki/pki.h>
#include <berth/store/atomic_file.h>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace berth {
namespace {

// Upper bound of --days, as for --tls-cert-days (create.cc).
constexpr int k_max_user_days = 825;

Result<void> validate_role(std::string_view role) {
    if (role == "restricted" || role == "admin") return {};
    return fail_usage("--role takes restricted or admin, not \"" + std::string(role) + "\"",
                      "admin lets the user do what berth-authz refuses: as good as root on the host (docs/hardening.md)");
}

Result<void> validate_days(int days) {
    if (days >= 0 && days <= k_max_user_days) return {};
    return fail_usage("--days " + std::to_string(days) + " is not between 1 and " + std::to_string(k_max_user_days),
                      "leave it out for the machine's certificate validity (--tls-cert-days at create)");
}

/// The machine's lock, NotFound (and no lock file left) when there is no such machine.
Result<FileLock> lock_machine(const Store& store, std::string_view name) {
    if (auto ok = validate_machine_name(name); !ok) return std::unexpected(ok.error());
    auto lock = store.lock(name);
    if (!lock) return std::unexpected(lock.error());
    if (!store.exists(name)) {
        lock->release_and_remove();
        return fail_kind(ErrorKind::NotFound, "no machine named \"" + std::string(name) + "\" in " + store.root().string(),
                         "`berth ls` lists the machines");
    }
    return lock;
}

/// Updates the host's policy after a change of the machine's users: a provision, which writes
/// only the policy and the revocation list (berth-authz reloads). A machine berth does not reach
/// over SSH (the none driver) has no berth-authz of berth's: nothing to do there.
Result<void> update_host(MachineService& machines, std::string_view name, const ProvisionOptions& options,
                         const std::string& what) {
    auto machine = machines.open(name);
    if (!machine) return std::unexpected(machine.error());
    if (!machine->driver->ssh_endpoint()) {
        spdlog::info("{} uses the {} driver: berth does not reach it, so no host policy to update", name,
                     machine->record.driver_name);
        return {};
    }
    spdlog::info("Updating berth-authz's policy on {}...", name);
    auto report = machines.provision(name, options);
    if (!report) {
        Error e = report.error();
        e.message = what + ", but the host's policy was not updated: " + e.message;
        e.hint = "run `berth provision " + std::string(name) + "` once the host is reachable";
        return std::unexpected(e);
    }
    return {};
}

}  // namespace

Result<void> validate_user_cn(std::string_view cn) {
    auto bad = [&](const std::string& why) {
        return fail_usage("user \"" + std::string(cn) + "\" " + why,
                          "a user's name is 1-64 characters of letters, digits, '.', '_', '@' and '-', not starting "
                          "with '.' or '-'");
    };
    if (cn.empty() || cn.size() > 64) return bad("is not 1 to 64 characters");
    if (cn.front() == '-' || cn.front() == '.') return bad("starts with '" + std::string(1, cn.front()) + "'");
    for (char c : cn) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '_' || c == '@' || c == '-';
        if (!ok) return bad("holds a character berth does not put in a certificate's CN");
    }
    if (cn.starts_with("berth client for ")) return bad("is the name of a machine's own certificate");
    return {};
}

Result<void> validate_create_users(const std::vector<CreateUser>& users) {
    for (std::size_t i = 0; i < users.size(); ++i) {
        if (auto ok = validate_user_cn(users[i].cn); !ok) return ok;
        if (auto ok = validate_role(users[i].role); !ok) return ok;
        if (auto ok = validate_days(users[i].days); !ok) return ok;
        for (std::size_t j = 0; j < i; ++j)
            if (users[j].cn == users[i].cn)
                return fail_usage("user \"" + users[i].cn + "\" is given twice", "give each user once");
    }
    return {};
}

std::filesystem::path user_cert_dir(const Store& store, std::string_view machine, std::string_view user) {
    return store.machine_dir(machine) / "users" / std::string(user);
}

Result<UserCert> issue_user_cert_into(const Store& store, MachineRecord& record, std::string_view user,
                                      std::string_view role, int days) {
    const std::string& name = record.name;
    auto ca_cert = read_file(store.machine_file(name, k_ca_cert_file));
    auto ca_key = read_file(store.machine_file(name, k_ca_key_file));
    if (!ca_cert || !ca_key)
        return fail("machine \"" + name + "\" has no CA in " + store.machine_dir(name).string(),
                    "make a new CA with `berth regenerate-certs --new-ca " + name + "`");
    auto key_type = pki::parse_key_type(record.tls.key_type);
    if (!key_type) return std::unexpected(key_type.error());
    pki::MachineCertRequest req;
    req.machine = name;
    req.key_type = *key_type;
    req.validity.leaf_days = days > 0 ? days : record.tls.leaf_days;
    auto issued = pki::issue_user_cert(pki::CertAndKey{*ca_cert, *ca_key}, req, user);
    if (!issued) return std::unexpected(issued.error());
    auto info = pki::read_cert(issued->cert_pem);
    if (!info) return std::unexpected(info.error());
    const auto dir = user_cert_dir(store, name, user);
    if (auto ok = ensure_private_dir(dir); !ok) return std::unexpected(ok.error());
    if (auto ok = write_file_atomic(dir / "key.pem", issued->key_pem, 0600); !ok) return std::unexpected(ok.error());
    if (auto ok = write_file_atomic(dir / "cert.pem", issued->cert_pem, 0600); !ok) return std::unexpected(ok.error());
    for (auto& old : record.users)
        if (old.cn == user) old.revoked = true;  // a re-issue: the old certificate stops working
    UserCert cert;
    cert.cn = std::string(user);
    cert.role = std::string(role);
    cert.serial = info->serial;
    cert.not_after = rfc3339(info->not_after);
    cert.issued_at = now_rfc3339();
    record.users.push_back(cert);
    return cert;
}

UserCertService::UserCertService(MachineService& machines) : m_machines(machines) {}

Result<UserCert> UserCertService::issue(std::string_view machine, std::string_view user,
                                        const IssueOptions& options) const {
    MachineLogScope log_scope{std::string(machine)};
    if (auto ok = validate_user_cn(user); !ok) return std::unexpected(ok.error());
    if (auto ok = validate_role(options.role); !ok) return std::unexpected(ok.error());
    if (auto ok = validate_days(options.days); !ok) return std::unexpected(ok.error());
    const Store& store = m_machines.store();
    UserCert cert;
    {
        auto lock = lock_machine(store, machine);
        if (!lock) return std::unexpected(lock.error());
        auto record = store.load(machine);
        if (!record) return std::unexpected(record.error());
        spdlog::info("Issuing a certificate for {} from {}'s CA...", user, machine);
        auto issued = issue_user_cert_into(store, *record, user, options.role, options.days);
        if (!issued) return std::unexpected(issued.error());
        if (auto ok = store.save(*record); !ok) return std::unexpected(ok.error());
        cert = *issued;
    }
    if (!options.provision) return cert;
    if (auto ok = update_host(m_machines, machine, options.provision_options,
                              "the certificate of " + std::string(user) + " was issued");
        !ok)
        return std::unexpected(ok.error());
    return cert;
}

Result<std::vector<UserCert>> UserCertService::list(std::string_view machine) const {
    auto opened = m_machines.open(machine);
    if (!opened) return std::unexpected(opened.error());
    return opened->record.users;
}

Result<void> UserCertService::revoke(std::string_view machine, std::string_view user,
                                     const ProvisionOptions& options) const {
    MachineLogScope log_scope{std::string(machine)};
    if (auto ok = validate_user_cn(user); !ok) return ok;
    const Store& store = m_machines.store();
    {
        auto lock = lock_machine(store, machine);
        if (!lock) return std::unexpected(lock.error());
        auto record = store.load(machine);
        if (!record) return std::unexpected(record.error());
        auto& users = record->users;
        if (std::none_of(users.begin(), users.end(), [&](const UserCert& u) { return u.cn == user; }))
            return fail_kind(ErrorKind::NotFound,
                             "machine \"" + std::string(machine) + "\" has no certificate for user \"" +
                                 std::string(user) + "\"",
                             "`berth certs ls " + std::string(machine) + "` lists its users");
        for (auto& u : users)
            if (u.cn == user) u.revoked = true;
        if (auto ok = store.save(*record); !ok) return ok;
        // The key is of no use any more: it goes, so no bundle can hand it out.
        std::error_code ec;
        std::filesystem::remove_all(user_cert_dir(store, machine, user), ec);
        spdlog::info("Revoked the certificates of {} on {}", user, machine);
    }
    return update_host(m_machines, machine, options, "the certificates of " + std::string(user) + " were revoked");
}

}  // namespace berth
