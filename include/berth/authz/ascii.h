#pragma once
/// ASCII case for the plugin's comparisons (header names, HostConfig modes, capability names,
/// HTTP methods): only A-Z and a-z change, every other byte is kept, so no locale is involved.
/// The authz area uses nothing of berth's core (the daemon links fully static), hence its own.

#include <string>
#include <string_view>

namespace berth::authz {

/// `c` in lower case when it is A-Z.
[[nodiscard]] constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

/// `text` with A-Z in lower case.
[[nodiscard]] inline std::string ascii_lower(std::string_view text) {
    std::string out(text);
    for (auto& c : out) c = ascii_lower(c);
    return out;
}

/// `text` with a-z in upper case.
[[nodiscard]] inline std::string ascii_upper(std::string_view text) {
    std::string out(text);
    for (auto& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

/// Whether `a` and `b` are equal ignoring ASCII case.
[[nodiscard]] constexpr bool ascii_iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

}  // namespace berth::authz
