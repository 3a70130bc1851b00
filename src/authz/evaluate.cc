#include <berth/authz/evaluate.h>

#include <berth/authz/ascii.h>
#include <berth/authz/go_json.h>
#include <berth/authz/peer_cert.h>

#include "container_rules.h"
#include "route.h"

#include <optional>
#include <vector>

namespace berth::authz {
namespace {

using nlohmann::json;

bool is_post(const AuthzRequest& request) { return ascii_iequal(request.method, "POST"); }

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> out;
    std::size_t start = 1;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        out.emplace_back(path.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

enum class Endpoint { other, create, update, exec, start, volume_create, plugin_change, build, swarm };

// The endpoints of dockerd 20.10's router the rules care about (POST only). Plugin names may
// hold slashes ("vieux/sshfs:latest"): the router takes /plugins/{name:.*}/enable.
Endpoint endpoint_of(const Route& route, std::string& what) {
    const auto p = split_path(route.path);
    const std::size_t n = p.size();
    if (n == 2 && p[0] == "containers" && p[1] == "create") return Endpoint::create;
    if (n == 3 && p[0] == "containers" && !p[1].empty() && p[2] == "update") return Endpoint::update;
    if (n == 3 && p[0] == "containers" && !p[1].empty() && p[2] == "exec") return Endpoint::exec;
    if (n == 3 && p[0] == "containers" && !p[1].empty() && p[2] == "start") return Endpoint::start;
    if (n == 2 && p[0] == "volumes" && p[1] == "create") return Endpoint::volume_create;
    if (n == 1 && p[0] == "build") return Endpoint::build;
    if (n >= 2 && p[0] == "plugins") {
        const std::string& last = p[n - 1];
        const bool change = (n == 2 && (last == "pull" || last == "create")) ||
                            (n >= 3 && (last == "enable" || last == "upgrade" || last == "set"));
        what = "docker plugin " + (last == "pull" ? std::string("install") : last);
        if (change) return Endpoint::plugin_change;
    }
    if (n == 2 && p[0] == "swarm" && (p[1] == "init" || p[1] == "join")) {
        what = "docker swarm " + p[1];
        return Endpoint::swarm;
    }
    if (p[0] == "services" && ((n == 2 && p[1] == "create") || (n == 3 && p[2] == "update"))) {
        what = "docker service " + p[n - 1];
        return Endpoint::swarm;
    }
    return Endpoint::other;
}

// The JSON body a create, update, exec or volume create must carry: dockerd shows the plugin a
// body only when its Content-Type is exactly application/json; without one the plugin would
// approve what it cannot see (CVE-2024-41110).
json required_body(const AuthzRequest& request) {
    const auto type = request.header("Content-Type");
    if (type != "application/json")
        throw Malformed{"a body whose Content-Type is " + (type ? "\"" + *type + "\"" : std::string("missing")) +
                        ", not application/json, so dockerd hides it from berth-authz"};
    if (request.body.empty()) throw Malformed{"an empty body (dockerd shows berth-authz no body: CVE-2024-41110)"};
    auto body = parse_go_json(request.body);
    if (!body) throw Malformed{"a request body that is " + body.error()};
    if (!body->is_object()) throw Malformed{"a request body that is not a JSON object"};
    return std::move(*body);
}

void check_endpoint(Endpoint endpoint, const Route& route, const AuthzRequest& request, Findings& findings) {
    switch (endpoint) {
        case Endpoint::create: {
            const json body = required_body(request);
            check_host_config(body, "the body", findings);  // dockerd reads HostConfig fields here too
            if (const json* hc = read_object(body, "HostConfig", "the body")) check_host_config(*hc, "HostConfig", findings);
            break;
        }
        case Endpoint::update: check_devices(required_body(request), "the body", findings); break;
        case Endpoint::exec:
            if (read_bool(required_body(request), "Privileged", "the body"))
                findings.add(Rule::exec_privileged, "docker exec --privileged");
            break;
        case Endpoint::start:
            // Before API 1.24 a start could carry a HostConfig, and its body may be hidden.
            if (route.version_below(1, 24)) throw Malformed{"a container start through API version below 1.24"};
            break;
        case Endpoint::volume_create: {
            const json body = required_body(request);
            check_volume_options(read_string(body, "Driver", "the body"), read_object(body, "DriverOpts", "the body"),
                                 "docker volume create", findings);
            break;
        }
        case Endpoint::build:
            for (const auto& mode : route.query_values("networkmode"))
                if (ascii_lower(mode) == "host")
                    findings.add(Rule::build_network_host, "docker build --network=host");
            break;
        default: break;
    }
}

std::string printable(std::string_view text) {
    std::string out;
    for (char c : text.substr(0, 200)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    if (text.size() > 200) out += "...";
    return out;
}

// A refusal when a certificate the client presented has a revoked serial (or cannot be read while
// serials are revoked: it might be a revoked one).
std::optional<Decision> check_revoked(const Policy& policy, const AuthzRequest& request, std::string_view policy_path) {
    if (policy.revoked.empty()) return std::nullopt;
    for (const auto& pem : request.peer_certificates) {
        auto serial = pem_certificate_serial(pem);
        if (!serial) return refuse(Rule::malformed, "a client certificate berth-authz cannot read: " + serial.error(), policy_path);
        if (!policy.revoked.contains(*serial)) continue;
        Decision d;
        d.allow = false;
        d.rule = Rule::revoked;
        d.what = "certificate serial " + *serial;
        d.message = "berth-authz: certificate serial " + *serial +
                    " is revoked on this host (rule revoked); ask the machine's owner for a new certificate "
                    "(`berth certs issue`)";
        return d;
    }
    return std::nullopt;
}

}  // namespace

Decision refuse(Rule rule, std::string_view what, std::string_view policy_path) {
    Decision d;
    d.allow = false;
    d.rule = rule;
    d.what = printable(what);
    d.message = "berth-authz: " + d.what + " is refused on this host (rule " + std::string(rule_name(rule)) + " in " +
                std::string(policy_path) + ")";
    return d;
}

Decision evaluate(const Policy& policy, const AuthzRequest& request, std::string_view policy_path) {
    if (auto revoked = check_revoked(policy, request, policy_path)) return *revoked;
    auto route = parse_route(request.uri);
    if (!route) return refuse(Rule::malformed, "a request URI with a bad percent-encoding", policy_path);
    Findings findings(policy.role_for(request.user));
    try {
        // A body dockerd shows is JSON (its Content-Type says so); one that does not parse is refused.
        if (!request.body.empty()) {
            auto body = parse_go_json(request.body);
            if (!body) return refuse(Rule::malformed, "a request body that is " + body.error(), policy_path);
        }
        if (is_post(request)) {
            std::string what;
            const Endpoint endpoint = endpoint_of(*route, what);
            if (endpoint == Endpoint::plugin_change) findings.add(Rule::plugins, what);
            else if (endpoint == Endpoint::swarm) findings.add(Rule::swarm, what);
            else check_endpoint(endpoint, *route, request, findings);
        }
    } catch (const Malformed& m) {
        return refuse(Rule::malformed, m.why, policy_path);
    } catch (const std::exception& e) {
        return refuse(Rule::malformed, std::string("a request berth-authz cannot read: ") + e.what(), policy_path);
    }
    if (const Finding* f = findings.first_refusal()) return refuse(f->rule, f->what, policy_path);
    return Decision{};
}

}  // namespace berth::authz
