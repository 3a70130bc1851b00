#include "route.h"

#include <berth/authz/host_path.h>

namespace berth::authz {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// "/v1.41/containers/create" -> {1, 41} and the rest; dockerd's router takes /v[0-9.]+ before
// every path.
std::string strip_version(const std::string& path, std::vector<int>& version) {
    if (!path.starts_with("/v")) return path;
    std::size_t i = 2;
    while (i < path.size() && ((path[i] >= '0' && path[i] <= '9') || path[i] == '.')) ++i;
    if (i == 2 || i >= path.size() || path[i] != '/') return path;
    int part = 0;
    bool digits = false;
    for (std::size_t j = 2; j < i; ++j) {
        if (path[j] == '.') {
            version.push_back(part);
            part = 0;
            digits = false;
        } else if (part < 100000) {
            part = part * 10 + (path[j] - '0');
            digits = true;
        }
    }
    version.push_back(digits ? part : 0);
    return path.substr(i);
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%') {
            if (text.size() - i < 3) return std::nullopt;
            const int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (text[i] == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += text[i];
        }
    }
    return out;
}

std::optional<Route> parse_route(std::string_view uri) {
    Route route;
    const auto question = uri.find('?');
    std::string_view raw_path = uri.substr(0, question);
    if (question != std::string_view::npos) route.query = std::string(uri.substr(question + 1));
    auto decoded = percent_decode(raw_path, false);
    if (!decoded) return std::nullopt;
    // The router matches the cleaned path (a path that is not clean is redirected to it).
    route.path = strip_version(clean_path(*decoded), route.version);
    return route;
}

std::vector<std::string> Route::query_values(std::string_view name) const {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= query.size()) {
        std::size_t end = query.find_first_of("&;", start);
        if (end == std::string::npos) end = query.size();
        std::string_view pair = std::string_view(query).substr(start, end - start);
        const auto eq = pair.find('=');
        auto key = percent_decode(pair.substr(0, eq), true);
        if (key && *key == name) {
            // An undecodable value still counts: it is refused rather than read as absent.
            auto value = eq == std::string_view::npos ? std::optional<std::string>("") : percent_decode(pair.substr(eq + 1), true);
            out.push_back(value ? *value : std::string(pair.substr(eq + 1)));
        }
        start = end + 1;
    }
    return out;
}

bool Route::version_below(int major, int minor) const {
    if (version.empty()) return false;
    const int v_major = version[0];
    const int v_minor = version.size() > 1 ? version[1] : 0;
    return v_major < major || (v_major == major && v_minor < minor);
}

}  // namespace berth::authz
