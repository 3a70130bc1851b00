#include <berth/provision/facts.h>

#include <berth/provision/host_paths.h>

#include "join.h"

#include <sstream>

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
    s += "echo @packages\n";
    s += "for p in " + join_shell_words(packages) + "; do\n"
         "  if command -v dpkg-query >/dev/null 2>&1; then\n"
         "    v=$(dpkg-query -W -f='${db:Status-Status} ${Version}' \"$p\" 2>/dev/null)\n"
         "    case \"$v\" in installed*) echo \"$p ${v#installed }\";; *) echo \"$p\";; esac\n"
         "  else\n"
         "    v=$(rpm -q --qf '%{VERSION}-%{RELEASE}' \"$p\" 2>/dev/null) && echo \"$p $v\" || echo \"$p\"\n"
         "  fi\n"
         "done\n";
    s += "echo @files\n";
    s += "for f in " + join_shell_words(managed_paths()) + "; do\n"
         "  [ -f \"$f\" ] && echo \"$f $(sha256sum < \"$f\" | cut -d' ' -f1) $(stat -c '%a %U:%G' \"$f\")\"\n"
         "done\n";
    s += "echo @exists\n";
    s += "for f in " + join_shell_words(k_audit_candidates) + "; do [ -e \"$f\" ] && echo \"$f\"; done\n";
    s += "echo @units\n";
    s += "for u in docker auditd apparmor berth-firewall; do\n"
         "  echo \"$u $(systemctl is-active $u 2>/dev/null) $(systemctl is-enabled $u 2>/dev/null)\"\n"
         "done\n";
    s += "echo @sshd-ports; sshd -T 2>/dev/null | awk '$1==\"port\"{print $2}'\n";
    s += "echo @subid; [ -e /etc/subuid ] && echo subuid; [ -e /etc/subgid ] && echo subgid\n";
    s += "echo @dockerd; command -v dockerd\n";
    s += "echo @selinux; command -v getenforce >/dev/null 2>&1 && getenforce\n";
    s += "echo @nft; command -v nft\n";
    s += "echo @end\n";
    return s;
}

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
        std::istringstream words(line);
        if (section == "os-release") f.os_release += line + "\n";
        else if (section == "hostname") f.hostname = line;
        else if (section == "packages") {
            std::string name, version;
            words >> name;
            std::getline(words >> std::ws, version);
            if (!name.empty()) f.packages[name] = version;
        } else if (section == "files") {
            std::string path, digest, mode, owner;
            words >> path >> digest >> mode >> owner;
            f.files[path] = {digest, static_cast<unsigned>(std::stoul(mode.empty() ? "0" : mode, nullptr, 8)), owner};
        } else if (section == "exists") {
            if (!line.empty()) f.existing.insert(line);
        } else if (section == "units") {
            std::string unit, active, enabled;
            words >> unit >> active >> enabled;
            f.units[unit] = {active, enabled};
        } else if (section == "sshd-ports") {
            if (!line.empty()) f.sshd_ports.push_back(std::atoi(line.c_str()));
        } else if (section == "subid") {
            f.subuid = f.subuid || line == "subuid";
            f.subgid = f.subgid || line == "subgid";
        } else if (section == "dockerd") f.dockerd = line;
        else if (section == "selinux") f.selinux = line;
        else if (section == "nft") f.nft = line;
    }
    if (!ended) return fail("the host's report of its state was cut short", "run the command again");
    return f;
}

}  // namespace berth
