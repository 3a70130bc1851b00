#include <berth/provision/audit_checks.h>

#include <berth/provision/host_paths.h>

#include "audit_util.h"

#include <algorithm>
#include <set>
#include <tuple>

namespace berth {

std::string_view to_string(AuditStatus status) {
    switch (status) {
        case AuditStatus::Pass: return "PASS";
        case AuditStatus::Warn: return "WARN";
        case AuditStatus::Info: return "INFO";
    }
    return "INFO";
}

bool audit_passed(const std::vector<AuditResult>& results) {
    return std::none_of(results.begin(), results.end(),
                        [](const AuditResult& r) { return r.scored && r.status == AuditStatus::Warn; });
}

using namespace audit_detail;

namespace {

/// The words of `line`, split at blanks.
std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    while (!line.empty()) {
        const auto start = line.find_first_not_of(" \t");
        if (start == std::string_view::npos) break;
        line.remove_prefix(start);
        const auto end = line.find_first_of(" \t");
        out.push_back(line.substr(0, end));
        line = end == std::string_view::npos ? std::string_view() : line.substr(end);
    }
    return out;
}

/// A rule of `auditctl -l` that watches `path`: "-w PATH ..." or "-F path=PATH" / "-F dir=PATH".
bool watched(const std::vector<std::string>& rules, const std::string& path) {
    auto same = [&path](std::string_view p) {  // a directory may be listed with a trailing '/'
        if (p.size() > 1 && p.ends_with("/")) p.remove_suffix(1);
        return p == path;
    };
    for (const auto& rule : rules) {
        const auto w = words(rule);
        for (size_t i = 0; i + 1 < w.size(); ++i) {
            if (w[i] == "-w" && same(w[i + 1])) return true;
            if (w[i] == "-F" && w[i + 1].starts_with("path=") && same(w[i + 1].substr(5))) return true;
            if (w[i] == "-F" && w[i + 1].starts_with("dir=") && same(w[i + 1].substr(4))) return true;
        }
    }
    return false;
}

/// CIS 1.1.3-1.1.18: the id, what is watched and the paths it is found at.
const std::vector<std::tuple<const char*, const char*, std::vector<std::string>>>& audit_rule_checks() {
    static const std::vector<std::tuple<const char*, const char*, std::vector<std::string>>> table = {
        {"1.1.3", "dockerd", {"/usr/bin/dockerd", "/usr/sbin/dockerd"}},
        {"1.1.4", "/run/containerd", {"/run/containerd"}},
        {"1.1.5", "/var/lib/docker", {"/var/lib/docker"}},
        {"1.1.6", "/etc/docker", {"/etc/docker"}},
        {"1.1.7", "docker.service", {"/lib/systemd/system/docker.service", "/usr/lib/systemd/system/docker.service"}},
        {"1.1.8", "containerd.sock", {"/run/containerd/containerd.sock"}},
        {"1.1.9", "docker.socket", {"/lib/systemd/system/docker.socket", "/usr/lib/systemd/system/docker.socket"}},
        {"1.1.10", "/etc/default/docker", {"/etc/default/docker"}},
        {"1.1.11", "/etc/docker/daemon.json", {"/etc/docker/daemon.json"}},
        {"1.1.12", "/etc/containerd/config.toml", {"/etc/containerd/config.toml"}},
        {"1.1.13", "/etc/sysconfig/docker", {"/etc/sysconfig/docker"}},
        {"1.1.14", "/usr/bin/containerd", {"/usr/bin/containerd"}},
        {"1.1.15", "/usr/bin/containerd-shim", {"/usr/bin/containerd-shim"}},
        {"1.1.16", "/usr/bin/containerd-shim-runc-v1", {"/usr/bin/containerd-shim-runc-v1"}},
        {"1.1.17", "/usr/bin/containerd-shim-runc-v2", {"/usr/bin/containerd-shim-runc-v2"}},
        {"1.1.18", "runc", {"/usr/bin/runc", "/usr/sbin/runc"}},
    };
    return table;
}

AuditResult audit_rule_check(const AuditHost& host, const char* id, const char* what,
                             const std::vector<std::string>& paths) {
    const std::string title = std::string("audit rule for ") + what;
    std::vector<std::string> present, missing;
    for (const auto& p : paths)
        if (host.files.contains(p)) (watched(host.audit_rules, p) ? present : missing).push_back(p);
    if (present.empty() && missing.empty())
        return {id, AuditStatus::Info, true, title, "not on this host", ""};
    const std::string remedy = std::string("load berth's rules (") + k_audit_rules + "): " + k_fix;
    if (!host.auditctl) return result(id, true, title, false, "auditctl is not installed (auditd)", remedy);
    if (!missing.empty()) return result(id, true, title, false, "no rule watches " + listed(missing), remedy);
    return result(id, true, title, true, "watched: " + listed(present), "");
}

}  // namespace

std::vector<AuditResult> host_checks(const AuditHost& host) {
    std::vector<AuditResult> out;
    const bool mounted = host.docker_root_mounted.value_or(false);
    out.push_back(result("1.1.1", true, "/var/lib/docker on a filesystem of its own", mounted,
                         host.docker_root_mounted ? (mounted ? "a mount point" : "on the root filesystem")
                                                  : "not reported",
                         "give /var/lib/docker a disk or LVM volume of its own (berth cannot move it for you)"));
    AuditResult group{"1.1.2", AuditStatus::Pass, false, "who can reach the Docker socket (group docker)", "", ""};
    if (!host.docker_group) group.detail = "no group docker: only root";
    else if (host.docker_group_members.empty()) group.detail = "group docker has no members: only root";
    else {
        group.status = AuditStatus::Info;
        group.detail = "root and group docker: " + listed(host.docker_group_members) + " (each is root on the host)";
        group.remediation = "keep only trusted users in group docker (gpasswd -d USER docker)";
    }
    out.push_back(std::move(group));
    for (const auto& [id, what, paths] : audit_rule_checks()) out.push_back(audit_rule_check(host, id, what, paths));
    return out;
}

}  // namespace berth
