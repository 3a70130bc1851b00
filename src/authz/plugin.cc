#include <berth/authz/plugin.h>

#include <berth/authz/evaluate.h>
#include <berth/authz/go_json.h>
#include <berth/authz/request.h>

#include <nlohmann/json.hpp>

namespace berth::authz {
namespace {

std::string dump(const nlohmann::json& j) {
    // Values from a request may be cut inside a UTF-8 sequence: replace rather than throw.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string answer(const Decision& d) {
    nlohmann::json j = {{"Allow", d.allow}};
    if (!d.allow) j["Msg"] = d.message;
    return dump(j);
}

std::string refusal_line(const AuthzRequest* request, const Decision& d) {
    std::string uri = request ? request->uri : "";
    uri = uri.substr(0, uri.find('?'));  // the query may carry build args: not logged
    return "refused user=\"" + log_escape(request ? request->user : "?") + "\" authn=\"" +
           log_escape(request ? request->authn_method : "") + "\" method=\"" + log_escape(request ? request->method : "") +
           "\" uri=\"" + log_escape(uri) + "\" rule=" + std::string(rule_name(d.rule)) + " what=\"" + log_escape(d.what) + "\"";
}

PluginReply authz_request(std::string_view body, const Policy& policy, std::string_view policy_path) {
    auto request = parse_authz_request(body);
    const Decision d = request ? evaluate(policy, *request, policy_path) : refuse(Rule::malformed, request.error(), policy_path);
    PluginReply reply;
    reply.body = answer(d);
    if (!d.allow) reply.log_line = refusal_line(request ? &*request : nullptr, d);
    return reply;
}

}  // namespace

std::string log_escape(std::string_view text) {
    static const char* const k_hex = "0123456789abcdef";
    std::string out;
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c >= 0x20 && c < 0x7f) {
            out += ch;
        } else {
            out += "\\x";
            out += k_hex[c >> 4];
            out += k_hex[c & 0xf];
        }
    }
    return out;
}

PluginReply handle_plugin_call(std::string_view path, std::string_view body, const Policy& policy,
                               std::string_view policy_path) {
    try {
        if (path == "/Plugin.Activate") return {200, R"({"Implements":["authz"]})", ""};
        if (path == "/AuthZPlugin.AuthZReq") return authz_request(body, policy, policy_path);
        if (path == "/AuthZPlugin.AuthZRes") {
            auto parsed = parse_go_json(body);
            if (parsed && parsed->is_object()) return {200, R"({"Allow":true})", ""};
            const Decision d = refuse(Rule::malformed, "an AuthZRes berth-authz cannot read", policy_path);
            return {200, answer(d), refusal_line(nullptr, d)};
        }
        return {404, dump({{"Err", "berth-authz: no such call: " + std::string(path)}}), ""};
    } catch (...) {
        // Nothing above should throw (allocation aside); if it does, refuse.
        return {200, R"({"Allow":false,"Msg":"berth-authz: internal error, request refused"})", "refused internal error"};
    }
}

}  // namespace berth::authz
