#include <berth/provision/packages_step.h>

#include "join.h"

#include <algorithm>

namespace berth {

std::string docker_key_check(std::string_view fingerprint) {
    return std::string("berth_docker_key() { h=$(mktemp -d) || return 1; "
                       "f=$(gpg --homedir \"$h\" --batch --show-keys --with-colons \"$1\" 2>/dev/null | "
                       "awk -F: '$1==\"pub\"{getline; print $10}'); rm -rf \"$h\"; [ \"$f\" = ") +
           std::string(fingerprint) + " ]; }\n";
}

namespace {

/// Fetches Docker's key into KEY unless it is there, then checks it: a key that is not Docker's
/// (a fresh download is deleted) stops the script before anything trusts it.
std::string fetch_docker_key(const std::string& key, const std::string& url) {
    return "[ -s " + key + " ] || { curl -fsSL \"" + url + "\" -o " + key + ".new && berth_docker_key " + key +
           ".new && mv " + key + ".new " + key + "; } || { rm -f " + key +
           ".new; echo \"berth: could not fetch Docker's repository key from " + url + " or it is not the key " +
           k_docker_key_fingerprint + ": not trusting it\" >&2; exit 1; }\n"
           "berth_docker_key " + key + " || { echo \"berth: " + key + " is not Docker's repository key " +
           k_docker_key_fingerprint + ": remove it, then provision again\" >&2; exit 1; }\n";
}

/// Debian and Ubuntu: Docker's apt repository, signed-by the checked key.
std::string docker_apt_repo() {
    return ". /etc/os-release\n"
           "install -m 0755 -d /etc/apt/keyrings\n"
           "command -v curl >/dev/null && command -v gpg >/dev/null || { apt-get -o Acquire::Retries=5 update -q && "
           "apt-get install -y -q --no-install-recommends ca-certificates curl gpg; } || exit 1\n" +
           docker_key_check(k_docker_key_fingerprint) + fetch_docker_key("/etc/apt/keyrings/docker.asc", "https://download.docker.com/linux/$ID/gpg") +
           "echo \"deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] "
           "https://download.docker.com/linux/$ID $VERSION_CODENAME stable\" > /etc/apt/sources.list.d/docker.list\n";
}

/// The RHEL family: the key is checked and imported into rpm before dnf runs, and the repository
/// file points gpgkey at that checked copy, so that `dnf -y` has no other key it could import.
std::string docker_dnf_repo() {
    const std::string key = "/etc/pki/rpm-gpg/docker-ce.gpg";
    return ". /etc/os-release\n"
           "repo=centos; [ \"$ID\" = fedora ] && repo=fedora\n"
           "install -m 0755 -d /etc/pki/rpm-gpg\n" +
           docker_key_check(k_docker_key_fingerprint) + fetch_docker_key(key, "https://download.docker.com/linux/$repo/gpg") +
           "rpm --import " + key + " || exit 1\n"
           "[ -f /etc/yum.repos.d/docker-ce.repo ] || { curl -fsSL "
           "\"https://download.docker.com/linux/$repo/docker-ce.repo\" -o /etc/yum.repos.d/docker-ce.repo.new && "
           "mv /etc/yum.repos.d/docker-ce.repo.new /etc/yum.repos.d/docker-ce.repo; } || exit 1\n"
           "sed -i -e 's|^gpgkey=.*|gpgkey=file://" + key + "|' -e 's|^gpgcheck=.*|gpgcheck=1|' "
           "/etc/yum.repos.d/docker-ce.repo || exit 1\n";
}

}  // namespace

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

std::string docker_hold_policy(const std::string& saved) {
    return "#!/bin/sh\n"
           "# berth: Docker's units start once berth has configured them (removed after the install).\n"
           "[ \"$1\" = --quiet ] && shift\n"
           "case \"$1\" in docker|docker.service|docker.socket) exit 101 ;; esac\n"
           "[ -x " + shell_quote(saved) + " ] && exec " + shell_quote(saved) + " \"$@\"\n"
           "exit 0\n";
}

PackagesStep::PackagesStep(OsFamily family, EngineConfig engine, bool upgrade, InstallPaths paths)
    : m_family(family), m_engine(std::move(engine)), m_upgrade(upgrade),
      m_docker_package(package_names(family, m_engine).front()), m_paths(std::move(paths)) {}

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
    if (m_family == OsFamily::Debian) {
        std::string script = "export DEBIAN_FRONTEND=noninteractive\n";
        if (m_engine.install == "docker-ce" && !m_upgrade) script += docker_apt_repo();
        return script + apt_install_script(args);
    }
    std::string script = m_engine.install == "docker-ce" ? docker_dnf_repo() : "";
    return script + "dnf -y -q " + std::string(m_upgrade ? "upgrade " : "install ") + args + "\n";
}

std::string PackagesStep::apt_install_script(const std::string& args) const {
    const std::string policy = shell_quote(m_paths.policy_rc_d);
    const std::string saved = m_paths.policy_rc_d + ".berth-saved";
    const std::string stamp = shell_quote(m_paths.lists_stamp);
    std::string sources;
    for (const auto& s : m_paths.sources) sources += " " + shell_quote(s);
    // Docker's units are held back while dpkg runs (the package would start dockerd with its
    // defaults; berth starts it once, configured); a policy-rc.d that was there is kept and asked
    // about every other unit, and put back afterwards.
    std::string script =
        "if [ -e " + policy + " ] || [ -L " + policy + " ]; then mv -f " + policy + " " + shell_quote(saved) +
        " || exit 1; fi\n"
        "berth_unhold() { rm -f " + policy + "; if [ -e " + shell_quote(saved) + " ] || [ -L " + shell_quote(saved) +
        " ]; then mv -f " + shell_quote(saved) + " " + policy + "; fi; }\n"
        "trap berth_unhold EXIT\n"
        "printf '%s' " + shell_quote(docker_hold_policy(saved)) + " > " + policy + " && chmod 0755 " + policy +
        " || exit 1\n"
        "berth_apt() { apt-get -o Acquire::Retries=5 -o DPkg::Lock::Timeout=300 \"$@\"; }\n"
        "berth_update() { berth_apt update -q && mkdir -p \"$(dirname " + stamp + ")\" && touch " + stamp + "; }\n"
        // Fresh: updated within the window by berth or apt's daily job, and no source changed since.
        "berth_fresh() { for s in " + stamp + " " + shell_quote(m_paths.periodic_stamp) + "; do "
        "[ -f \"$s\" ] && [ -z \"$(find \"$s\" -mmin +" + std::to_string(k_apt_lists_fresh_minutes) + ")\" ] && "
        "[ -z \"$(find" + sources + " -newer \"$s\" 2>/dev/null)\" ] && return 0; done; return 1; }\n"
        // apt's status lines (APT::Status-Fd) go to stdout, read live for the progress bar
        // (AptStatusReader); its ordinary output goes to stderr, where a failure's tail is read.
        "berth_install() { berth_apt -o APT::Status-Fd=3 install -y -q --no-install-recommends " +
        std::string(m_engine.version.empty() || m_upgrade ? "" : "--allow-downgrades ") + args + " 3>&1 1>&2; }\n";
    if (m_upgrade) return script + "berth_update || exit 1\nberth_install\n";
    return script +
           "fresh=0; if berth_fresh; then fresh=1; else berth_update || exit 1; fi\n"
           "berth_install || { [ \"$fresh\" = 1 ] && echo 'berth: the install from the lists on the host failed; "
           "updating them and trying again' >&2 && berth_update && berth_install; }\n";
}

}  // namespace berth
