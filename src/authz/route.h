#pragma once
// The endpoint a request URI reaches in dockerd's router (internal to the authz area).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::authz {

struct Route {
    std::string path;           ///< percent-decoded, cleaned, without the /vX.Y prefix
    std::vector<int> version;   ///< the /vX.Y prefix's numbers, empty without one
    std::string query;          ///< the raw query string (after '?')

    /// The values of query parameter `name` (decoded as Go's url.ParseQuery does).
    [[nodiscard]] std::vector<std::string> query_values(std::string_view name) const;
    /// Whether the prefix names an API version below major.minor.
    [[nodiscard]] bool version_below(int major, int minor) const;
};

/// The route of `uri`; nothing when its percent-encoding is invalid (Go's server refuses those).
[[nodiscard]] std::optional<Route> parse_route(std::string_view uri);

/// `text` percent-decoded ('+' as a space when `plus_is_space`); nothing on a bad escape.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

}  // namespace berth::authz
