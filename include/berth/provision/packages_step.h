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
#include <vector>

namespace berth {

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
