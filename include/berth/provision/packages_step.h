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

class PackagesStep final : public Step {
public:
    /// `upgrade` installs the Docker package again even when it is there (berth upgrade).
    PackagesStep(OsFamily family, EngineConfig engine, bool upgrade);

    [[nodiscard]] std::string name() const override { return "packages"; }
    /// A line per package that is missing, at another version than the pin, or to be upgraded.
    [[nodiscard]] Drift check(const Facts& facts) const override;
    /// The install script (apt-get or dnf, Docker's repository first for docker-ce) and the
    /// packages it installs; docker restarts after an install.
    void apply(const Facts& facts, Changes& changes) const override;

private:
    [[nodiscard]] std::vector<std::string> to_install(const Facts& facts) const;
    [[nodiscard]] std::string install_script(const std::vector<std::string>& args) const;

    OsFamily m_family;
    EngineConfig m_engine;
    bool m_upgrade;
    std::string m_docker_package;
};

}  // namespace berth
