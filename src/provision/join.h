#pragma once
// `items` joined by `separator`, for the provision area's scripts and log lines.

#include <berth/core/escape.h>

#include <string>
#include <vector>

namespace berth {

[[nodiscard]] inline std::string join(const std::vector<std::string>& items, const std::string& separator) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : separator) + i;
    return out;
}

/// `items` as shell words, each quoted (shell_quote), separated by spaces.
[[nodiscard]] inline std::string join_shell_words(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : " ") + shell_quote(i);
    return out;
}

}  // namespace berth
