#include <berth/provision/engine_options.h>

#include <algorithm>
#include <array>
#include <utility>

namespace berth {
namespace {

/// The keys that weaken the hardening (daemon.json spelling) and what each gives up.
constexpr std::array<std::pair<std::string_view, std::string_view>, 20> k_weakening = {{
    {"userns-remap", "root in a container may be root on the host (user namespaces)"},
    {"icc", "containers on the default bridge may reach each other"},
    {"no-new-privileges", "setuid binaries in containers may gain privileges"},
    {"live-restore", "containers may stop whenever dockerd restarts"},
    {"userland-proxy", "published ports may go through the userland proxy (a root process per port)"},
    {"selinux-enabled", "SELinux may no longer confine containers"},
    {"insecure-registries", "images may be pulled without TLS"},
    {"seccomp-profile", "containers may run with another seccomp filter or none"},
    {"default-runtime", "containers may run under a runtime berth does not check"},
    {"runtimes", "containers may run under a runtime berth does not check"},
    {"experimental", "experimental daemon features are on"},
    {"iptables", "Docker's isolation rules between networks may be off"},
    {"ip6tables", "Docker's isolation rules between networks may be off"},
    {"ip-forward", "forwarding for containers changes past berth's firewall"},
    {"ip-forward-no-drop", "the host may forward traffic berth's firewall expects dropped"},
    {"default-cgroupns-mode", "containers may share the host's cgroup namespace"},
    {"default-ipc-mode", "containers may share IPC namespaces"},
    {"group", "members of the group may use the Docker socket (root on the host)"},
    {"api-cors-header", "web pages may call the Docker API from a browser"},
    {"raw-logs", "log lines are no longer escaped"},
}};

/// Lower case, without leading dashes and without '-', '_' and '.': how spellings compare.
std::string normalized(std::string_view key) {
    while (key.starts_with('-')) key.remove_prefix(1);
    std::string out;
    for (char c : key) {
        if (c == '-' || c == '_' || c == '.') continue;
        out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    return out;
}

bool has_control(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool option_key_ok(std::string_view key) {
    if (key.empty() || key.front() == '-') return false;
    return std::all_of(key.begin(), key.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

bool label_key_ok(std::string_view key) {
    if (key.empty()) return false;
    return std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
               c == '_' || c == '/';
    });
}

Result<void> check_option(std::string_view text, bool insecure) {
    const std::string flag = insecure ? "--insecure-engine-opt" : "--engine-opt";
    auto opt = parse_engine_opt(text, flag);
    if (!opt) return std::unexpected(opt.error());
    const EngineOptKind kind = engine_opt_kind(opt->key);
    if (kind == EngineOptKind::Weakening && !insecure)
        return fail_usage("--engine-opt " + opt->key + " weakens the hardening: " + weakening_reason(opt->key),
                          "if you mean it, pass it as --insecure-engine-opt " + std::string(text) +
                              " (the machine is then listed as weakened; see docs/hardening.md)");
    if (kind == EngineOptKind::Plain && insecure)
        return fail_usage("--insecure-engine-opt " + opt->key + " does not weaken the hardening",
                          "pass it as --engine-opt " + std::string(text));
    return {};
}

Result<void> check_label(const std::string& label) {
    auto eq = label.find('=');
    if (eq == std::string::npos || !label_key_ok(label.substr(0, eq)))
        return fail_usage("invalid --engine-label \"" + label + "\"",
                          "write it as key=value; the key is letters, digits and . - _ /");
    if (has_control(label)) return fail_usage("--engine-label " + label.substr(0, eq) + " has a control character");
    return {};
}

}  // namespace

EngineOptKind engine_opt_kind(std::string_view key) {
    const std::string k = normalized(key);
    if (k == "hosts" || k == "host" || k == "h" || k.starts_with("tls") || k == "authorizationplugins" ||
        k == "authorizationplugin")
        return EngineOptKind::Owned;
    for (const auto& [name, why] : k_weakening)
        if (normalized(name) == k) return EngineOptKind::Weakening;
    return EngineOptKind::Plain;
}

std::string weakening_reason(std::string_view key) {
    const std::string k = normalized(key);
    if (k == "authzownerrole")
        return "the machine's own client certificate may do what berth-authz refuses (privileged containers, "
               "host namespaces, bind mounts of any host path): root on the host";
    if (k == "authzownerswarm")
        return "the machine's own client certificate may run docker swarm init/join and create services, whose "
               "containers swarm starts without asking berth-authz (a service may bind-mount any host path)";
    for (const auto& [name, why] : k_weakening)
        if (normalized(name) == k) return std::string(why);
    return "";
}

Result<EngineOpt> parse_engine_opt(std::string_view text, std::string_view flag) {
    const std::string f(flag);
    const auto eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0)
        return fail_usage("invalid " + f + " \"" + std::string(text) + "\"",
                          "write it as key=value, e.g. max-concurrent-downloads=6");
    std::string_view key = text.substr(0, eq);
    if (normalized(key).starts_with("authorizationplugin"))
        return fail_usage(f + " " + std::string(key) + " is refused: berth sets daemon.json's authorization-plugins "
                              "to its own berth-authz",
                          "give berth-authz another policy with --authz-policy FILE (docs/hardening.md)");
    if (engine_opt_kind(key) == EngineOptKind::Owned)
        return fail_usage(f + " " + std::string(key) + " is refused: berth sets the Docker API's listeners and TLS "
                              "itself (hosts, tls, tlsverify, tlscacert, tlscert, tlskey)",
                          "the API always listens on the machine's engine port and requires a client certificate "
                          "from the machine's own CA; nothing switches that off (docs/hardening.md)");
    if (key.starts_with("--")) key.remove_prefix(2);
    if (!option_key_ok(key))
        return fail_usage("invalid " + f + " key \"" + std::string(key) + "\"",
                          "a daemon.json key is lower-case letters, digits and '-', e.g. max-concurrent-downloads");
    const std::string_view value = text.substr(eq + 1);
    if (has_control(value)) return fail_usage(f + " " + std::string(key) + " has a control character in its value");
    return EngineOpt{std::string(key), std::string(value)};
}

Result<void> validate_engine_options(const EngineConfig& engine) {
    for (const auto& opt : engine.opts)
        if (auto ok = check_option(opt, false); !ok) return ok;
    for (const auto& opt : engine.insecure_opts)
        if (auto ok = check_option(opt, true); !ok) return ok;
    for (const auto& label : engine.labels)
        if (auto ok = check_label(label); !ok) return ok;
    for (const auto* list : {&engine.insecure_registries, &engine.registry_mirrors})
        for (const auto& entry : *list)
            if (entry.empty() || has_control(entry) || entry.find(' ') != std::string::npos)
                return fail_usage("invalid registry \"" + entry + "\"",
                                  "give a host[:port] or URL without spaces or control characters");
    if (has_control(engine.storage_driver) || engine.storage_driver.find(' ') != std::string::npos)
        return fail_usage("invalid --engine-storage-driver \"" + engine.storage_driver + "\"");
    return {};
}

std::vector<std::string> weakened_hardening(const EngineConfig& engine) {
    std::vector<std::string> out;
    for (const auto* list : {&engine.opts, &engine.insecure_opts})
        for (const auto& opt : *list) {
            const auto eq = opt.find('=');
            std::string_view key = std::string_view(opt).substr(0, eq);
            if (engine_opt_kind(key) == EngineOptKind::Plain) continue;
            while (key.starts_with('-')) key.remove_prefix(1);
            out.push_back(std::string(key) + (eq == std::string::npos ? "" : opt.substr(eq)));
        }
    for (const auto& registry : engine.insecure_registries) out.push_back("insecure-registry=" + registry);
    return out;
}

std::vector<std::string> weakened_hardening(const EngineConfig& engine, const AuthzConfig& authz) {
    auto out = weakened_hardening(engine);
    if (authz.owner_role == "admin") out.push_back("authz-owner-role=admin");
    // A swarm node (owner_swarm is set with the membership): the owner's swarm role, and no
    // live-restore, which dockerd refuses in swarm mode.
    if (authz.owner_swarm) {
        out.push_back("authz-owner-swarm");
        out.push_back("live-restore=false (swarm)");
    }
    return out;
}

}  // namespace berth
