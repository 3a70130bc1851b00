#pragma once
/// Durations typed on the command line (`regenerate-certs --if-expiring 30d`), parsed strictly.

#include <berth/core/error.h>

#include <chrono>
#include <string>
#include <string_view>

namespace berth {

/// The longest duration parse_duration accepts: 100 years of days (36500d).
inline constexpr std::chrono::hours k_max_duration{24 * 36500};

/// "30d" (days), "12h" (hours) or a plain "30" (days): ASCII digits then at most one lower-case
/// unit, nothing else (no sign, space, fraction or second unit). 0 is allowed; more than
/// k_max_duration is refused. Anything else is a Usage error that quotes the text and names the
/// forms accepted.
[[nodiscard]] Result<std::chrono::seconds> parse_duration(std::string_view text);

/// "30 days", "1 day", "12 hours", "1 hour": whole days when it is whole days, else hours (for messages).
[[nodiscard]] std::string describe_duration(std::chrono::seconds duration);

}  // namespace berth
