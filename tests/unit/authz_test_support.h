#pragma once
// Helpers for the berth-authz tests: AuthZReq bodies as dockerd builds them, a temp directory,
// and a policy with an allow-list inside it.

#include <berth/authz/policy.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace berth::authz::test {

inline std::string base64(std::string_view in) {
    static const char* const k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                           static_cast<unsigned char>(in[i + 2]);
        out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
    }
    if (in.size() - i == 1) {
        const unsigned v = static_cast<unsigned char>(in[i]) << 16;
        out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
    } else if (in.size() - i == 2) {
        const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
        out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
    }
    return out;
}

/// The AuthZReq dockerd POSTs for `method uri` with `body` (sent when not empty, with
/// Content-Type `content_type`).
inline std::string authz_req(const std::string& user, const std::string& method, const std::string& uri,
                             const std::string& body = "", const std::string& content_type = "application/json") {
    nlohmann::json j = {{"RequestMethod", method}, {"RequestUri", uri}};
    if (!user.empty()) {
        j["User"] = user;
        j["UserAuthNMethod"] = "TLS";
    }
    nlohmann::json headers = {{"User-Agent", "Docker-Client/28.2.2 (linux)"}};
    if (!content_type.empty()) headers["Content-Type"] = content_type;
    if (!body.empty()) {
        j["RequestBody"] = base64(body);
        headers["Content-Length"] = std::to_string(body.size());
    }
    j["RequestHeaders"] = headers;
    return j.dump();
}

class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "berth-authz-XXXXXX").string();
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        m_path = std::filesystem::canonical(pattern);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const { return m_path; }
    [[nodiscard]] std::string operator/(const std::string& name) const { return (m_path / name).string(); }

private:
    std::filesystem::path m_path;
};

inline std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace berth::authz::test
