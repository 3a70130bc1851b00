#pragma once
/// Small text helpers shared by parsers of other programs' output.

#include <string_view>

namespace berth {

/// `text` without leading and trailing spaces, tabs, carriage returns and newlines.
[[nodiscard]] std::string_view trim(std::string_view text);

}  // namespace berth
