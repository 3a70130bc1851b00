// berth-authz's request handling: what dockerd POSTs to /AuthZPlugin.AuthZReq (and through it,
// what any client of the Docker API sent). The first byte picks what the rest is: a whole AuthZReq,
// or the JSON body of a create, update, exec or volume create (so the fuzzer reaches the rules
// without base64), or a policy. Beyond crashes and sanitizer reports, the answer must stay JSON,
// a refusal must carry berth's message, and the journal line must stay one line.
#include "fuzz_input.h"

#include <berth/authz/evaluate.h>
#include <berth/authz/plugin.h>
#include <berth/authz/policy.h>
#include <berth/authz/request.h>

#include <nlohmann/json.hpp>

namespace {

const berth::authz::Policy& policy() {
    static const auto p = berth::authz::parse_policy(
        "version: 1\ndefault_role: restricted\nroles:\n  restricted:\n    bind_allow: [/srv/berth, /tmp]\n"
        "  ops:\n    waive: [bind_mounts, cap_add]\n  admin:\n    waive: all\nusers:\n  admin: admin\n  ops: ops\n",
        "fuzz.yaml");
    if (!p) __builtin_trap();
    return *p;
}

void check_decision(const berth::authz::Decision& d) {
    if (!d.allow && !d.message.starts_with("berth-authz: ")) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const auto text = berth::fuzz::text_of(data + 1, size - 1);
    const unsigned mode = data[0] % 8;
    if (mode < 3) {
        const auto reply = berth::authz::handle_plugin_call(mode == 2 ? "/AuthZPlugin.AuthZRes" : "/AuthZPlugin.AuthZReq",
                                                            text, policy(), "/etc/berth/authz.yaml");
        const auto answer = nlohmann::json::parse(reply.body, nullptr, false);
        if (answer.is_discarded() || reply.log_line.find('\n') != std::string::npos) __builtin_trap();
        return 0;
    }
    if (mode == 7) {
        (void)berth::authz::parse_policy(text, "fuzz.yaml");
        return 0;
    }
    static const char* const k_uris[] = {"/v1.41/containers/create", "/containers/x/update", "/v1.41/containers/x/exec",
                                         "/v1.41/volumes/create"};
    static const char* const k_users[] = {"student", "ops", "admin", ""};
    berth::authz::AuthzRequest request;
    request.method = "POST";
    request.uri = k_uris[mode - 3];
    request.user = k_users[(data[0] >> 3) % 4];
    request.body = std::string(text);
    request.headers = {{"Content-Type", "application/json"}};
    check_decision(berth::authz::evaluate(policy(), request, "/etc/berth/authz.yaml"));
    return 0;
}
