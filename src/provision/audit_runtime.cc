// The audit's checks of Docker's files (CIS 3.x), of berth's own drift, and of what runs (CIS 5.x,
// the SUID search in bind-mounted directories).

#include <berth/provision/audit_checks.h>

#include <berth/provision/host_paths.h>

#include "audit_util.h"

#include <algorithm>
#include <set>

namespace berth {

using namespace audit_detail;

namespace {

using nlohmann::json;

/// One file of CIS 3.x: its two ids (owner, mode), the paths it may be at, what it must be.
struct FileRule {
    const char* owner_id;
    const char* mode_id;
    const char* what;
    std::vector<std::string> paths;  ///< the first that exists is checked; "/etc/docker/certs.d/": every file under it
    const char* owner;
    unsigned max_mode;
    bool required;                   ///< berth puts it there: missing is a WARN
};

const std::vector<FileRule>& file_rules() {
    static const std::vector<FileRule> rules = {
        {"3.1", "3.2", "docker.service", {"/lib/systemd/system/docker.service", "/usr/lib/systemd/system/docker.service"}, "root:root", 0644, false},
        {"3.3", "3.4", "docker.socket", {"/lib/systemd/system/docker.socket", "/usr/lib/systemd/system/docker.socket"}, "root:root", 0644, false},
        {"3.5", "3.6", "/etc/docker", {"/etc/docker"}, "root:root", 0755, true},
        {"3.7", "3.8", "registry certificates (/etc/docker/certs.d)", {"/etc/docker/certs.d/"}, "root:root", 0444, false},
        {"3.9", "3.10", "TLS CA certificate", {k_ca_path}, "root:root", 0444, true},
        {"3.11", "3.12", "Docker server certificate", {k_server_cert_path}, "root:root", 0444, true},
        {"3.13", "3.14", "Docker server key", {k_server_key_path}, "root:root", 0400, true},
        {"3.15", "3.16", "Docker socket", {"/var/run/docker.sock", "/run/docker.sock"}, "root:docker", 0660, true},
        {"3.17", "3.18", "daemon.json", {k_daemon_json}, "root:root", 0644, true},
        {"3.19", "3.20", "/etc/default/docker", {"/etc/default/docker"}, "root:root", 0644, false},
        {"3.22", "3.21", "/etc/sysconfig/docker", {"/etc/sysconfig/docker"}, "root:root", 0644, false},
        {"3.23", "3.24", "containerd socket", {"/run/containerd/containerd.sock"}, "root:root", 0660, false},
    };
    return rules;
}

/// The files `rule` covers on this host: the first of its paths that exists, or every file
/// under a directory path ending in '/'.
std::vector<std::pair<std::string, AuditHost::Stat>> files_of(const FileRule& rule, const AuditHost& host) {
    std::vector<std::pair<std::string, AuditHost::Stat>> out;
    for (const auto& p : rule.paths) {
        if (p.ends_with("/")) {
            for (const auto& [path, stat] : host.files)
                if (path.starts_with(p)) out.emplace_back(path, stat);
            continue;
        }
        if (auto it = host.files.find(p); it != host.files.end()) return {{p, it->second}};
    }
    return out;
}

void file_rule_checks(const FileRule& rule, const AuditHost& host, std::vector<AuditResult>& out) {
    const std::string owner_title = std::string(rule.what) + " owned by " + rule.owner;
    const std::string mode_title = std::string(rule.what) + " mode " + octal(rule.max_mode) + " or stricter";
    const auto files = files_of(rule, host);
    if (files.empty()) {
        for (auto [id, title] : {std::pair{rule.owner_id, owner_title}, std::pair{rule.mode_id, mode_title}}) {
            if (rule.required) out.push_back(result(id, true, title, false, "missing", k_fix));
            else out.push_back({id, AuditStatus::Info, true, title, "not on this host", ""});
        }
        return;
    }
    std::vector<std::string> wrong_owner, wrong_mode, shown_files;
    for (const auto& [path, stat] : files) {
        shown_files.push_back(path + " " + stat.owner + " " + octal(stat.mode));
        if (stat.owner != rule.owner) wrong_owner.push_back(path + " is " + stat.owner);
        if (stat.mode & ~rule.max_mode & 07777) wrong_mode.push_back(path + " is " + octal(stat.mode));
    }
    const std::string where = listed(files.size() == 1 ? std::vector<std::string>{files.front().first} : shown_files, 4);
    out.push_back(result(rule.owner_id, true, owner_title, wrong_owner.empty(),
                         wrong_owner.empty() ? where : listed(wrong_owner),
                         "chown " + std::string(rule.owner) + " the file, or " + k_fix));
    out.push_back(result(rule.mode_id, true, mode_title, wrong_mode.empty(), wrong_mode.empty() ? where : listed(wrong_mode),
                         "chmod " + octal(rule.max_mode) + " the file, or " + k_fix));
}

/// The container's name without dockerd's leading '/'.
std::string container_name(const json& c) {
    const auto it = c.is_object() ? c.find("Name") : c.end();
    std::string name = it != c.end() && it->is_string() ? it->get<std::string>() : std::string();
    if (name.starts_with("/")) name.erase(0, 1);
    if (!name.empty()) return shown(name);
    const auto id = c.is_object() ? c.find("Id") : c.end();
    return id != c.end() && id->is_string() ? shown(id->get<std::string>().substr(0, 12)) : "?";
}

std::string host_config(const json& c, const char* key) {
    if (!c.is_object() || !c.contains("HostConfig") || !c["HostConfig"].is_object()) return {};
    const json& h = c["HostConfig"];
    const auto it = h.find(key);
    if (it == h.end()) return {};
    if (it->is_boolean()) return it->get<bool>() ? "true" : "false";
    return it->is_string() ? it->get<std::string>() : std::string();
}

/// The sources of the container's bind mounts.
std::vector<std::string> binds_of(const json& c) {
    std::vector<std::string> out;
    if (!c.is_object() || !c.contains("Mounts") || !c["Mounts"].is_array()) return out;
    for (const auto& m : c["Mounts"]) {
        if (!m.is_object()) continue;
        const auto type = m.find("Type"), source = m.find("Source");
        if (type != m.end() && *type == "bind" && source != m.end() && source->is_string())
            out.push_back(source->get<std::string>());
    }
    return out;
}

bool sensitive(const std::string& source) {
    if (source == "/") return true;
    for (const char* dir : {"/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr"})
        if (source == dir || source.starts_with(std::string(dir) + "/")) return true;
    return false;
}

bool docker_socket(const std::string& source) {
    return source == "/var/run/docker.sock" || source == "/run/docker.sock" || source.ends_with("/docker.sock");
}

/// CIS 5.x: the id, the title, whether a container offends, and what to do.
struct RuntimeRule {
    const char* id;
    const char* title;
    bool (*offends)(const json&);
    const char* remediation;
};

bool host_mode(const json& c, const char* key) { return host_config(c, key) == "host"; }

const std::vector<RuntimeRule>& runtime_rules() {
    static const std::vector<RuntimeRule> rules = {
        {"5.4", "no privileged containers", [](const json& c) { return host_config(c, "Privileged") == "true"; },
         "remove it (docker rm -f) and run it without --privileged; berth-authz refuses new ones"},
        {"5.5", "no sensitive host directories mounted",
         [](const json& c) { auto b = binds_of(c); return std::any_of(b.begin(), b.end(), sensitive); },
         "remove it and bind-mount only directories under the allow-list (/srv/berth)"},
        {"5.9", "host network namespace not shared", [](const json& c) { return host_mode(c, "NetworkMode"); },
         "remove it and run it without --network=host (publish ports instead)"},
        {"5.15", "host PID namespace not shared", [](const json& c) { return host_mode(c, "PidMode"); },
         "remove it and run it without --pid=host"},
        {"5.16", "host IPC namespace not shared", [](const json& c) { return host_mode(c, "IpcMode"); },
         "remove it and run it without --ipc=host"},
        {"5.20", "host UTS namespace not shared", [](const json& c) { return host_mode(c, "UTSMode"); },
         "remove it and run it without --uts=host"},
        {"5.30", "host user namespace not shared", [](const json& c) { return host_mode(c, "UsernsMode"); },
         "remove it and run it without --userns=host (it undoes the remap: root in it is root on the host)"},
        {"5.31", "Docker socket not mounted in containers",
         [](const json& c) { auto b = binds_of(c); return std::any_of(b.begin(), b.end(), docker_socket); },
         "remove it: the socket is root on the host"},
    };
    return rules;
}

}  // namespace

std::vector<AuditResult> runtime_checks(const std::vector<json>& containers) {
    std::vector<AuditResult> out;
    for (const auto& rule : runtime_rules()) {
        std::vector<std::string> names;
        for (const auto& c : containers)
            if (rule.offends(c)) names.push_back(container_name(c));
        const std::string none = containers.empty() ? "no running containers"
                                                    : std::to_string(containers.size()) + " running, none does";
        out.push_back(result(rule.id, true, rule.title, names.empty(), names.empty() ? none : "containers: " + listed(names),
                             rule.remediation));
    }
    return out;
}

AuditResult suid_check(const AuditHost& host, const std::vector<std::string>& sources) {
    const char* title = "no SUID/SGID files or file capabilities in bind-mounted host directories";
    if (sources.empty()) return result("berth.suid", true, title, true, "no container bind-mounts a host path", "");
    std::vector<std::string> found = host.suid_files;
    for (const auto& line : host.cap_files) found.push_back(line);
    const std::string searched = "searched " + listed(sources, 4);
    if (!found.empty())
        return result("berth.suid", true, title, false, "SUID/SGID or capabilities: " + listed(found) + " (" + searched + ")",
                      "remove them (chmod u-s,g-s FILE; setcap -r FILE) and find who wrote them: a container ran as "
                      "root on the host (--userns=host)");
    if (!host.getcap)
        return {"berth.suid", AuditStatus::Info, true, title, "no SUID/SGID files; getcap is not installed, so file "
                "capabilities were not searched (" + searched + ")", "install libcap2-bin on the host"};
    return result("berth.suid", true, title, true, "none (" + searched + ")", "");
}

std::vector<AuditResult> evaluate_audit(const AuditInput& input) {
    std::vector<AuditResult> out = host_checks(input.host);
    auto add = [&out](std::vector<AuditResult> more) {
        for (auto& r : more) out.push_back(std::move(r));
    };
    add(daemon_checks(input.host, input.api));
    add(file_checks(input.host));
    if (input.check) add(drift_checks(*input.check, input.recorded_digests));
    add(runtime_checks(input.api.containers));
    out.push_back(suid_check(input.host, bind_sources(input.api.containers)));
    return out;
}

std::vector<AuditResult> file_checks(const AuditHost& host) {
    std::vector<AuditResult> out;
    for (const auto& rule : file_rules()) file_rule_checks(rule, host, out);
    std::stable_sort(out.begin(), out.end(), [](const AuditResult& a, const AuditResult& b) {
        return std::stoi(a.id.substr(2)) < std::stoi(b.id.substr(2));
    });
    return out;
}

std::vector<AuditResult> drift_checks(const CheckReport& check, const std::map<std::string, std::string>& recorded) {
    std::vector<AuditResult> out;
    for (const auto& step : check.steps)
        out.push_back(result("berth.drift", true, "berth's " + step.step + " as berth provisions it", step.drift.empty(),
                             step.drift.empty() ? "as berth wants it" : listed(step.drift, 6), k_fix));
    std::vector<std::string> changed;
    for (const auto& [path, digest] : check.digests)
        if (auto it = recorded.find(path); it == recorded.end() || it->second != digest) changed.push_back(path);
    AuditResult record{"berth.drift", AuditStatus::Pass, false, "berth's record of what it wrote", "matches what berth wants", ""};
    if (!changed.empty()) {
        record.status = AuditStatus::Info;
        record.detail = "berth now wants other content than it last wrote at " + listed(changed) +
                        " (berth, its templates or the machine's settings changed since)";
        record.remediation = "`berth provision NAME` writes it and records it";
    }
    out.push_back(std::move(record));
    for (const auto& w : check.warnings)
        out.push_back({"berth.drift", AuditStatus::Info, false, "engine options that weaken the hardening", shown(w),
                       "remove the option and create the machine again"});
    return out;
}

std::vector<std::string> bind_sources(const std::vector<json>& containers) {
    std::set<std::string> out;
    for (const auto& c : containers)
        for (auto& s : binds_of(c))
            if (s.starts_with("/")) out.insert(s);
    return {out.begin(), out.end()};
}

}  // namespace berth
