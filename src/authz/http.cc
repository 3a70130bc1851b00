#include <berth/authz/http.h>

#include <berth/authz/ascii.h>

#include <optional>

namespace berth::authz {
namespace {

bool is_token_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    return std::string_view("()<>@,;:\\\"/[]?={}").find(c) == std::string_view::npos;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

HeadResult bad(int status, std::string why) {
    HeadResult r;
    r.status = HeadStatus::bad;
    r.error_status = status;
    r.error = std::move(why);
    return r;
}

std::optional<std::size_t> parse_length(std::string_view text) {
    if (text.empty() || text.size() > 15) return std::nullopt;
    std::size_t n = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    return n;
}

bool parse_request_line(std::string_view line, HttpHead& head, int& minor) {
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) return false;
    head.method = std::string(line.substr(0, sp1));
    head.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
    const auto version = line.substr(sp2 + 1);
    if (head.method.empty() || head.target.empty() || head.target[0] != '/') return false;
    for (char c : head.method)
        if (!is_token_char(c)) return false;
    for (char c : head.target)
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) return false;
    if (version == "HTTP/1.1") minor = 1;
    else if (version == "HTTP/1.0") minor = 0;
    else minor = -1;
    return true;
}

}  // namespace

HeadResult parse_http_head(std::string_view buffer, std::size_t max_head, std::size_t max_body) {
    const auto end = buffer.find("\r\n\r\n");
    if (end == std::string_view::npos || end + 4 > max_head) {
        if (buffer.size() >= max_head || end != std::string_view::npos) return bad(400, "the request head is too large");
        return HeadResult{};
    }
    HeadResult r;
    r.head_size = end + 4;
    std::string_view rest = buffer.substr(0, end + 2);
    auto next_line = [&rest]() {
        const auto eol = rest.find("\r\n");
        auto line = rest.substr(0, eol);
        rest.remove_prefix(eol + 2);
        return line;
    };
    int minor = 1;
    if (!parse_request_line(next_line(), r.head, minor)) return bad(400, "a malformed request line");
    if (minor < 0) return bad(400, "only HTTP/1.0 and HTTP/1.1 are served");
    r.head.keep_alive = minor == 1;
    std::optional<std::size_t> length;
    while (!rest.empty()) {
        const auto line = next_line();
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return bad(400, "a malformed header line");
        for (char c : line.substr(0, colon))
            if (!is_token_char(c)) return bad(400, "a malformed header name");
        for (char c : line.substr(colon + 1))
            if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) return bad(400, "a control character in a header");
        const std::string name = ascii_lower(line.substr(0, colon));
        const auto value = trim(line.substr(colon + 1));
        if (name == "transfer-encoding") return bad(400, "chunked or other transfer-encoded bodies are refused; send Content-Length");
        if (name == "content-length") {
            auto n = parse_length(value);
            if (!n || length) return bad(400, "a missing, repeated or malformed Content-Length");
            length = n;
        }
        if (name == "connection") {
            const std::string v = ascii_lower(value);
            if (v.find("close") != std::string::npos) r.head.keep_alive = false;
            else if (v.find("keep-alive") != std::string::npos && minor == 0) r.head.keep_alive = true;
        }
    }
    r.head.content_length = length.value_or(0);
    if (r.head.content_length > max_body) return bad(400, "the body is larger than berth-authz accepts");
    r.status = HeadStatus::complete;
    return r;
}

}  // namespace berth::authz
