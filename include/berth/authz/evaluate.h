#pragma once
/// The decision on one request dockerd is about to serve: the policy's rules applied to its
/// method, path and JSON body, for the role of its user. Fails closed: what cannot be read is
/// refused under the rule `malformed`, which no role waives.

#include <berth/authz/policy.h>
#include <berth/authz/request.h>

#include <string>
#include <string_view>

namespace berth::authz {

struct Decision {
    bool allow = true;
    Rule rule = Rule::malformed;  ///< the rule that refused it (when !allow)
    std::string what;             ///< what was refused, as the docker CLI flag ("--cap-add SYS_ADMIN")
    std::string message;          ///< for the client: "berth-authz: <what> is refused on this host (rule ...)"
};

/// The decision on `request` under `policy` (read from `policy_path`, which the message names).
[[nodiscard]] Decision evaluate(const Policy& policy, const AuthzRequest& request, std::string_view policy_path);

/// A refusal under `rule` of `what` (control characters replaced, long values shortened).
[[nodiscard]] Decision refuse(Rule rule, std::string_view what, std::string_view policy_path);

}  // namespace berth::authz
