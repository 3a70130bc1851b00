#include <berth/provision/host_steps.h>

#include <berth/provision/host_paths.h>
#include <berth/transport/session.h>

namespace berth {

HostnameStep::HostnameStep(std::string hostname) : m_hostname(std::move(hostname)) {}

Drift HostnameStep::check(const Facts& facts) const {
    if (m_hostname.empty() || facts.hostname == m_hostname) return {};
    return {"host name is " + facts.hostname + ", not " + m_hostname};
}

void HostnameStep::apply(const Facts& facts, Changes& changes) const {
    if (check(facts).empty()) return;
    const std::string& h = m_hostname;
    // The name is quoted once into a shell variable and reaches every command as "$h" (awk reads
    // it from its environment: a value is never part of a sed or awk program).
    changes.prepare += "h=" + shell_quote(h) + "\n"
                       "hostnamectl set-hostname \"$h\" 2>/dev/null || { printf '%s\\n' \"$h\" > /etc/hostname; hostname \"$h\"; }\n"
                       "h=\"$h\" awk '/^127\\.0\\.1\\.1[ \\t]/ { if (!done) print \"127.0.1.1 \" ENVIRON[\"h\"]; done = 1; next } "
                       "{ print } END { if (!done) print \"127.0.1.1 \" ENVIRON[\"h\"] }' /etc/hosts > /etc/hosts.berth && "
                       "cat /etc/hosts.berth > /etc/hosts && rm -f /etc/hosts.berth\n";
    changes.changed.push_back("hostname " + h);
}

Drift SubidsStep::check(const Facts& facts) const {
    Drift drift;
    if (!facts.subuid) drift.push_back("/etc/subuid is missing");
    if (!facts.subgid) drift.push_back("/etc/subgid is missing");
    return drift;
}

void SubidsStep::apply(const Facts& facts, Changes& changes) const {
    if (check(facts).empty()) return;
    changes.prepare += "touch /etc/subuid /etc/subgid && chmod 0644 /etc/subuid /etc/subgid\n";
    changes.changed.push_back("/etc/subuid, /etc/subgid");
}

Drift AllowListDirStep::check(const Facts& facts) const {
    if (facts.dirs.contains(k_bind_allow_dir)) return {};
    return {std::string(k_bind_allow_dir) + " is missing"};
}

void AllowListDirStep::apply(const Facts& facts, Changes& changes) const {
    if (check(facts).empty()) return;
    changes.prepare += "install -d -m 0755 -o root -g root " + shell_quote(k_bind_allow_dir) + "\n";
    changes.changed.push_back(k_bind_allow_dir);
}

DockerServiceStep::DockerServiceStep(bool debian) : m_debian(debian) {}

Drift DockerServiceStep::check(const Facts& facts) const {
    Drift drift;
    if (m_debian && !facts.unit_active("apparmor")) drift.push_back("unit apparmor is not active");
    if (!facts.unit_enabled("docker")) drift.push_back("unit docker is not enabled");
    if (!facts.unit_active("docker")) drift.push_back("unit docker is not active");
    return drift;
}

void DockerServiceStep::apply(const Facts& facts, Changes& changes) const {
    if (m_debian && !facts.unit_enabled("apparmor")) changes.enable("apparmor");
    if (m_debian && !facts.unit_active("apparmor")) changes.activate(Stage::Services, "systemctl start apparmor\n");
    if (!facts.unit_enabled("docker")) changes.enable("docker");
    if (!facts.unit_active("docker")) changes.restart_docker = true;
}

}  // namespace berth
