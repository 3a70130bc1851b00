#include <berth/service/swarm_service.h>

#include <berth/core/docker_url.h>
#include <berth/core/log.h>
#include <berth/service/connect.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

namespace berth {
namespace {

using nlohmann::json;

constexpr int k_swarm_port = 2377;

/// One node while converging: its API, and what /info said about its swarm.
struct NodeState {
    const SwarmNode* node = nullptr;
    std::unique_ptr<DockerProbe> api;
    std::string local_state;  ///< Swarm.LocalNodeState: inactive, pending, active, error, locked
    std::string node_id;      ///< Swarm.NodeID
    bool control = false;     ///< Swarm.ControlAvailable: a manager
};

/// "ADDR:2377", IPv6 in brackets.
std::string swarm_endpoint(const std::string& address) {
    const std::string port = std::to_string(k_swarm_port);
    return address.find(':') == std::string::npos ? address + ":" + port : "[" + address + "]:" + port;
}

/// The daemon's own message from an error answer, else the start of its body (never our request).
std::string api_message(const ApiAnswer& answer) {
    auto body = json::parse(answer.body, nullptr, false);
    if (body.is_object() && body.contains("message") && body["message"].is_string())
        return body["message"].get<std::string>();
    return answer.body.substr(0, 200);
}

Result<json> call_json(DockerProbe& api, const SwarmNode& node, std::string_view method, std::string_view path,
                       const std::string& body = {}) {
    auto answer = api.call(method, path, body);
    if (!answer) return std::unexpected(answer.error());
    if (answer->status < 200 || answer->status > 299)
        return fail("Docker on " + node.machine + " refused " + std::string(method) + " " + std::string(path) +
                        " (HTTP " + std::to_string(answer->status) + "): " + api_message(*answer),
                    "see `berth ssh " + node.machine + " -- journalctl -u docker`; docs/fleet.md explains swarm:");
    if (answer->body.empty()) return json(nullptr);
    auto parsed = json::parse(answer->body, nullptr, false);
    if (parsed.is_discarded())
        return fail("Docker on " + node.machine + " answered " + std::string(path) + " with a body that is not JSON");
    return parsed;
}

Result<void> read_state(NodeState& state) {
    auto info = state.api->info();
    if (!info) return std::unexpected(info.error());
    const json swarm = info->value("Swarm", json::object());
    state.local_state = swarm.value("LocalNodeState", "");
    state.node_id = swarm.value("NodeID", "");
    state.control = swarm.value("ControlAvailable", false);
    if (state.local_state == "inactive" || state.local_state == "active") return {};
    return fail("Docker on " + state.node->machine + " is in swarm state \"" + state.local_state +
                    "\", neither inactive nor active",
                "look at `docker info` on it (berth ssh " + state.node->machine + "); `docker swarm leave --force` "
                "there lets the next apply join it again");
}

/// One node as the manager lists it.
struct Listed {
    std::string state;     ///< Status.State: ready, down, unknown, disconnected
    std::string role;      ///< Spec.Role
    std::string hostname;  ///< Description.Hostname (berth names the host after the machine)
    std::uint64_t version = 0;  ///< Version.Index, for an update
    json spec;             ///< Spec, as an update sends it back
};

/// The manager's node list, by node ID.
Result<std::map<std::string, Listed>> list_nodes(NodeState& manager) {
    auto nodes = call_json(*manager.api, *manager.node, "GET", "/nodes");
    if (!nodes) return std::unexpected(nodes.error());
    std::map<std::string, Listed> out;
    if (!nodes->is_array()) return out;
    for (const auto& n : *nodes) {
        if (!n.is_object()) continue;
        Listed item;
        const json status = n.value("Status", json::object());
        item.spec = n.value("Spec", json::object());
        if (!item.spec.is_object()) item.spec = json::object();
        const json description = n.value("Description", json::object());
        const json version = n.value("Version", json::object());
        item.state = status.is_object() ? status.value("State", "") : "";
        item.role = item.spec.value("Role", "");
        item.hostname = description.is_object() ? description.value("Hostname", "") : "";
        item.version = version.is_object() && version.contains("Index") && version["Index"].is_number_unsigned()
                           ? version["Index"].get<std::uint64_t>()
                           : 0;
        out[n.value("ID", "")] = std::move(item);
    }
    return out;
}

/// Sets a node's role through the manager (docker node promote|demote).
Result<void> set_role(NodeState& manager, const std::string& id, const Listed& listed, const std::string& role) {
    json spec = listed.spec;
    spec["Role"] = role;
    auto ok = call_json(*manager.api, *manager.node, "POST",
                        "/nodes/" + id + "/update?version=" + std::to_string(listed.version), spec.dump());
    if (!ok) return std::unexpected(ok.error());
    return {};
}

Result<void> init_swarm(NodeState& state) {
    const json body = {{"ListenAddr", "0.0.0.0:" + std::to_string(k_swarm_port)},
                       {"AdvertiseAddr", swarm_endpoint(state.node->address)}};
    spdlog::info("[{}] initialising the fleet's swarm (manager, {})", state.node->machine, state.node->address);
    if (auto ok = call_json(*state.api, *state.node, "POST", "/swarm/init", body.dump()); !ok)
        return std::unexpected(ok.error());
    return read_state(state);
}

Result<void> join_swarm(NodeState& state, const NodeState& manager, const json& tokens) {
    const bool as_manager = state.node->role == "manager";
    const std::string token = tokens.value(as_manager ? "Manager" : "Worker", "");
    if (token.empty()) return fail("the swarm's manager " + manager.node->machine + " gave no join token");
    const json body = {{"ListenAddr", "0.0.0.0:" + std::to_string(k_swarm_port)},
                       {"AdvertiseAddr", swarm_endpoint(state.node->address)},
                       {"RemoteAddrs", {swarm_endpoint(manager.node->address)}},
                       {"JoinToken", token}};
    spdlog::info("[{}] joining the fleet's swarm as a {}", state.node->machine, state.node->role);
    if (auto ok = call_json(*state.api, *state.node, "POST", "/swarm/join", body.dump()); !ok)
        return std::unexpected(ok.error());
    return read_state(state);
}

/// Polls the manager's node list until every node is ready, or `within` passes.
Result<void> wait_ready(std::vector<NodeState>& states, NodeState& manager, Clock& clock, std::chrono::seconds within,
                        SwarmReport& report) {
    const auto deadline = clock.now() + within;
    for (;;) {
        auto listed = list_nodes(manager);
        if (!listed) return std::unexpected(listed.error());
        int ready = 0;
        std::string waiting;
        for (const auto& state : states) {
            auto it = listed->find(state.node_id);
            if (it != listed->end() && it->second.state == "ready") ++ready;
            else waiting += (waiting.empty() ? "" : ", ") + state.node->machine;
        }
        report.ready = ready;
        if (waiting.empty()) return {};
        if (clock.now() >= deadline)
            return fail("the swarm's nodes " + waiting + " are not ready after " + std::to_string(within.count()) + " s",
                        "look at `docker node ls` on " + manager.node->machine + " and the firewall (2377/tcp, "
                        "7946/tcp+udp, 4789/udp between the fleet's hosts)");
        clock.sleep_for(std::chrono::seconds(2));
    }
}

/// Roles as the spec says (promotions first, so the swarm never loses its last manager on the
/// way), then nodes the fleet no longer has: a node that is none of `states` and is down, or is
/// a machine this apply removed (`departed`, by host name: berth names the host after the
/// machine), is demoted if need be and removed from the swarm. A live node berth did not join
/// is left alone, with a warning.
Result<void> converge_roles(std::vector<NodeState>& states, NodeState& manager, const std::set<std::string>& departed,
                            SwarmReport& report) {
    auto members = list_nodes(manager);
    if (!members) return std::unexpected(members.error());
    for (const char* wanted : {"manager", "worker"})
        for (auto& state : states) {
            auto it = members->find(state.node_id);
            if (state.node->role != wanted || it == members->end() || it->second.role == wanted) continue;
            spdlog::info("[{}] making it a swarm {}", state.node->machine, wanted);
            if (auto ok = set_role(manager, state.node_id, it->second, wanted); !ok) return ok;
            report.roles_changed.push_back(state.node->machine);
        }
    std::set<std::string> ours;
    for (const auto& state : states) ours.insert(state.node_id);
    for (const auto& [id, listed] : *members) {
        if (ours.contains(id)) continue;
        const std::string who = listed.hostname.empty() ? "node " + id : listed.hostname;
        if (listed.state != "down" && !departed.contains(listed.hostname)) {
            report.warnings.push_back(who + " is in the fleet's swarm but is not a machine of the spec; left as it is");
            continue;
        }
        if (listed.role == "manager") {
            if (auto ok = set_role(manager, id, listed, "worker"); !ok) {
                report.warnings.push_back(who + " is a down manager the fleet no longer has; demoting it failed: " +
                                          ok.error().message);
                continue;
            }
        }
        if (auto ok = call_json(*manager.api, *manager.node, "DELETE", "/nodes/" + id + "?force=true"); !ok) {
            report.warnings.push_back(who + " is down and no longer in the fleet; removing it failed: " + ok.error().message);
            continue;
        }
        spdlog::info("[{}] removed {} (down, no longer in the fleet) from the swarm", manager.node->machine, who);
        report.removed.push_back(who);
    }
    return {};
}

}  // namespace

std::vector<std::string> swarm_peers(const std::vector<SwarmNode>& nodes, std::string_view machine) {
    std::set<std::string> peers;
    for (const auto& n : nodes)
        if (n.machine != machine) peers.insert(n.address);
    return {peers.begin(), peers.end()};
}

SwarmService::SwarmService(const MachineService& machines) : m_machines(machines) {}

Result<SwarmReport> SwarmService::converge(const std::vector<SwarmNode>& nodes, std::chrono::seconds ready_within,
                                           const std::set<std::string>& departed) const {
    if (nodes.empty()) return SwarmReport{};
    std::vector<NodeState> states;
    for (const auto& node : nodes) {
        if (node.role != "manager" && node.role != "worker")
            return fail_usage("swarm role of " + node.machine + " is \"" + node.role + "\", not manager or worker");
        if (!is_ip_address(node.address))
            return fail("machine " + node.machine + " has no IP address for the swarm (\"" + node.address + "\")");
        auto machine = m_machines.open(node.machine);
        if (!machine) return std::unexpected(machine.error());
        auto api = docker_probe(m_machines.ports(), node.machine, *machine->driver);
        if (!api) return std::unexpected(api.error());
        NodeState state;
        state.node = &node;
        state.api = std::move(*api);
        if (auto ok = read_state(state); !ok) return std::unexpected(ok.error());
        states.push_back(std::move(state));
    }
    SwarmReport report;
    // The node whose API speaks for the cluster: a desired manager already managing the swarm,
    // else any node managing it (the spec may have made it a worker), else the first desired
    // manager, which initialises the swarm.
    auto manager = std::find_if(states.begin(), states.end(),
                                [](const NodeState& s) { return s.node->role == "manager" && s.control; });
    if (manager == states.end())
        manager = std::find_if(states.begin(), states.end(), [](const NodeState& s) { return s.control; });
    if (manager == states.end()) {
        manager = std::find_if(states.begin(), states.end(), [](const NodeState& s) { return s.node->role == "manager"; });
        if (manager == states.end()) return fail_usage("the fleet's swarm has no manager", "give swarm: managers: at least one machine");
        if (manager->local_state == "active")
            return fail("machine " + manager->node->machine + " is in a swarm as a worker, and no machine of the fleet manages one",
                        "run `docker swarm leave --force` on it (berth ssh " + manager->node->machine + "), then apply again");
        if (auto ok = init_swarm(*manager); !ok) return std::unexpected(ok.error());
        report.initialized.push_back(manager->node->machine);
    }
    report.manager = manager->node->machine;
    auto swarm = call_json(*manager->api, *manager->node, "GET", "/swarm");
    if (!swarm) return std::unexpected(swarm.error());
    const json tokens = swarm->value("JoinTokens", json::object());
    auto members = list_nodes(*manager);
    if (!members) return std::unexpected(members.error());
    for (auto& state : states) {
        if (&state == &*manager) continue;
        if (state.local_state == "active") {
            if (!members->contains(state.node_id))
                return fail("machine " + state.node->machine + " is in another swarm than the fleet's (manager " +
                                manager->node->machine + ")",
                            "run `docker swarm leave --force` on it (berth ssh " + state.node->machine + "), then apply again");
            continue;
        }
        if (auto ok = join_swarm(state, *manager, tokens); !ok) return std::unexpected(ok.error());
        report.joined.push_back(state.node->machine);
    }
    if (auto ok = converge_roles(states, *manager, departed, report); !ok) return std::unexpected(ok.error());
    if (auto ok = wait_ready(states, *manager, *m_machines.ports().clock, ready_within, report); !ok)
        return std::unexpected(ok.error());
    return report;
}

Result<std::vector<std::string>> SwarmService::leave(const std::vector<std::string>& machines) const {
    std::vector<std::string> left;
    for (const auto& name : machines) {
        auto machine = m_machines.open(name);
        if (!machine) return std::unexpected(machine.error());
        auto api = docker_probe(m_machines.ports(), name, *machine->driver);
        if (!api) return std::unexpected(api.error());
        const SwarmNode node{name, "worker", ""};
        NodeState state;
        state.node = &node;
        state.api = std::move(*api);
        auto info = state.api->info();
        if (!info) return std::unexpected(info.error());
        const json swarm = info->value("Swarm", json::object());
        if (!swarm.is_object() || swarm.value("LocalNodeState", "") == "inactive") continue;
        spdlog::info("[{}] leaving the fleet's swarm", name);
        if (auto ok = call_json(*state.api, node, "POST", "/swarm/leave?force=true"); !ok) return std::unexpected(ok.error());
        left.push_back(name);
    }
    return left;
}

}  // namespace berth
