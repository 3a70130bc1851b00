#include <berth/authz/request.h>

#include <berth/authz/ascii.h>
#include <berth/authz/go_json.h>

namespace berth::authz {
namespace {

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// A string member (absent or null reads as ""); false when it has another type.
bool read_string(const nlohmann::json& object, std::string_view name, std::string& out) {
    const auto* value = go_field(object, name);
    if (!value) return true;
    if (!value->is_string()) return false;
    out = value->get<std::string>();
    return true;
}

}  // namespace

std::optional<std::string> AuthzRequest::header(std::string_view name) const {
    // parse_go_json refused two header names that differ only in case, so there is one match.
    for (const auto& [key, value] : headers)
        if (ascii_iequal(key, name)) return value;
    return std::nullopt;
}

std::optional<std::string> decode_base64(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        int v[4];
        int pad = 0;
        for (int j = 0; j < 4; ++j) {
            const char c = text[i + static_cast<std::size_t>(j)];
            if (c == '=' && last && j >= 2) {
                v[j] = 0;
                ++pad;
                continue;
            }
            if (pad > 0) return std::nullopt;  // a character after '='
            v[j] = base64_value(c);
            if (v[j] < 0) return std::nullopt;
        }
        const unsigned bits = (static_cast<unsigned>(v[0]) << 18) | (static_cast<unsigned>(v[1]) << 12) |
                              (static_cast<unsigned>(v[2]) << 6) | static_cast<unsigned>(v[3]);
        // Non-zero bits under the padding are accepted, as Go's StdEncoding (not Strict) does.
        out += static_cast<char>((bits >> 16) & 0xff);
        if (pad < 2) out += static_cast<char>((bits >> 8) & 0xff);
        if (pad < 1) out += static_cast<char>(bits & 0xff);
    }
    return out;
}

std::expected<AuthzRequest, std::string> parse_authz_request(std::string_view json) {
    auto parsed = parse_go_json(json);
    if (!parsed) return std::unexpected("the AuthZReq is " + parsed.error());
    const auto& j = *parsed;
    if (!j.is_object()) return std::unexpected("the AuthZReq is not a JSON object");
    AuthzRequest req;
    for (auto [name, out] : {std::pair{"User", &req.user}, std::pair{"UserAuthNMethod", &req.authn_method},
                             std::pair{"RequestMethod", &req.method}, std::pair{"RequestUri", &req.uri}})
        if (!read_string(j, name, *out)) return std::unexpected(std::string("the AuthZReq's ") + name + " is not a string");
    std::string body64;
    if (!read_string(j, "RequestBody", body64)) return std::unexpected("the AuthZReq's RequestBody is not a string");
    auto body = decode_base64(body64);
    if (!body) return std::unexpected("the AuthZReq's RequestBody is not base64");
    req.body = std::move(*body);
    if (const auto* headers = go_field(j, "RequestHeaders")) {
        if (!headers->is_object()) return std::unexpected("the AuthZReq's RequestHeaders is not an object");
        for (auto it = headers->begin(); it != headers->end(); ++it) {
            if (!it.value().is_string()) return std::unexpected("the AuthZReq's header " + it.key() + " is not a string");
            req.headers.emplace(it.key(), it.value().get<std::string>());
        }
    }
    if (const auto* certs = go_field(j, "RequestPeerCertificates"); certs && !certs->is_null()) {
        if (!certs->is_array()) return std::unexpected("the AuthZReq's RequestPeerCertificates is not a list");
        for (const auto& cert : *certs) {
            auto pem = cert.is_string() ? decode_base64(cert.get<std::string>()) : std::nullopt;
            if (!pem) return std::unexpected("a certificate in the AuthZReq's RequestPeerCertificates is not base64");
            req.peer_certificates.push_back(std::move(*pem));
        }
    }
    if (req.method.empty() || req.uri.empty()) return std::unexpected("the AuthZReq has no RequestMethod or RequestUri");
    return req;
}

}  // namespace berth::authz
