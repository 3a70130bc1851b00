// berth apply's swarm phase, after the plan ran. With `swarm:`, each ready machine of the spec
// gets its swarm membership (role, peers) recorded and, when that changed, is provisioned again
// (the firewall's swarm ports and the owner's swarm role: a reload, no docker restart); then
// SwarmService makes them one swarm. Without `swarm:`, the fleet's machines that are still in one
// leave it and lose both.

#include <berth/service/fleet_service.h>

#include <berth/core/log.h>
#include <berth/service/swarm_service.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <set>

namespace berth {
Result<std::vector<SwarmNode>> swarm_nodes(const FleetSpec& spec, const std::vector<FleetNodeState>& machines,
                                           std::vector<std::string>& skipped) {
    std::vector<SwarmNode> nodes;
    if (!spec.swarm) return nodes;
    for (const auto& m : spec.machines) {
        auto it = std::find_if(machines.begin(), machines.end(), [&](const FleetNodeState& s) { return s.name == m.name; });
        if (it == machines.end() || !it->ready || it->address.empty()) {
            skipped.push_back(m.name);
            continue;
        }
        nodes.push_back({m.name, spec.swarm_role(m.name), it->address});
    }
    if (!nodes.empty() && std::none_of(nodes.begin(), nodes.end(), [](const SwarmNode& n) { return n.role == "manager"; }))
        return fail("no manager of the fleet's swarm is ready (" + spec.swarm->managers.front() + " is not ready)",
                    "fix the manager's failure above and apply again");
    return nodes;
}

Result<void> FleetService::converge_swarm(const FleetSpec& spec, const ApplyOptions& options, ApplyReport& report) const {
    std::set<std::string> failed;
    for (const auto& o : report.outcomes)
        if (o.error) failed.insert(o.name);
    if (!spec.swarm) {
        std::vector<std::string> in_a_swarm;
        for (const auto& m : spec.machines)
            if (auto record = m_machines.store().load(m.name); record && !record->swarm.empty()) in_a_swarm.push_back(m.name);
        if (in_a_swarm.empty()) return {};
        ProgressScope progress("swarm", options.progress);
        return leave_swarm(spec, in_a_swarm, options, report);
    }
    ProgressScope progress("swarm", options.progress);
    // The spec's machines as they are now: ready or not, and their addresses.
    std::vector<FleetNodeState> states;
    for (const auto& m : spec.machines) {
        FleetNodeState state{m.name, false, {}};
        auto record = m_machines.store().load(m.name);
        if (!failed.contains(m.name) && record && record->status == MachineStatus::Ready) {
            auto machine = m_machines.open(m.name);
            if (!machine) return std::unexpected(machine.error());
            auto ip = machine->driver->ip();
            if (!ip) return std::unexpected(ip.error());
            state.ready = true;
            state.address = *ip;
        }
        states.push_back(std::move(state));
    }
    std::vector<std::string> skipped;
    auto nodes = swarm_nodes(spec, states, skipped);
    if (!nodes) return std::unexpected(nodes.error());
    SwarmReport swarm;
    for (const auto& name : skipped) swarm.warnings.push_back(name + " is not ready; it joins the swarm at the next apply");
    if (nodes->empty()) {
        report.swarm = std::move(swarm);
        return {};
    }
    // Each node's firewall and policy: only where its membership changed.
    progress_step("firewall and policy");
    std::mutex mutex;
    std::vector<std::string> errors;
    run_bounded(nodes->size(), options.parallel > 0 ? options.parallel : 4, [&](std::size_t i) {
        const SwarmNode& node = (*nodes)[i];
        MachineLogScope log_scope{node.machine};
        const SwarmMembership wanted{node.role, swarm_peers(*nodes, node.machine)};
        auto record = m_machines.store().load(node.machine);
        const bool changed = record && (record->swarm != wanted || !record->authz.owner_swarm);
        Result<void> done = {};
        if (!record) done = std::unexpected(record.error());
        else if (changed) done = set_and_provision(spec, node.machine, wanted);
        std::lock_guard lock(mutex);
        if (!done) errors.push_back(node.machine + ": " + error_line(done.error()));
        else if (changed) report.swarm_provisioned.push_back(node.machine);
    });
    std::sort(report.swarm_provisioned.begin(), report.swarm_provisioned.end());
    if (!errors.empty()) {
        std::string all;
        for (const auto& e : errors) all += "\n  " + e;
        return fail("the swarm's firewall and policy could not be written:" + all,
                    "fix each, then apply again (the swarm is joined once every node's firewall lets its peers in)");
    }
    progress_step("joining");
    // Machines this apply removed or made again: their old nodes leave the swarm now.
    std::set<std::string> departed;
    for (const auto& o : report.outcomes)
        if (!o.error && (o.action == PlanAction::Remove || o.action == PlanAction::Replace)) departed.insert(o.name);
    auto converged = SwarmService(m_machines).converge(*nodes, std::chrono::minutes(5), departed);
    if (!converged) return std::unexpected(converged.error());
    converged->warnings.insert(converged->warnings.begin(), swarm.warnings.begin(), swarm.warnings.end());
    report.swarm = std::move(*converged);
    return {};
}

Result<void> FleetService::set_and_provision(const FleetSpec& spec, const std::string& name,
                                             const SwarmMembership& membership) const {
    if (auto ok = m_machines.set_swarm(name, membership); !ok) return ok;
    ProvisionOptions options;
    if (const auto* desired = spec.find(name)) {
        options = desired->request.provision;
        options.engine = desired->request.engine;
    }
    auto provisioned = m_machines.provision(name, options);
    if (!provisioned) return std::unexpected(provisioned.error());
    return {};
}

Result<void> FleetService::leave_swarm(const FleetSpec& spec, const std::vector<std::string>& machines,
                                       const ApplyOptions&, ApplyReport& report) const {
    if (machines.empty()) return {};
    progress_step("leaving");
    std::vector<std::string> reachable;
    for (const auto& name : machines) {
        auto record = m_machines.store().load(name);
        if (record && record->status == MachineStatus::Ready) reachable.push_back(name);
    }
    auto left = SwarmService(m_machines).leave(reachable);
    if (!left) return std::unexpected(left.error());
    for (const auto& name : reachable) {
        MachineLogScope log_scope{name};
        if (auto ok = set_and_provision(spec, name, SwarmMembership{}); !ok) return ok;
        report.swarm_left.push_back(name);
    }
    return {};
}

}  // namespace berth
