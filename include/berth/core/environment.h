#pragma once
/// Environment variables as an injected lookup, so services and drivers read `BERTH_*` and
/// `DOCKER_HOST` through a function tests can replace.

#include <functional>
#include <optional>
#include <string>

namespace berth {

/// Looks up one variable; nullopt when it is not set.
using GetEnv = std::function<std::optional<std::string>(const std::string&)>;

/// The process environment (getenv), as a GetEnv.
[[nodiscard]] GetEnv process_env();

}  // namespace berth
