#pragma once
/// What dockerd POSTs to /AuthZPlugin.AuthZReq (moby pkg/authorization, api.go): the user (the
/// client certificate's CN, "" over the unix socket), the HTTP method, the request URI as the
/// client sent it (path and query, percent-encoded), the request's JSON body (only when its
/// Content-Type is exactly application/json and it is under 1 MiB) and its headers.

#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::authz {

struct AuthzRequest {
    std::string user;         ///< "User"; absent (the unix socket) reads as ""
    std::string authn_method; ///< "UserAuthNMethod" ("TLS")
    std::string method;       ///< "RequestMethod"
    std::string uri;          ///< "RequestUri"
    std::string body;         ///< "RequestBody", base64-decoded; "" when dockerd sent none
    std::map<std::string, std::string> headers;  ///< "RequestHeaders", names as sent
    /// "RequestPeerCertificates": the certificates the client presented over TLS, each the PEM of
    /// one (dockerd sends them base64-encoded), the client's own first; none over the unix socket.
    std::vector<std::string> peer_certificates;

    /// The value of header `name` compared ignoring case, or nothing.
    [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
};

/// The AuthZReq in `json`. Fails (saying why) on anything dockerd would not have sent: not JSON,
/// a field of the wrong type, RequestBody that is not base64.
[[nodiscard]] std::expected<AuthzRequest, std::string> parse_authz_request(std::string_view json);

/// Standard base64 with padding (Go's encoding of []byte); nothing on any other input.
[[nodiscard]] std::optional<std::string> decode_base64(std::string_view text);

}  // namespace berth::authz
