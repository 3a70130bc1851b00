#pragma once
/// The head of an HTTP/1.x request, read strictly: what berth-authz's server accepts from dockerd
/// (Go's client: POST, Content-Length bodies, keep-alive). Anything else is an error with the
/// status to answer, never a guess.

#include <cstddef>
#include <string>
#include <string_view>

namespace berth::authz {

struct HttpHead {
    std::string method;
    std::string target;            ///< as sent ("/AuthZPlugin.AuthZReq")
    std::size_t content_length = 0;
    bool keep_alive = true;        ///< HTTP/1.1 without "Connection: close"
};

enum class HeadStatus { incomplete, complete, bad };

struct HeadResult {
    HeadStatus status = HeadStatus::incomplete;
    HttpHead head;
    std::size_t head_size = 0;  ///< bytes up to and including the blank line (when complete)
    int error_status = 0;       ///< 400 (when bad)
    std::string error;          ///< why (when bad)
};

/// The request head at the start of `buffer`: incomplete until its blank line has arrived (bad
/// once `max_head` bytes came without one). Bad (status 400, and why): a malformed request line
/// or header, a version other than HTTP/1.0 or 1.1, Transfer-Encoding (chunked bodies are
/// refused), a repeated or non-numeric Content-Length, one over `max_body`.
[[nodiscard]] HeadResult parse_http_head(std::string_view buffer, std::size_t max_head, std::size_t max_body);

}  // namespace berth::authz
