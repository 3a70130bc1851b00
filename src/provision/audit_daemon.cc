// The daemon's checks (CIS 2.x): daemon.json, dockerd's command line (where berth puts
// --tlsverify) and what the live daemon reports (/info, the authorization probe).

#include <berth/provision/audit_checks.h>

#include "audit_util.h"

#include <algorithm>

namespace berth {

using namespace audit_detail;

namespace {

using nlohmann::json;

/// daemon.json and the command line, as the daemon was configured.
struct DaemonConfig {
    json file = json::object();     ///< daemon.json, an object (empty when missing or malformed)
    std::string file_note;          ///< why daemon.json could not be read, "" when it was
    std::vector<std::string> args;  ///< dockerd's argv (from /proc, else from ExecStart)
};

/// The argv of `systemctl show -p ExecStart --value`: "{ path=... ; argv[]=dockerd --x ... ; ... }".
std::vector<std::string> exec_start_args(std::string_view exec_start) {
    std::vector<std::string> out;
    auto start = exec_start.find("argv[]=");
    if (start == std::string_view::npos) return out;
    std::string_view rest = exec_start.substr(start + 7);
    rest = rest.substr(0, rest.find(" ;"));
    while (!rest.empty()) {
        const auto sp = rest.find(' ');
        if (auto w = rest.substr(0, sp); !w.empty()) out.emplace_back(w);
        rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    }
    return out;
}

DaemonConfig daemon_config(const AuditHost& host) {
    DaemonConfig c;
    if (!host.daemon_json) c.file_note = "no /etc/docker/daemon.json";
    else {
        auto parsed = json::parse(*host.daemon_json, nullptr, /*allow_exceptions=*/false);
        if (parsed.is_discarded() || !parsed.is_object()) c.file_note = "/etc/docker/daemon.json is not a JSON object";
        else c.file = std::move(parsed);
    }
    c.args = host.dockerd_args.empty() ? exec_start_args(host.exec_start) : host.dockerd_args;
    return c;
}

/// The values given to any of `names` on the command line: "--x=v", "--x v", or "true" for a
/// flag given alone.
std::vector<std::string> flag_values(const std::vector<std::string>& args, std::initializer_list<std::string_view> names) {
    std::vector<std::string> out;
    for (size_t i = 1; i < args.size(); ++i) {
        for (auto name : names) {
            const std::string_view a = args[i];
            if (a == name) out.push_back(i + 1 < args.size() && !args[i + 1].starts_with("-") ? args[i + 1] : "true");
            else if (a.starts_with(name) && a.size() > name.size() && a[name.size()] == '=')
                out.emplace_back(a.substr(name.size() + 1));
        }
    }
    return out;
}

bool has(const std::vector<std::string>& values, std::string_view v) {
    return std::find(values.begin(), values.end(), v) != values.end();
}

bool file_is(const DaemonConfig& c, const char* key, const json& value) {
    auto it = c.file.find(key);
    return it != c.file.end() && *it == value;
}

/// Strings of `key` in daemon.json (a string or an array of strings).
std::vector<std::string> file_strings(const DaemonConfig& c, const char* key) {
    std::vector<std::string> out;
    auto it = c.file.find(key);
    if (it == c.file.end()) return out;
    if (it->is_string()) out.push_back(it->get<std::string>());
    if (it->is_array())
        for (const auto& v : *it)
            if (v.is_string()) out.push_back(v.get<std::string>());
    return out;
}

/// The name=... entries of /info's SecurityOptions, each with its other key=value parts.
std::vector<std::string> security_option(const json& info, std::string_view name) {
    const auto it = info.is_object() ? info.find("SecurityOptions") : info.end();
    if (it == info.end() || !it->is_array()) return {};
    for (const auto& o : *it) {
        if (!o.is_string()) continue;
        const std::string& text = o.get_ref<const std::string&>();
        if (text == "name=" + std::string(name) || text.starts_with("name=" + std::string(name) + ","))
            return {text};
    }
    return {};
}

/// /info's `key` when it is a string (bool), else the default: never throws on a strange answer.
std::string info_string(const json& info, const char* key) {
    const auto it = info.is_object() ? info.find(key) : info.end();
    return it != info.end() && it->is_string() ? it->get<std::string>() : std::string();
}
bool info_bool(const json& info, const char* key) {
    const auto it = info.is_object() ? info.find(key) : info.end();
    return it != info.end() && it->is_boolean() && it->get<bool>();
}

std::string where(bool in_args, bool in_file) {
    return in_args ? "on dockerd's command line" : in_file ? "in daemon.json" : "nowhere";
}

std::vector<AuditResult> network_checks(const DaemonConfig& c, const AuditApi& api) {
    std::vector<AuditResult> out;
    const bool icc_arg = has(flag_values(c.args, {"--icc"}), "false");
    const bool icc_file = file_is(c, "icc", false);
    out.push_back(result("2.2", true, "no traffic between containers on the default bridge (icc off)", icc_arg || icc_file,
                         icc_arg || icc_file ? "icc false " + where(icc_arg, icc_file) : "icc is on (Docker's default)",
                         "set \"icc\": false in daemon.json: " + std::string(k_fix)));
    auto levels = flag_values(c.args, {"-l", "--log-level"});
    auto file_level = file_strings(c, "log-level");
    const std::string level = !levels.empty() ? levels.back() : file_level.empty() ? "" : file_level.front();
    out.push_back(result("2.3", true, "log level info", level.empty() || level == "info",
                         level.empty() ? "Docker's default (info)" : "log level " + shown(level),
                         "remove log-level from daemon.json and dockerd's command line, or set it to info"));
    std::vector<std::string> insecure = file_strings(c, "insecure-registries");
    for (auto& v : flag_values(c.args, {"--insecure-registry"})) insecure.push_back(v);
    const json reg = api.info.is_object() && api.info.contains("RegistryConfig") ? api.info["RegistryConfig"] : json::object();
    if (auto cidrs = reg.is_object() ? reg.find("InsecureRegistryCIDRs") : reg.end(); cidrs != reg.end() && cidrs->is_array())
        for (const auto& v : *cidrs)
            if (v.is_string() && v != "127.0.0.0/8" && v != "::1/128" && !has(insecure, v.get<std::string>()))
                insecure.push_back(v.get<std::string>());
    out.push_back(result("2.5", true, "no insecure registries", insecure.empty(),
                         insecure.empty() ? "none" : "insecure: " + listed(insecure),
                         "remove insecure-registries (--engine-insecure-registry) and run `berth audit --fix NAME`"));
    return out;
}

/// berth reaches the daemon over TCP (its URL), so there is a TCP listener to check: tlsverify
/// configured, and a client without a certificate refused.
AuditResult tls_check(const DaemonConfig& c, const AuditApi& api) {
    auto verify_args = flag_values(c.args, {"--tlsverify"});
    const bool in_args = std::any_of(verify_args.begin(), verify_args.end(), [](const std::string& v) { return v != "false"; });
    const bool in_file = file_is(c, "tlsverify", true);
    std::string detail = "tlsverify " + where(in_args, in_file);
    detail += api.anonymous_error.empty() ? "; a client without a certificate is refused"
                                          : "; " + shown(api.anonymous_error);
    return result("2.7", true, "TCP listener with TLS client authentication only", (in_args || in_file) && api.anonymous_error.empty(),
                  detail, "dockerd must run with --tlsverify and the machine's CA: " + std::string(k_fix));
}

/// The message of the probe's answer, after dockerd's "authorization denied by plugin NAME: ".
std::string probe_message(const ApiAnswer& answer) {
    auto body = json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
    std::string message = body.is_object() && body.contains("message") && body["message"].is_string()
                              ? body["message"].get<std::string>()
                              : answer.body;
    const std::string prefix = "authorization denied by plugin berth-authz: ";
    return message.starts_with(prefix) ? message.substr(prefix.size()) : message;
}

AuditResult authz_check(const DaemonConfig& c, const AuditApi& api) {
    auto listed_file = file_strings(c, "authorization-plugins");
    auto listed_args = flag_values(c.args, {"--authorization-plugin"});
    const bool configured = has(listed_file, "berth-authz") || has(listed_args, "berth-authz");
    bool active = false;
    if (api.info.is_object() && api.info.contains("Plugins") && api.info["Plugins"].is_object()) {
        const json& plugins = api.info["Plugins"];
        if (auto a = plugins.find("Authorization"); a != plugins.end() && a->is_array())
            active = std::find(a->begin(), a->end(), json("berth-authz")) != a->end();
    }
    std::string refused = "no answer to the probe: " + shown(api.probe_error);
    bool refuses = false;
    if (api.probe) {
        const std::string message = probe_message(*api.probe);
        refuses = api.probe->status == 403 && message.starts_with("berth-authz:");
        refused = refuses ? "refuses a privileged container (HTTP 403: " + shown(message) + ")"
                          : "let a privileged container through to the daemon (HTTP " +
                                std::to_string(api.probe->status) + ": " + shown(message) + ")";
    }
    std::string detail = std::string(configured ? "configured" : "not in authorization-plugins") + "; " +
                         (active ? "active" : "not active in /info") + "; " + refused;
    return result("2.12", true, "authorization plugin berth-authz configured, active and refusing", configured && active && refuses,
                  detail, "berth-authz guards the API (docs/hardening.md); with --authz-owner-role admin it lets the "
                          "machine's certificate do everything; " + std::string(k_fix));
}

std::vector<AuditResult> setting_checks(const DaemonConfig& c, const AuditApi& api) {
    std::vector<AuditResult> out;
    const bool ulimit_file = c.file.contains("default-ulimits") && c.file["default-ulimits"].is_object() &&
                             !c.file["default-ulimits"].empty();
    const bool ulimit_args = !flag_values(c.args, {"--default-ulimit"}).empty();
    out.push_back(result("2.8", false, "default ulimits set", ulimit_file || ulimit_args,
                         "default-ulimits " + where(ulimit_args, ulimit_file), "set default-ulimits: " + std::string(k_fix)));
    auto remaps = file_strings(c, "userns-remap");
    for (auto& v : flag_values(c.args, {"--userns-remap"})) remaps.push_back(v);
    const bool remap = std::any_of(remaps.begin(), remaps.end(), [](const std::string& v) { return !v.empty(); });
    const bool userns = !security_option(api.info, "userns").empty();
    out.push_back(result("2.9", true, "user namespace remapping", remap && userns,
                         std::string(remap ? "userns-remap configured" : "no userns-remap") + "; " +
                             (userns ? "the daemon reports userns" : "the daemon does not report userns"),
                         "set userns-remap: " + std::string(k_fix)));
    out.push_back(authz_check(c, api));
    const std::string driver = info_string(api.info, "LoggingDriver");
    out.push_back(result("2.13", true, "container logs to a collector (log driver not json-file)",
                         !driver.empty() && driver != "json-file" && driver != "none", "log driver " + shown(driver.empty() ? "unknown" : driver),
                         "set log-driver journald (berth's default) or a remote driver: " + std::string(k_fix)));
    auto nnp_args = flag_values(c.args, {"--no-new-privileges"});
    const bool nnp = file_is(c, "no-new-privileges", true) ||
                     std::any_of(nnp_args.begin(), nnp_args.end(), [](const std::string& v) { return v != "false"; });
    out.push_back(result("2.14", true, "no new privileges by default", nnp, nnp ? "no-new-privileges on" : "off",
                         "set \"no-new-privileges\": true: " + std::string(k_fix)));
    const bool live = info_bool(api.info, "LiveRestoreEnabled");
    // dockerd refuses swarm mode with live-restore on: a swarm node passes without it, as CIS
    // (and docker-bench-security) count it.
    const json swarm = api.info.is_object() ? api.info.value("Swarm", json::object()) : json::object();
    const bool in_swarm = swarm.is_object() && swarm.value("LocalNodeState", "") == "active";
    out.push_back(result("2.15", true, "live restore", live || in_swarm,
                         live ? "enabled" : in_swarm ? "off: incompatible with swarm mode (the fleet's swarm)"
                                                     : "the daemon reports it off",
                         "set \"live-restore\": true: " + std::string(k_fix)));
    const bool proxy_off = file_is(c, "userland-proxy", false) || has(flag_values(c.args, {"--userland-proxy"}), "false");
    out.push_back(result("2.16", true, "userland proxy off", proxy_off, proxy_off ? "off" : "on (Docker's default)",
                         "set \"userland-proxy\": false: " + std::string(k_fix)));
    auto seccomp = security_option(api.info, "seccomp");
    const bool confined = !seccomp.empty() && seccomp.front().find("profile=unconfined") == std::string::npos;
    out.push_back(result("2.17", false, "seccomp profile for every container", confined,
                         seccomp.empty() ? "the daemon reports no seccomp" : shown(seccomp.front()),
                         "remove seccomp-profile from daemon.json: " + std::string(k_fix)));
    const bool experimental = info_bool(api.info, "ExperimentalBuild");
    out.push_back(result("2.18", true, "experimental features off", !experimental, experimental ? "on" : "off",
                         "remove \"experimental\" from daemon.json: " + std::string(k_fix)));
    return out;
}

}  // namespace

std::vector<AuditResult> daemon_checks(const AuditHost& host, const AuditApi& api) {
    const DaemonConfig c = daemon_config(host);
    std::vector<AuditResult> out = network_checks(c, api);
    out.push_back(tls_check(c, api));
    for (auto& r : setting_checks(c, api)) out.push_back(std::move(r));
    if (!c.file_note.empty())
        for (auto& r : out)
            if (r.status == AuditStatus::Warn) r.detail += " (" + c.file_note + ")";
    return out;
}

}  // namespace berth
