#pragma once
/// The packages step: Docker (docker.io or docker-ce on Debian and Ubuntu, moby-engine or
/// docker-ce on the RHEL family), the security module (apparmor, or container-selinux), auditd
/// and nftables. Installing comes first and changes the facts (dockerd's path, Docker's files), so
/// the Provisioner reads them again after an install; a check-only run reports what is missing and
/// compares the files against the facts as they are.

#include <berth/provision/os_release.h>
#include <berth/provision/provisioner.h>
#include <berth/provision/step.h>

#include <string>
#include <string_view>
#include <vector>

namespace berth {

/// Docker's repository signing key (docs.docker.com), the only key the docker-ce install trusts.
inline constexpr const char* k_docker_key_fingerprint = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88";

/// The shell function `berth_docker_key FILE` of the docker-ce install: it succeeds when FILE
/// holds exactly one primary key and its fingerprint is `fingerprint` (read with gpg --show-keys
/// in a throw-away GNUPGHOME, importing nothing). One line, ending in a newline.
[[nodiscard]] std::string docker_key_check(std::string_view fingerprint);

/// The packages `family` needs for `engine`, the Docker package first.
[[nodiscard]] std::vector<std::string> package_names(OsFamily family, const EngineConfig& engine);

/// How long apt's package lists count as fresh: an install skips `apt-get update` when berth (or
/// apt's own daily job) updated them this recently and no source changed since.
inline constexpr int k_apt_lists_fresh_minutes = 360;

/// The host paths the Debian install script touches besides apt's own; a test points them into a
/// scratch directory.
struct InstallPaths {
    /// Debian's policy-rc.d: while berth's install runs it refuses every start and restart of
    /// Docker's units, so dockerd first starts when berth has written its configuration.
    std::string policy_rc_d = "/usr/sbin/policy-rc.d";
    /// Touched by berth after each successful `apt-get update`.
    std::string lists_stamp = "/var/lib/berth/apt-lists-updated";
    /// Touched by apt's daily job (apt.systemd.daily) after a successful update.
    std::string periodic_stamp = "/var/lib/apt/periodic/update-success-stamp";
    /// apt's sources: a list or key newer than the stamp means the lists are not fresh.
    std::vector<std::string> sources = {"/etc/apt/sources.list", "/etc/apt/sources.list.d", "/etc/apt/keyrings"};
};

/// The policy-rc.d berth puts in place during a Debian install: exit 101 (do not run) for docker,
/// docker.service and docker.socket, whatever the action; any other unit is left to the policy-rc.d
/// that was there before (kept at `saved`), or allowed. One line per shell line, ending in '\n'.
[[nodiscard]] std::string docker_hold_policy(const std::string& saved);

class PackagesStep final : public Step {
public:
    /// `upgrade` installs the Docker package again even when it is there (berth upgrade).
    PackagesStep(OsFamily family, EngineConfig engine, bool upgrade, InstallPaths paths = {});

    [[nodiscard]] std::string name() const override { return "packages"; }
    /// A line per package that is missing, at another version than the pin, or to be upgraded.
    [[nodiscard]] Drift check(const Facts& facts) const override;
    /// The install script (apt-get or dnf, Docker's repository first for docker-ce) and the
    /// packages it installs; docker restarts after an install (or starts: on Debian the package's
    /// own start is held back, see InstallPaths::policy_rc_d, and dnf starts nothing).
    /// On Debian, `apt-get update` runs unless the lists are fresh (k_apt_lists_fresh_minutes;
    /// never for an upgrade); an install from fresh lists that fails updates them and tries again.
    void apply(const Facts& facts, Changes& changes) const override;

private:
    [[nodiscard]] std::vector<std::string> to_install(const Facts& facts) const;
    [[nodiscard]] std::string install_script(const std::vector<std::string>& args) const;
    [[nodiscard]] std::string apt_install_script(const std::string& args) const;

    OsFamily m_family;
    EngineConfig m_engine;
    bool m_upgrade;
    std::string m_docker_package;
    InstallPaths m_paths;
};

}  // namespace berth
