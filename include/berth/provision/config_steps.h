#pragma once
/// The steps that write berth's configuration files, in the order they apply, and what follows
/// from each (the rules the hardening has always had):
///   DockerFilesStep  the TLS files, daemon.json, the dockerd drop-in: docker restarts when one
///                    was written; a unit drop-in also reloads systemd;
///   AuditRulesStep   the audit rules and the tmpfiles.d entry that makes /run/containerd at boot
///                    (created at once when written): the rules reloaded with augenrules when
///                    written or when the kernel holds fewer of them than the file (auditctl -D);
///                    auditd enabled and started when it is not active;
///   SshdStep         the sshd drop-in: sshd reloads when it was written, behind an `sshd -t`
///                    guard that takes a refused drop-in back (berth must never lock itself out);
///   FirewallStep     the nftables table and its unit: systemd reloads when the unit was written,
///                    the unit is enabled when it is not, and restarted (after `nft -c` checks the
///                    table) when either file was written or the unit is not active;
///   AuthzStep        berth-authz (the Docker authorization plugin), its policy and its socket and
///                    service units: systemd reloads when a unit was written; the socket is
///                    enabled and started when it is not (before docker restarts: Stage::Authz);
///                    a new program or service unit restarts berth-authz.service, a new policy
///                    or revocation list only reloads it (SIGHUP). Docker never restarts for the plugin's files.

#include <berth/provision/file_step.h>

#include <set>
#include <string>

namespace berth {

class DockerFilesStep final : public FileStep {
public:
    /// `unit_file`: the one of `files` that is a systemd unit drop-in ("" none): systemd reloads
    /// when it is written, not for the others (an EnvironmentFile is read as the unit starts).
    /// `reload_from`: digests of host files from which the change needs only a reload of a
    /// running dockerd (SIGHUP), not a restart: daemon.json's other swarm variant, which
    /// differs in live-restore alone, an option dockerd reloads.
    DockerFilesStep(std::string name, std::vector<ManagedFile> files, std::string unit_file = {},
                    std::set<std::string> reload_from = {});

protected:
    void activate(const Facts& facts, const std::vector<std::string>& written,
                  Changes& changes) const override;

private:
    std::string m_unit_file;
    std::set<std::string> m_reload_from;
};

class AuditRulesStep final : public FileStep {
public:
    AuditRulesStep(ManagedFile tmpfiles, ManagedFile rules);
    /// The `-w` lines of a rules file.
    [[nodiscard]] static int count_watches(const std::string& rules);

protected:
    /// auditd not active; fewer rules loaded in the kernel than the file holds (`auditctl -D`).
    [[nodiscard]] Drift unit_drift(const Facts& facts) const override;
    void activate(const Facts& facts, const std::vector<std::string>& written,
                  Changes& changes) const override;

private:
    [[nodiscard]] bool rules_unloaded(const Facts& facts) const;
    int m_watches = 0;
};

class SshdStep final : public FileStep {
public:
    /// `debian`: the unit is "ssh" (Debian, Ubuntu), not "sshd".
    SshdStep(ManagedFile dropin, bool debian);

protected:
    void activate(const Facts& facts, const std::vector<std::string>& written,
                  Changes& changes) const override;

private:
    bool m_debian;
};

class FirewallStep final : public FileStep {
public:
    FirewallStep(ManagedFile table, ManagedFile unit);

protected:
    [[nodiscard]] Drift unit_drift(const Facts& facts) const override;
    void activate(const Facts& facts, const std::vector<std::string>& written,
                  Changes& changes) const override;
};

class AuthzStep final : public FileStep {
public:
    AuthzStep(ManagedFile binary, ManagedFile policy, ManagedFile revoked, ManagedFile socket_unit,
              ManagedFile service_unit);

protected:
    [[nodiscard]] Drift unit_drift(const Facts& facts) const override;
    void activate(const Facts& facts, const std::vector<std::string>& written,
                  Changes& changes) const override;
};

}  // namespace berth
