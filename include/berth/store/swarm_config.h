#pragma once
/// A machine's place in its fleet's Docker Swarm (`swarm:` in a fleet spec), one type from the
/// spec to the record to the provisioner, whose firewall opens the swarm ports to the peers only.

#include <string>
#include <vector>

namespace berth {

struct SwarmMembership {
    std::string role;  ///< "manager" or "worker"; "" = not in a swarm
    /// The addresses of the fleet's other hosts: the firewall lets the swarm ports (2377/tcp,
    /// 7946/tcp+udp, 4789/udp) through from these only. IP literals, sorted.
    std::vector<std::string> peers;
    [[nodiscard]] bool empty() const { return role.empty(); }
    bool operator==(const SwarmMembership&) const = default;
};

}  // namespace berth
