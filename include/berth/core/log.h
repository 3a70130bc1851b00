#pragma once
/// Logging set-up. Logs go to stderr only (stdout is for output meant to be eval'ed or parsed).
/// info tells the story ("Creating machine n1..."), debug shows every command, prefixed with the
/// machine name: log_prefix("n1") == "[n1] ". Nothing secret is logged at any level.

#include <string>
#include <string_view>

namespace berth {

/// Sets up the default spdlog logger on stderr: info without decoration, warnings as
/// "berth: warning: ...", errors as "berth: error: ...", debug lines with a time stamp.
void init_logging(bool debug);

/// "[name] " for debug lines about one machine.
[[nodiscard]] std::string log_prefix(std::string_view machine);

}  // namespace berth
