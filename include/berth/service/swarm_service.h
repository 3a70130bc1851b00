#pragma once
/// A fleet's `swarm:` section: its machines made one Docker Swarm through each host's Docker API
/// over mutual TLS (the owner's certificate, which the fleet's policy lets run swarm: see
/// AuthzConfig::owner_swarm). berth writes no orchestration of its own: it asks each daemon
/// what it is (GET /info), initialises the swarm on the first manager when no machine is in one
/// (POST /swarm/init), joins the others with the manager's or the worker's token (GET /swarm,
/// POST /swarm/join), promotes or demotes nodes to the spec's roles (POST /nodes/ID/update),
/// removes down nodes the fleet no longer has (DELETE /nodes/ID: a pruned or re-created
/// machine), then waits until the manager lists every machine as ready (GET /nodes).
/// Converging again changes nothing. A machine already in a swarm the fleet's manager does not
/// know is an error, never taken over. Join tokens are secrets: never logged, never in an error.

#include <berth/core/error.h>
#include <berth/service/machine_service.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

namespace berth {

/// One machine of the swarm.
struct SwarmNode {
    std::string machine;
    std::string role;     ///< "manager" or "worker"
    std::string address;  ///< the IP address the other nodes reach it by (its advertise address)
};

struct SwarmReport {
    std::string manager;              ///< the machine whose API answered for the cluster
    std::vector<std::string> initialized;  ///< the machine the swarm was initialised on (at most one)
    std::vector<std::string> joined;  ///< machines that joined now
    std::vector<std::string> roles_changed;  ///< machines promoted or demoted to the spec's role
    std::vector<std::string> removed;  ///< down nodes the fleet no longer has, removed from the swarm
    std::vector<std::string> warnings;  ///< e.g. a live node the fleet did not join
    int ready = 0;                    ///< nodes the manager lists as ready
};

/// The swarm ports' peers of `machine`: every other node's address, sorted, without duplicates.
[[nodiscard]] std::vector<std::string> swarm_peers(const std::vector<SwarmNode>& nodes, std::string_view machine);

class SwarmService {
public:
    explicit SwarmService(const MachineService& machines);
    /// Makes `nodes` one swarm (the first manager initialises it) and waits up to `ready_within`
    /// for the manager to list every node as ready.
    /// `departed`: machines this apply removed or made again; their old nodes are removed from
    /// the swarm at once, down or not yet (their VM is gone), not only once they are down.
    [[nodiscard]] Result<SwarmReport> converge(const std::vector<SwarmNode>& nodes, std::chrono::seconds ready_within,
                                               const std::set<std::string>& departed = {}) const;
    /// Takes each machine out of whatever swarm it is in (POST /swarm/leave?force=true; a spec
    /// that no longer has swarm:). Machines in none are skipped. Returns those that left.
    [[nodiscard]] Result<std::vector<std::string>> leave(const std::vector<std::string>& machines) const;

private:
    const MachineService& m_machines;
};

}  // namespace berth
