#pragma once
/// The policy for daemon.json options given on the command line (--engine-opt,
/// --insecure-engine-opt): the syntax of KEY=VALUE, the keys berth owns (never accepted: the API
/// socket and its TLS), and the keys that weaken the hardening (accepted only through
/// --insecure-engine-opt, kept in the record and shown by `berth ls` and `berth inspect`).
/// docs/hardening.md lists both sets and why.

#include <berth/core/error.h>
#include <berth/store/authz_config.h>
#include <berth/store/engine_config.h>

#include <string>
#include <string_view>
#include <vector>

namespace berth {

enum class EngineOptKind {
    Plain,      ///< any other daemon.json key: --engine-opt
    Weakening,  ///< gives up part of the hardening: only --insecure-engine-opt
    Owned,      ///< the API's listeners and TLS, and authorization-plugins, which berth sets: refused always
};

struct EngineOpt {
    std::string key;    ///< the daemon.json key, without a leading "--"
    std::string value;  ///< as given
};

/// The kind of a daemon.json key. Spellings are compared without case, leading dashes, '-',
/// '_' and '.', so "--TLS_VERIFY" is "tlsverify" and "host" is "hosts".
[[nodiscard]] EngineOptKind engine_opt_kind(std::string_view key);

/// Why a weakening key weakens the hardening, for warnings and docs; "" for other keys.
/// "authz-owner-role" (not a daemon.json key) is --authz-owner-role admin.
[[nodiscard]] std::string weakening_reason(std::string_view key);

/// Splits "key=value" given to `flag`: the key is [a-z0-9][a-z0-9-]* (daemon.json's spelling,
/// optionally after "--"), the value has no control characters. Usage errors say which part.
[[nodiscard]] Result<EngineOpt> parse_engine_opt(std::string_view text, std::string_view flag);

/// Everything in `engine` that reaches daemon.json, checked before anything is made: the syntax
/// of --engine-opt, --insecure-engine-opt and --engine-label; owned keys are refused in both,
/// weakening keys in --engine-opt (use --insecure-engine-opt), plain keys in
/// --insecure-engine-opt (use --engine-opt). Usage errors.
[[nodiscard]] Result<void> validate_engine_options(const EngineConfig& engine);

/// What a machine's engine settings give up, one "key=value" per option, for `berth ls` and
/// `berth inspect`: its --insecure-engine-opt options, weakening keys in --engine-opt of records
/// made before the policy, and each --engine-insecure-registry as "insecure-registry=HOST".
[[nodiscard]] std::vector<std::string> weakened_hardening(const EngineConfig& engine);
/// The same, and "authz-owner-role=admin" when the machine's own certificate is berth-authz's admin.
[[nodiscard]] std::vector<std::string> weakened_hardening(const EngineConfig& engine, const AuthzConfig& authz);

}  // namespace berth
