#include <berth/provision/desired_files.h>

#include <berth/core/escape.h>
#include <berth/provision/engine_checks.h>
#include <berth/provision/engine_options.h>
#include <berth/provision/host_paths.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <tuple>

namespace berth {
namespace {

// The users the default policy lists (CN -> role, one line each, only CNs with a certificate
// that is not revoked) and the revocation list's entries (serial, user), escaped for YAML.
Result<std::pair<nlohmann::json, nlohmann::json>> authz_users_context(const ProvisionRequest& req) {
    nlohmann::json users = nlohmann::json::array(), revoked = nlohmann::json::array();
    std::set<std::string> listed;
    for (const auto& u : req.authz_users) {
        const bool hex = !u.serial.empty() && u.serial.find_first_not_of("0123456789ABCDEF") == std::string::npos;
        if (!hex)
            return fail("the certificate of user " + json_string(u.cn) + " on " + req.machine +
                            " has no readable serial in the record",
                        "issue it again with `berth certs issue " + req.machine + " --user " + u.cn + "`");
        if (u.revoked) {
            revoked.push_back({{"serial", u.serial}, {"user", yaml_string(u.cn)}});
            continue;
        }
        if (u.role != "restricted" && u.role != "admin")
            return fail_usage("user " + json_string(u.cn) + " on " + req.machine + " has the role \"" + u.role +
                                  "\", not restricted or admin",
                              "issue the certificate again with --role restricted or --role admin");
        if (u.cn.empty() || u.cn == req.authz_owner_cn || !listed.insert(u.cn).second)
            return fail("user " + json_string(u.cn) + " on " + req.machine + " is listed twice or is the owner",
                        "revoke it with `berth certs revoke " + req.machine + " USER`");
        users.push_back({{"cn", yaml_string(u.cn)}, {"role", u.role}});
    }
    return std::pair{users, revoked};
}

/// The firewall's swarm block: the peers' addresses by family, each as nft_address() writes it;
/// false when the machine is in no swarm.
Result<nlohmann::json> swarm_context(const ProvisionRequest& req) {
    if (req.swarm.empty()) return nlohmann::json(false);
    if (req.swarm.role != "manager" && req.swarm.role != "worker")
        return fail_usage("the swarm role of " + req.machine + " is \"" + req.swarm.role + "\", not manager or worker");
    std::string v4, v6;
    for (const auto& peer : req.swarm.peers) {
        auto address = nft_address(peer);
        if (!address)
            return fail_usage("swarm peer \"" + peer + "\" of " + req.machine + " is not an IP address",
                              "the fleet's swarm peers are the machines' IP addresses; run `berth apply` again");
        std::string& list = address->find(':') == std::string::npos ? v4 : v6;
        list += (list.empty() ? "" : ", ") + *address;
    }
    nlohmann::json swarm = {{"role", req.swarm.role}};
    if (!v4.empty()) swarm["peers_v4"] = v4;
    if (!v6.empty()) swarm["peers_v6"] = v6;
    return swarm;
}

// What the templates are rendered with. Every string that a user or the host can influence is
// escaped here for the format it lands in; the numbers are numbers.
Result<nlohmann::json> template_context(const Facts& facts, const ProvisionRequest& req, OsFamily family) {
    if (auto ok = check_engine_env(req.engine.env); !ok) return std::unexpected(ok.error());
    const std::string nft = facts.nft.empty() ? "/usr/sbin/nft" : facts.nft;
    for (const auto& [program, path] : {std::pair{"dockerd", facts.dockerd}, std::pair{"nft", nft}})
        if (!path.empty() && !systemd_can_exec(path))
            return fail("the host reports " + std::string(program) + " at " + json_string(path) +
                            ", a path systemd cannot run (quotes, backslashes and control characters are refused)",
                        "install " + std::string(program) + " at its distribution's path, then run `berth provision " +
                            req.machine + "`");
    const bool debian = family == OsFamily::Debian;
    const bool containerd = facts.existing.contains("/usr/bin/containerd");
    nlohmann::json ctx = {
        {"engine_port", std::to_string(req.engine.port)},
        {"tls_dir", k_tls_dir},
        {"selinux", !debian},
        {"dockerd", facts.dockerd.empty() ? "" : systemd_exec_path(facts.dockerd)},
        {"containerd_socket", containerd ? systemd_exec_word("/run/containerd/containerd.sock") : ""},
        {"debian", debian},
        {"nft", systemd_exec_path(nft)},
    };
    nlohmann::json env = nlohmann::json::array();
    for (const auto& e : req.engine.env) {
        const auto eq = e.find('=');
        env.push_back({{"name", e.substr(0, eq)}, {"value", systemd_env_file_value(e.substr(eq + 1))}});
    }
    ctx["env"] = env;
    std::set<int> ports(req.ssh_ports.begin(), req.ssh_ports.end());
    ports.insert(facts.sshd_ports.begin(), facts.sshd_ports.end());
    if (ports.empty()) ports.insert(22);
    std::string port_list;
    for (int p : ports) port_list += (port_list.empty() ? "" : ", ") + std::to_string(p);
    ctx["ssh_ports"] = port_list;
    nlohmann::json watches = nlohmann::json::array();
    for (const auto& path : k_audit_candidates)
        if (facts.existing.contains(path) || std::ranges::find(k_audit_always, path) != k_audit_always.end())
            watches.push_back({{"path", path}});
    ctx["watches"] = watches;
    // berth-authz: the default policy gives the machine's own client certificate its role.
    if (req.authz.owner_role != "restricted" && req.authz.owner_role != "admin")
        return fail_usage("the berth-authz owner role of " + req.machine + " is \"" + req.authz.owner_role +
                              "\", not restricted or admin",
                          "run `berth provision --authz-owner-role restricted " + req.machine + "`");
    ctx["owner_cn"] = yaml_string(req.authz_owner_cn);
    // In a swarm the owner (restricted) may also run swarm; admin waives everything anyway.
    ctx["owner_role"] = req.authz.owner_swarm && req.authz.owner_role == "restricted" ? "swarm-owner"
                                                                                      : req.authz.owner_role;
    ctx["owner_swarm"] = req.authz.owner_swarm;
    auto swarm = swarm_context(req);
    if (!swarm) return std::unexpected(swarm.error());
    ctx["swarm"] = *swarm;
    ctx["authz_binary"] = systemd_exec_path(k_authz_binary);
    ctx["authz_socket"] = systemd_exec_word(k_authz_socket);
    ctx["bind_allow_dir"] = yaml_string(k_bind_allow_dir);
    auto users = authz_users_context(req);
    if (!users) return std::unexpected(users.error());
    ctx["users"] = users->first;
    ctx["revoked"] = users->second;
    ctx["no_revoked"] = users->second.empty();
    return ctx;
}

/// berth-authz's program, its policy (the custom one as given, else the default from its
/// template) and its two units.
Result<void> add_authz_files(const TemplateSet& templates, const nlohmann::json& ctx, const ProvisionRequest& req,
                             std::vector<ManagedFile>& files) {
    files.push_back({k_authz_binary, req.authz_binary, 0755});
    std::string policy = req.authz_policy;
    if (policy.empty()) {
        auto rendered = templates.render("authz-policy.yaml", ctx);
        if (!rendered) return std::unexpected(rendered.error());
        policy = *rendered;
    }
    files.push_back({k_authz_policy, policy, 0644});
    auto revoked = templates.render("authz-revoked.yaml", ctx);
    if (!revoked) return std::unexpected(revoked.error());
    files.push_back({k_authz_revoked, *revoked, 0644});
    for (auto [name, path] : {std::pair{"berth-authz.socket", k_authz_socket_unit},
                              std::pair{"berth-authz.service", k_authz_service_unit}}) {
        auto text = templates.render(name, ctx);
        if (!text) return std::unexpected(text.error());
        files.push_back({path, *text, 0644});
    }
    return {};
}

}  // namespace

Result<std::string> render_daemon_json(const TemplateSet& templates, const Facts& facts, const ProvisionRequest& request,
                                       OsFamily family, std::vector<std::string>& warnings) {
    auto ctx = template_context(facts, request, family);
    if (!ctx) return std::unexpected(ctx.error());
    auto rendered = templates.render("daemon.json", *ctx);
    if (!rendered) return std::unexpected(rendered.error());
    return Provisioner::daemon_json(*rendered, request.engine, warnings);
}

Result<std::string> daemon_json_across_swarm(const TemplateSet& templates, const Facts& facts,
                                             const ProvisionRequest& request, OsFamily family) {
    ProvisionRequest other = request;
    other.swarm = request.swarm.empty() ? SwarmMembership{"worker", {}} : SwarmMembership{};
    std::vector<std::string> ignored;
    return render_daemon_json(templates, facts, other, family, ignored);
}

Result<std::vector<ManagedFile>> render_pre_install_files(const TemplateSet& templates,
                                                          const ProvisionRequest& request, OsFamily family) {
    if (family != OsFamily::Debian) return std::vector<ManagedFile>{};
    const std::string& proxy = request.engine.apt_proxy;
    // Checked at create and before every provision (check_apt_proxy_url); refused here too
    // rather than written altered.
    if (!apt_conf_can_carry(proxy))
        return fail_usage(
            "the apt proxy URL of " + request.machine + " has a quote, a backslash or a control character",
            "give --engine-apt-proxy a plain http:// or https:// URL");
    const nlohmann::json ctx = {{"apt_proxy_set", !proxy.empty()}, {"apt_proxy", apt_conf_quote(proxy)}};
    auto text = templates.render("apt-proxy.conf", ctx);
    if (!text) return std::unexpected(text.error());
    return std::vector<ManagedFile>{{k_apt_proxy, *text, 0644}};
}

Result<std::vector<ManagedFile>> render_desired_files(const TemplateSet& templates, const Facts& facts,
                                                      const ProvisionRequest& request, OsFamily family,
                                                      std::vector<std::string>& warnings) {
    auto ctx = template_context(facts, request, family);
    if (!ctx) return std::unexpected(ctx.error());
    auto daemon = render_daemon_json(templates, facts, request, family, warnings);
    if (!daemon) return std::unexpected(daemon.error());

    std::vector<ManagedFile> files = {
        {k_ca_path, request.ca_pem, 0444},
        {k_server_cert_path, request.server_cert_pem, 0444},
        {k_server_key_path, request.server_key_pem, 0400},
        {k_daemon_json, *daemon, 0644},
    };
    for (auto [name, path, mode] : {std::tuple{"docker-engine.env", k_engine_env, 0600u},
                                    std::tuple{"docker-service-override.conf", k_dropin, 0644u},
                                    std::tuple{"containerd-tmpfiles.conf", k_containerd_tmpfiles, 0644u},
                                    std::tuple{"audit-docker.rules", k_audit_rules, 0640u},
                                    std::tuple{"sshd-hardening.conf", k_sshd_dropin, 0644u},
                                    std::tuple{"firewall.nft", k_firewall, 0644u},
                                    std::tuple{"berth-firewall.service", k_firewall_unit, 0644u}}) {
        auto text = templates.render(name, *ctx);
        if (!text) return std::unexpected(text.error());
        files.push_back({path, *text, mode});
    }
    if (auto ok = add_authz_files(templates, *ctx, request, files); !ok) return std::unexpected(ok.error());
    auto pre_install = render_pre_install_files(templates, request, family);
    if (!pre_install) return std::unexpected(pre_install.error());
    files.insert(files.end(), pre_install->begin(), pre_install->end());
    if (request.authz.owner_role == "admin")
        warnings.push_back("--authz-owner-role admin weakens the hardening: " + weakening_reason("authz-owner-role"));
    if (request.authz.owner_swarm)
        warnings.push_back("the fleet's swarm weakens the hardening: " + weakening_reason("authz-owner-swarm"));
    if (!request.swarm.empty())
        warnings.push_back("a swarm node runs without live-restore (dockerd refuses swarm mode with it): " +
                           weakening_reason("live-restore"));
    return files;
}

}  // namespace berth
