#pragma once
/// A machine's berth-authz settings (--authz-owner-role, --authz-policy), one type from the flags
/// to the record to the provisioner, so every later provision and upgrade writes the same policy.

#include <string>

namespace berth {

struct AuthzConfig {
    /// The role of the machine's own client certificate in the default policy: "restricted" or
    /// "admin" (--authz-owner-role admin, which weakens the hardening).
    std::string owner_role = "restricted";
    /// --authz-policy FILE was given: the policy is the copy in the machine's directory
    /// (k_authz_policy_file), not the default rendered from the template.
    bool custom_policy = false;
    /// The machine is in a fleet's swarm (`swarm:` in a spec): the default policy lets the
    /// owner's certificate run `docker swarm init|join` and services, which start containers
    /// berth-authz never sees (shown as weakened: authz-owner-swarm).
    bool owner_swarm = false;

    [[nodiscard]] bool is_default() const { return owner_role == "restricted" && !custom_policy && !owner_swarm; }
};

}  // namespace berth
