#include <berth/provision/audit_host.h>

#include <berth/core/escape.h>
#include <berth/provision/host_paths.h>

#include "join.h"

#include <algorithm>
#include <charconv>

namespace berth {

std::vector<std::string> audit_stat_paths() {
    std::vector<std::string> paths = {
        "/etc/docker", k_ca_path, k_server_cert_path, k_server_key_path, "/var/run/docker.sock",
        "/run/docker.sock", "/run/containerd/containerd.sock", "/lib/systemd/system/docker.service",
        "/usr/lib/systemd/system/docker.service", "/lib/systemd/system/docker.socket",
        "/usr/lib/systemd/system/docker.socket", k_daemon_json, "/etc/default/docker", "/etc/sysconfig/docker",
    };
    for (const auto& p : k_audit_candidates)
        if (std::find(paths.begin(), paths.end(), p) == paths.end()) paths.push_back(p);
    return paths;
}

namespace {

/// The SUID/SGID search and the capability search in `sources`; names with a newline are
/// printed with '?' in its place, one name a line.
std::string bind_search(const std::string& marker, const std::vector<std::string>& sources) {
    std::string s = "echo " + marker + "' suid'\n";
    if (sources.empty()) return s + "echo " + marker + "' caps'\n";
    const std::string paths = join_shell_words(sources);
    s += "find " + paths + " -xdev -type f \\( -perm -4000 -o -perm -2000 \\) -print0 2>/dev/null | "
         "tr '\\n\\0' '?\\n' | head -n 500\n";
    s += "echo " + marker + "' caps'\n";
    s += "if command -v getcap >/dev/null 2>&1; then echo " + marker + "' getcap'; find " + paths +
         " -xdev -type f -print0 2>/dev/null | xargs -0 -r getcap 2>/dev/null | head -n 500; fi\n";
    return s;
}

}  // namespace

std::string audit_script(std::string_view nonce, const std::vector<std::string>& bind_sources) {
    const std::string m = shell_quote("@" + std::string(nonce));
    std::string s = "set +e\n";
    s += "echo " + m + "' auditctl'\n";
    s += "if command -v auditctl >/dev/null 2>&1; then echo " + m + "' have-auditctl'; auditctl -l 2>&1; fi\n";
    s += "echo " + m + "' docker-root'\n";
    s += "if mountpoint -q /var/lib/docker 2>/dev/null; then echo mounted; else echo not-mounted; fi\n";
    s += "echo " + m + "' docker-group'; getent group docker\n";
    s += "echo " + m + "' stat'\n";
    s += "for f in " + join_shell_words(audit_stat_paths()) +
         "; do [ -e \"$f\" ] && stat -c '%a %U:%G %n' \"$f\"; done\n";
    s += "[ -d /etc/docker/certs.d ] && find /etc/docker/certs.d -type f -exec stat -c '%a %U:%G %n' {} + 2>/dev/null\n";
    s += "echo " + m + "' daemon-json'\n";
    s += "[ -f " + shell_quote(k_daemon_json) + " ] && echo " + m + "' have-daemon-json' && cat " +
         shell_quote(k_daemon_json) + "\n";
    s += "echo " + m + "' dockerd-args'\n";
    s += "p=$(systemctl show -p MainPID --value docker 2>/dev/null)\n";
    s += "[ -n \"$p\" ] && [ \"$p\" != 0 ] && tr '\\n\\0' '?\\n' < \"/proc/$p/cmdline\"\n";
    s += "echo " + m + "' exec-start'; systemctl show docker -p ExecStart --value 2>/dev/null\n";
    s += bind_search(m, bind_sources);
    s += "echo " + m + "' end'\n";
    return s;
}

namespace {

/// "<octal mode> <user:group> <path>", as `stat -c '%a %U:%G %n'` prints; false if it is not.
bool parse_stat_line(std::string_view line, AuditHost& host) {
    const auto first = line.find(' ');
    if (first == std::string_view::npos) return false;
    const auto second = line.find(' ', first + 1);
    if (second == std::string_view::npos || second + 1 >= line.size()) return false;
    const std::string_view mode = line.substr(0, first);
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(mode.data(), mode.data() + mode.size(), value, 8);
    if (mode.empty() || ec != std::errc() || ptr != mode.data() + mode.size() || value > 07777) return false;
    host.files[std::string(line.substr(second + 1))] = {value, std::string(line.substr(first + 1, second - first - 1))};
    return true;
}

/// "docker:x:999:alice,bob" (getent group docker).
void parse_group_line(std::string_view line, AuditHost& host) {
    if (line.empty()) return;
    host.docker_group = true;
    std::string_view rest = line;
    for (int i = 0; i < 3 && !rest.empty(); ++i) {
        const auto colon = rest.find(':');
        rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    }
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        if (auto user = rest.substr(0, comma); !user.empty()) host.docker_group_members.emplace_back(user);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
}

void parse_line(std::string_view section, std::string_view line, AuditHost& host) {
    if (section == "auditctl") {
        if (!line.empty()) host.audit_rules.emplace_back(line);
    } else if (section == "docker-root") {
        if (line == "mounted" || line == "not-mounted") host.docker_root_mounted = line == "mounted";
    } else if (section == "docker-group") {
        parse_group_line(line, host);
    } else if (section == "stat") {
        (void)parse_stat_line(line, host);
    } else if (section == "daemon-json") {
        if (host.daemon_json) *host.daemon_json += std::string(line) + "\n";
    } else if (section == "dockerd-args") {
        if (!line.empty()) host.dockerd_args.emplace_back(line);
    } else if (section == "exec-start") {
        host.exec_start += (host.exec_start.empty() ? "" : "\n") + std::string(line);
    } else if (section == "suid") {
        if (!line.empty()) host.suid_files.emplace_back(line);
    } else if (section == "caps") {
        if (!line.empty() && host.getcap) host.cap_files.emplace_back(line);
    }
}

}  // namespace

Result<AuditHost> parse_audit_output(std::string_view output, std::string_view nonce) {
    AuditHost host;
    const std::string marker = "@" + std::string(nonce) + " ";
    std::string section;
    bool ended = false;
    while (!output.empty() && !ended) {
        const auto nl = output.find('\n');
        std::string_view line = output.substr(0, nl);
        output = nl == std::string_view::npos ? std::string_view() : output.substr(nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!nonce.empty() && line.starts_with(marker)) {
            const std::string_view name = line.substr(marker.size());
            if (name == "have-auditctl") host.auditctl = true;
            else if (name == "have-daemon-json") host.daemon_json = std::string();
            else if (name == "getcap") host.getcap = true;
            else section = std::string(name);
            ended = name == "end";
            continue;
        }
        parse_line(section, line, host);
    }
    if (!ended)
        return fail("the host's answer to the audit was cut short", "run `berth audit` again; if it persists, "
                                                                   "check the machine with `berth ssh NAME`");
    return host;
}

}  // namespace berth
