#pragma once
/// What berth installs for berth-authz, found and checked on this side before anything is made:
/// the program (an ELF executable built with berth) and a policy given with --authz-policy.

#include <berth/core/environment.h>
#include <berth/core/error.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace berth {

/// Where berth looks for berth-authz, in order: $BERTH_AUTHZ_BINARY (when set, only there), the
/// directory of the running berth (`self_exe`, /proc/self/exe), then ../lib/berth/berth-authz
/// relative to that directory (an installed berth).
[[nodiscard]] std::vector<std::filesystem::path> authz_binary_candidates(const GetEnv& env,
                                                                        const std::filesystem::path& self_exe);

/// The bytes of the first candidate that exists; an Error naming every place looked at and how to
/// build it (`cmake --build build --target berth-authz`) when none does, or when the file is not
/// an ELF executable.
[[nodiscard]] Result<std::string> load_authz_binary(const GetEnv& env, const std::filesystem::path& self_exe);

/// The text of --authz-policy FILE, checked with berth-authz's own parser: a Usage error naming
/// FILE:LINE and what is wrong.
[[nodiscard]] Result<std::string> read_authz_policy(const std::filesystem::path& file);

/// "restricted" or "admin"; any other --authz-owner-role is a Usage error.
[[nodiscard]] Result<void> check_authz_owner_role(std::string_view role);

}  // namespace berth
