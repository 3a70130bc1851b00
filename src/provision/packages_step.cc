#include <berth/provision/packages_step.h>

#include "join.h"

#include <algorithm>

namespace berth {

std::vector<std::string> package_names(OsFamily family, const EngineConfig& engine) {
    std::vector<std::string> pkgs;
    if (family == OsFamily::Debian) {
        if (engine.install == "docker-ce") pkgs = {"docker-ce", "docker-ce-cli", "containerd.io"};
        else pkgs = {"docker.io"};
        pkgs.insert(pkgs.end(), {"apparmor", "auditd", "nftables"});
    } else {
        if (engine.install == "docker-ce") pkgs = {"docker-ce", "docker-ce-cli", "containerd.io"};
        else pkgs = {"moby-engine"};
        pkgs.insert(pkgs.end(), {"audit", "nftables", "container-selinux"});
    }
    return pkgs;
}

PackagesStep::PackagesStep(OsFamily family, EngineConfig engine, bool upgrade)
    : m_family(family), m_engine(std::move(engine)), m_upgrade(upgrade),
      m_docker_package(package_names(family, m_engine).front()) {}

std::vector<std::string> PackagesStep::to_install(const Facts& facts) const {
    std::vector<std::string> missing;
    for (const auto& p : package_names(m_family, m_engine)) {
        const std::string have = facts.package_version(p);
        const bool pinned_other = p == m_docker_package && !m_engine.version.empty() && !have.empty() &&
                                  have != m_engine.version;
        if (have.empty() || pinned_other) missing.push_back(p);
    }
    if (m_upgrade && std::find(missing.begin(), missing.end(), m_docker_package) == missing.end())
        missing.insert(missing.begin(), m_docker_package);
    return missing;
}

Drift PackagesStep::check(const Facts& facts) const {
    Drift drift;
    for (const auto& p : to_install(facts)) {
        const std::string have = facts.package_version(p);
        if (have.empty()) drift.push_back("package " + p + " is not installed");
        else if (p == m_docker_package && !m_engine.version.empty() && have != m_engine.version)
            drift.push_back("package " + p + " is " + have + ", not the pinned " + m_engine.version);
        else drift.push_back("package " + p + " is to be upgraded");
    }
    return drift;
}

void PackagesStep::apply(const Facts& facts, Changes& changes) const {
    const auto missing = to_install(facts);
    if (missing.empty()) return;
    const bool debian = m_family == OsFamily::Debian;
    std::vector<std::string> args;
    for (const auto& p : missing) {
        if (p == m_docker_package && !m_engine.version.empty())
            args.push_back(debian ? p + "=" + m_engine.version : p + "-" + m_engine.version);
        else args.push_back(p);
    }
    changes.install_script = install_script(args);
    changes.installed = args;
    changes.restart_docker = true;
}

std::string PackagesStep::install_script(const std::vector<std::string>& packages) const {
    // Each argument one quoted word: a version pin comes from a flag and a saved record.
    const std::string args = join_shell_words(packages);
    std::string script;
    if (m_family == OsFamily::Debian) {
        script = "export DEBIAN_FRONTEND=noninteractive\n";
        if (m_engine.install == "docker-ce")
            script += ". /etc/os-release\n"
                      "install -m 0755 -d /etc/apt/keyrings\n"
                      "[ -s /etc/apt/keyrings/docker.asc ] || { apt-get -o Acquire::Retries=5 update -q && "
                      "apt-get install -y -q --no-install-recommends ca-certificates curl && "
                      "curl -fsSL \"https://download.docker.com/linux/$ID/gpg\" -o /etc/apt/keyrings/docker.asc; }\n"
                      "echo \"deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] "
                      "https://download.docker.com/linux/$ID $VERSION_CODENAME stable\" > /etc/apt/sources.list.d/docker.list\n";
        script += "apt-get -o Acquire::Retries=5 -o DPkg::Lock::Timeout=300 update -q\n"
                  "apt-get -o Acquire::Retries=5 -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends " +
                  std::string(m_engine.version.empty() ? "" : "--allow-downgrades ") +
                  (m_upgrade ? "--only-upgrade " : "") + args + "\n";
        if (m_upgrade) {
            // --only-upgrade skips what is not installed yet; install the rest normally.
            script = "export DEBIAN_FRONTEND=noninteractive\n"
                     "apt-get -o Acquire::Retries=5 -o DPkg::Lock::Timeout=300 update -q\n"
                     "apt-get -o Acquire::Retries=5 -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends " +
                     args + "\n";
        }
    } else {
        if (m_engine.install == "docker-ce")
            script = ". /etc/os-release\n"
                     "repo=centos; [ \"$ID\" = fedora ] && repo=fedora\n"
                     "[ -f /etc/yum.repos.d/docker-ce.repo ] || curl -fsSL "
                     "\"https://download.docker.com/linux/$repo/docker-ce.repo\" -o /etc/yum.repos.d/docker-ce.repo\n";
        script += "dnf -y -q " + std::string(m_upgrade ? "upgrade " : "install ") + args + "\n";
    }
    return script;
}

}  // namespace berth
