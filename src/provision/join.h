#pragma once
// `items` joined by `separator`, for the provision area's scripts and log lines.

#include <string>
#include <vector>

namespace berth {

[[nodiscard]] inline std::string join(const std::vector<std::string>& items, const std::string& separator) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : separator) + i;
    return out;
}

}  // namespace berth
