#include <berth/service/authz_files.h>

#include <berth/authz/policy.h>
#include <berth/store/atomic_file.h>

#include <system_error>

namespace berth {

std::vector<std::filesystem::path> authz_binary_candidates(const GetEnv& env, const std::filesystem::path& self_exe) {
    if (auto set = env("BERTH_AUTHZ_BINARY"); set && !set->empty()) return {std::filesystem::path(*set)};
    const auto dir = self_exe.parent_path();
    return {dir / "berth-authz", (dir / ".." / "lib" / "berth" / "berth-authz").lexically_normal()};
}

Result<std::string> load_authz_binary(const GetEnv& env, const std::filesystem::path& self_exe) {
    const auto candidates = authz_binary_candidates(env, self_exe);
    std::string looked;
    for (const auto& path : candidates) {
        looked += (looked.empty() ? "" : ", ") + path.string();
        std::error_code ec;
        if (!std::filesystem::is_regular_file(path, ec)) continue;
        auto bytes = read_file(path);
        if (!bytes) return std::unexpected(bytes.error());
        if (!bytes->starts_with("\x7f" "ELF"))
            return fail("berth-authz at " + path.string() + " is not an ELF executable",
                        "build it with `cmake --build build --target berth-authz`");
        return bytes;
    }
    const bool from_env = env("BERTH_AUTHZ_BINARY").value_or("").size() > 0;
    return fail("cannot find berth-authz, the Docker authorization plugin berth installs on every host (looked at " +
                    looked + ")",
                from_env ? "$BERTH_AUTHZ_BINARY names a file that does not exist: point it at berth-authz, or unset it"
                         : "build it with `cmake --build build --target berth-authz` (it lands beside berth), or set "
                           "$BERTH_AUTHZ_BINARY to its path");
}

Result<std::string> read_authz_policy(const std::filesystem::path& file) {
    auto text = read_file(file);
    if (!text) {
        Error e = text.error();
        e.kind = ErrorKind::Usage;
        e.message = "cannot read --authz-policy " + file.string() + ": " + e.message;
        return std::unexpected(e);
    }
    auto policy = authz::parse_policy(*text, file.string());
    if (!policy)
        return fail_usage("--authz-policy " + file.string() + " is not a valid berth-authz policy: " + policy.error(),
                          "fix the file (docs/hardening.md describes the policy), then run the command again");
    return text;
}

Result<void> check_authz_owner_role(std::string_view role) {
    if (role == "restricted" || role == "admin") return {};
    return fail_usage("--authz-owner-role takes restricted or admin, not \"" + std::string(role) + "\"",
                      "admin lets the machine's own certificate do what berth-authz refuses (docs/hardening.md)");
}

}  // namespace berth
