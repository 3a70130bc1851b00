#pragma once
/// Per-person client certificates from a machine's own CA (`berth certs issue|ls|revoke`), and
/// the bundle that hands one person what they need (`berth bundle`). A user's certificate has
/// CN=<user>; the machine's authz policy gives that CN its role (restricted unless said), so a
/// student's certificate opens only that student's machine and gives no root on it. dockerd has
/// no CRL option: a revoked certificate's serial goes to the host's berth-authz, which refuses
/// every request made with it.

#include <berth/core/error.h>
#include <berth/service/machine_service.h>
#include <berth/store/machine_record.h>

#include <filesystem>
#include <string>
#include <vector>

namespace berth {

struct IssueOptions {
    std::string role = "restricted";  ///< restricted | admin
    int days = 0;                     ///< 0 = the machine's leaf_days
    bool provision = true;            ///< update the host's policy now (false: the next provision does)
    ProvisionOptions provision_options;
};

/// A CN berth accepts for a user: 1-64 characters of [A-Za-z0-9._@-], not starting with '-' or '.',
/// and not the owner's "berth client for ..." (Usage error otherwise).
[[nodiscard]] Result<void> validate_user_cn(std::string_view cn);

/// CreateRequest::users checked before create makes anything: each CN valid and given once, each
/// role restricted or admin, days 0 to 825 (Usage errors).
[[nodiscard]] Result<void> validate_create_users(const std::vector<CreateUser>& users);

/// machines/NAME/users/USER: the user's cert.pem and key.pem (0600; the directory 0700).
[[nodiscard]] std::filesystem::path user_cert_dir(const Store& store, std::string_view machine, std::string_view user);

/// Issues CN=user (role, days: 0 = the record's leaf days) from the machine's CA in `store` into
/// user_cert_dir, revokes the user's earlier certificates in `record` and adds the new one to it.
/// The caller holds the machine's lock and saves the record; nothing reaches the host here.
[[nodiscard]] Result<UserCert> issue_user_cert_into(const Store& store, MachineRecord& record, std::string_view user,
                                                    std::string_view role, int days);

class UserCertService {
public:
    explicit UserCertService(MachineService& machines);
    /// Issues (or re-issues: the old serial is revoked) CN=user from the machine's CA, stores it in
    /// machines/NAME/users/USER/ (cert.pem, key.pem; 0600), records it, and updates the host's policy.
    [[nodiscard]] Result<UserCert> issue(std::string_view machine, std::string_view user,
                                         const IssueOptions& options) const;
    [[nodiscard]] Result<std::vector<UserCert>> list(std::string_view machine) const;
    /// Marks the user's certificates revoked and updates the host, which then refuses them.
    [[nodiscard]] Result<void> revoke(std::string_view machine, std::string_view user,
                                      const ProvisionOptions& options) const;

private:
    MachineService& m_machines;
};

/// What `berth bundle` writes: a .tar.gz (0600) with ca.pem, cert.pem, key.pem, env scripts per
/// shell (env.sh, env.fish, env.ps1, env.cmd, env.csh, env.el: each sets DOCKER_CERT_PATH to the
/// directory it is in), a `docker context import` file (context.tar) and README.txt, all in one
/// top directory NAME-USER/ (NAME/ for the owner's). Never a CA key or a server key. `user` "" =
/// the machine's own client certificate; a revoked or unknown user is an error. Written atomically.
[[nodiscard]] Result<void> write_bundle(MachineService& machines, std::string_view machine, std::string_view user,
                                        const std::filesystem::path& out);

/// Docker CLI contexts (`--context`, `berth context NAME`): written into $DOCKER_CONFIG (else
/// ~/.docker)/contexts the way `docker context create` lays them out, named after the machine and
/// marked as berth's, so `rm` removes only contexts berth wrote.
[[nodiscard]] Result<std::filesystem::path> write_docker_context(MachineService& machines, std::string_view machine);
/// Removes the machine's context if berth wrote it; returns whether one was removed.
[[nodiscard]] Result<bool> remove_docker_context(std::string_view machine);
/// The same, with $DOCKER_CONFIG and $HOME looked up through `env`.
[[nodiscard]] Result<bool> remove_docker_context(std::string_view machine, const GetEnv& env);
/// The directory the docker CLI keeps its contexts in: $DOCKER_CONFIG/contexts, else ~/.docker/contexts.
[[nodiscard]] Result<std::filesystem::path> docker_contexts_dir(const GetEnv& env);

}  // namespace berth
