#pragma once
/// Docker's authorization plugin protocol (docs/extend/plugins_authorization.md), without the
/// socket: the answer to one POST to /Plugin.Activate, /AuthZPlugin.AuthZReq or
/// /AuthZPlugin.AuthZRes, and the journal line a refusal leaves.

#include <berth/authz/policy.h>

#include <string>
#include <string_view>

namespace berth::authz {

struct PluginReply {
    int status = 200;      ///< 200, or 404 for an unknown call (body {"Err": ...})
    std::string body;      ///< JSON
    std::string log_line;  ///< one line for the journal when a request is refused, else ""
};

/// The reply to a call to `path` with `body`. AuthZReq is decided by evaluate(); an AuthZReq that
/// is not readable is refused (rule malformed); AuthZRes is allowed once its JSON parses (the
/// request it answers was already authorised). Never throws.
[[nodiscard]] PluginReply handle_plugin_call(std::string_view path, std::string_view body, const Policy& policy,
                                             std::string_view policy_path);

/// `text` as one value of a journal line: printable ASCII as it is but `"` and `\` escaped, every
/// other byte (control characters, newlines, UTF-8) as \xNN, so no value can end the line or
/// forge another field.
[[nodiscard]] std::string log_escape(std::string_view text);

}  // namespace berth::authz
