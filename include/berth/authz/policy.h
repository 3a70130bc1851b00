#pragma once
/// The authorization policy of berth-authz (/etc/berth/authz.yaml): which rules each role waives,
/// where each role may bind-mount from, and which role each client certificate's CN gets.
///
///   version: 1
///   default_role: restricted          # for every CN not listed under users
///   roles:
///     restricted:
///       waive: []                     # rule names, or `all`
///       bind_allow: [/srv/berth]      # absolute host paths; default [/srv/berth]
///     admin:
///       waive: all
///   users:
///     "berth client for web1": admin  # CN -> role; "" is the unix socket (root and the docker group)
///
/// The rule `malformed` (a request that cannot be read) is never waived by any role, nor is
/// `revoked` (a client certificate whose serial is in the revocation list, parse_revoked).

#include <array>
#include <cstddef>
#include <expected>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace berth::authz {

/// What a request may be refused for; the names (rule_name) are the policy's vocabulary.
enum class Rule : unsigned char {
    privileged,
    exec_privileged,
    cap_add,
    security_opt,
    userns_host,
    host_namespaces,
    devices,
    bind_mounts,
    docker_socket,
    sysctls,
    plugins,
    build_network_host,
    swarm,
    revoked,    ///< the client certificate's serial is revoked on this host (never waived)
    malformed,
};
inline constexpr std::size_t k_rule_count = static_cast<std::size_t>(Rule::malformed) + 1;

/// The rule's name as the policy, the refusal message and the journal write it ("cap_add").
[[nodiscard]] std::string_view rule_name(Rule rule);
/// The rule named `name`, or nothing for a name that is not a rule.
[[nodiscard]] std::optional<Rule> rule_from_name(std::string_view name);

/// A role: the rules it waives and the host directories its bind mounts may come from.
struct Role {
    std::string name;
    std::array<bool, k_rule_count> waived{};  ///< indexed by Rule; waived[malformed] is always false
    std::vector<std::string> bind_allow;      ///< absolute paths, as written in the policy

    [[nodiscard]] bool waives(Rule rule) const { return waived[static_cast<std::size_t>(rule)]; }
};

/// A parsed, checked policy: every role a user or the default names exists.
struct Policy {
    int version = 1;
    std::map<std::string, Role, std::less<>> roles;
    std::map<std::string, std::string, std::less<>> users;  ///< CN -> role name
    std::string default_role;
    /// Serials of revoked client certificates (upper-case hex), from the revocation list berth
    /// keeps beside the policy (/etc/berth/authz-revoked.yaml), not from the policy itself, so a
    /// custom policy still refuses them.
    std::set<std::string, std::less<>> revoked;

    /// The role of `user` (the CN dockerd passes; "" over the unix socket): its entry under
    /// users, else the default role.
    [[nodiscard]] const Role& role_for(std::string_view user) const;
};

/// The policy in `text` (YAML); the error says what is wrong and where (origin:line).
std::expected<Policy, std::string> parse_policy(std::string_view text, std::string_view origin);

/// The revocation list berth writes (/etc/berth/authz-revoked.yaml):
///
///   version: 1
///   revoked:                            # [] when nothing is revoked
///     - serial: 55EE2F588885EBAA290D2DE7C60E3BE8
///       user: alice                     # for people reading the file; not used
///
/// The serials, upper-case hex as berth writes them (lower case is upper-cased); the error says
/// what is wrong and where (origin:line).
std::expected<std::set<std::string, std::less<>>, std::string> parse_revoked(std::string_view text,
                                                                             std::string_view origin);

}  // namespace berth::authz
