#include <berth/provision/facts.h>

#include <berth/provision/host_paths.h>

#include <berth/core/text.h>

#include "join.h"

#include <charconv>
#include <optional>
#include <sstream>
#include <string_view>

namespace berth {

std::string Facts::package_version(const std::string& package) const {
    auto it = packages.find(package);
    return it == packages.end() ? "" : it->second;
}

bool Facts::unit_active(const std::string& unit) const {
    auto it = units.find(unit);
    return it != units.end() && it->second.first == "active";
}

bool Facts::unit_enabled(const std::string& unit) const {
    auto it = units.find(unit);
    return it != units.end() && it->second.second == "enabled";
}

std::string facts_script(const std::vector<std::string>& packages) {
    std::string s = "set +e\n";
    s += "echo @os-release; cat /etc/os-release 2>/dev/null\n";
    s += "echo @hostname; hostname\n";
    // One dpkg-query for every package, one sha256sum and one stat for every file: each process
    // costs tens of milliseconds under emulation. The lines are those one call per item printed;
    // awk pairs them up (no file is written).
    s += "echo @packages\n";
    s += "set -- " + join_shell_words(packages) + "\n"
         "if command -v dpkg-query >/dev/null 2>&1; then\n"
         "  { for p in \"$@\"; do echo \"W $p\"; done\n"
         "    [ $# -gt 0 ] && dpkg-query -W -f='D ${Package} ${db:Status-Status} ${Version}\\n' \"$@\" 2>/dev/null; } |\n"
         "    awk '$1 == \"W\" {want[++n] = $2; next} $3 == \"installed\" {v[$2] = $4} "
         "END {for (i = 1; i <= n; i++) print want[i] (want[i] in v ? \" \" v[want[i]] : \"\")}'\n"
         "else\n"
         "  for p in \"$@\"; do v=$(rpm -q --qf '%{VERSION}-%{RELEASE}' \"$p\" 2>/dev/null) && echo \"$p $v\" || echo \"$p\"; done\n"
         "fi\n";
    s += "echo @files\n";
    s += "set --\nfor f in " + join_shell_words(managed_paths()) + "; do [ -f \"$f\" ] && set -- \"$@\" \"$f\"; done\n"
         "[ $# -gt 0 ] && { sha256sum -- \"$@\" | sed 's/^/S /'; stat -c 'T %n %a %U:%G' -- \"$@\"; } |\n"
         "  awk '$1 == \"S\" {h[$3] = $2; next} {print $2, h[$2], $3, $4}'\n";
    s += "echo @exists\n";
    s += "for f in " + join_shell_words(k_audit_candidates) + "; do [ -e \"$f\" ] && echo \"$f\"; done\n";
    s += "echo @units\n";
    // is-active answers for every unit in one call, a line each; is-enabled stops at the first
    // unit that does not exist, so it is asked one unit at a time.
    s += "set -- docker auditd apparmor berth-firewall berth-authz.socket\n"
         "systemctl is-active \"$@\" 2>/dev/null | for u in \"$@\"; do\n"
         "  a=; read -r a; echo \"$u $a $(systemctl is-enabled $u 2>/dev/null)\"\n"
         "done\n";
    s += "echo @sshd-ports; sshd -T 2>/dev/null | awk '$1==\"port\"{print $2}'\n";
    s += "echo @subid; [ -e /etc/subuid ] && echo subuid; [ -e /etc/subgid ] && echo subgid\n";
    s += "echo @dockerd; command -v dockerd\n";
    s += "echo @selinux; command -v getenforce >/dev/null 2>&1 && getenforce\n";
    s += "echo @nft; command -v nft\n";
    s += "echo @arch; uname -m\n";
    // The audit watches the kernel holds now (`auditctl -D` empties them and leaves the file).
    s += "echo @audit-loaded; command -v auditctl >/dev/null 2>&1 && auditctl -l 2>/dev/null | grep -c -- ' -k docker$'\n";
    s += "echo @dirs\n";
    s += "for d in " + join_shell_words(managed_dirs()) + "; do\n"
         "  [ -d \"$d\" ] && [ ! -L \"$d\" ] && echo \"$d 0 $(stat -c '%a %U:%G' \"$d\")\"\n"
         "done\n";
    s += "echo @end\n";
    return s;
}

namespace {

/// A line of the report, safe to show: control characters as '?', at most 120 characters.
std::string shown_line(std::string_view line) {
    std::string out(line.substr(0, 120));
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return line.size() > 120 ? out + "..." : out;
}

Error malformed(std::string_view section, std::string_view line, std::string_view why) {
    return Error{ErrorKind::Failed,
                 "the host's report of its state has a malformed line in @" + std::string(section) + " (" +
                     std::string(why) + "): \"" + shown_line(line) + "\"",
                 "berth reads it from stat and sshd -T on the host; check those there (berth ssh NAME) "
                 "and run the command again",
                 {}};
}

/// A whole decimal or octal number in [0, max], without signs, spaces or exceptions.
std::optional<unsigned> whole_number(std::string_view text, int base, unsigned max) {
    unsigned value = 0;
    const char* end = text.data() + text.size();
    if (text.empty()) return std::nullopt;
    auto [ptr, ec] = std::from_chars(text.data(), end, value, base);
    if (ec != std::errc() || ptr != end || value > max) return std::nullopt;
    return value;
}

/// "<path> <sha256> <mode> <user:group>", as the facts script prints each managed file.
/// "<path> 0 <mode> <user:group>" for a directory (@dirs), whose digest is "".
Result<void> parse_file_line(const std::string& line, Facts& f, bool dir = false) {
    std::istringstream words(line);
    std::string path, digest, mode, owner;
    words >> path >> digest >> mode >> owner;
    if (path.empty()) return {};
    auto value = whole_number(mode, 8, 07777);
    if (!value)
        return std::unexpected(malformed(dir ? "dirs" : "files", line, "the mode is not an octal number up to 7777"));
    (dir ? f.dirs : f.files)[path] = {dir ? "" : digest, *value, owner};
    return {};
}

/// One port of `sshd -T`: 1 to 65535; anything else would end in the firewall's rules.
Result<void> parse_port_line(std::string_view line, Facts& f) {
    line = trim(line);
    if (line.empty()) return {};
    auto port = whole_number(line, 10, 65535);
    if (!port || *port == 0) return std::unexpected(malformed("sshd-ports", line, "not a port from 1 to 65535"));
    f.sshd_ports.push_back(static_cast<int>(*port));
    return {};
}

Result<void> parse_line(const std::string& section, const std::string& line, Facts& f) {
    std::istringstream words(line);
    if (section == "os-release") f.os_release += line + "\n";
    else if (section == "hostname") f.hostname = line;
    else if (section == "packages") {
        std::string name, version;
        words >> name;
        std::getline(words >> std::ws, version);
        if (!name.empty()) f.packages[name] = version;
    } else if (section == "files") return parse_file_line(line, f);
    else if (section == "exists") {
        if (!line.empty()) f.existing.insert(line);
    } else if (section == "units") {
        std::string unit, active, enabled;
        words >> unit >> active >> enabled;
        if (!unit.empty()) f.units[unit] = {active, enabled};
    } else if (section == "sshd-ports") return parse_port_line(line, f);
    else if (section == "subid") {
        f.subuid = f.subuid || line == "subuid";
        f.subgid = f.subgid || line == "subgid";
    } else if (section == "dockerd") f.dockerd = line;
    else if (section == "selinux") f.selinux = line;
    else if (section == "nft") f.nft = line;
    else if (section == "arch") f.arch = std::string(trim(line));
    else if (section == "audit-loaded" && !trim(line).empty()) {
        auto count = whole_number(trim(line), 10, 1000000);
        if (!count) return std::unexpected(malformed("audit-loaded", line, "not a count of audit rules"));
        f.audit_rules_loaded = static_cast<int>(*count);
    }
    else if (section == "dirs") return parse_file_line(line, f, true);
    return {};
}

}  // namespace

Result<Facts> parse_facts(const std::string& output) {
    Facts f;
    std::istringstream in(output);
    std::string section;
    bool ended = false;
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("@")) {
            section = line.substr(1);
            ended = ended || section == "end";
            continue;
        }
        if (auto ok = parse_line(section, line, f); !ok) return std::unexpected(ok.error());
    }
    if (!ended) return fail("the host's report of its state was cut short", "run the command again");
    return f;
}

}  // namespace berth
