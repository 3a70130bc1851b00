#pragma once
/// Checks of the --engine-* values that reach a host's package manager and dockerd's unit, made
/// before anything is created and again whenever a saved record is replayed (provision,
/// upgrade), so a record written by an older berth with a hostile value is refused, not run.

#include <berth/core/error.h>
#include <berth/provision/os_release.h>
#include <berth/store/engine_config.h>

#include <optional>
#include <string_view>
#include <vector>

namespace berth {

/// Whether `version` is a Debian package version (deb-version(7): [epoch:]upstream[-revision],
/// the upstream part starting with a digit).
[[nodiscard]] bool is_debian_version(std::string_view version);
/// Whether `version` is an RPM version[-release] with an optional epoch.
[[nodiscard]] bool is_rpm_version(std::string_view version);

/// --engine-version: "" (no pin), or a version of `family`'s grammar; without a family (at
/// create, before the host is known) either grammar. A usage Error that names the rule.
[[nodiscard]] Result<void> check_engine_version(std::string_view version,
                                                std::optional<OsFamily> family = std::nullopt);

/// --engine-env: each KEY=VALUE with KEY an environment variable name and no control character
/// in VALUE. Errors name the variable, never its value (it may be a proxy password).
[[nodiscard]] Result<void> check_engine_env(const std::vector<std::string>& env);

/// --engine-apt-proxy: "" (none), or the URL of an apt proxy or mirror (apt-cacher-ng, squid):
/// http:// or https://, a host (a DNS name, an IPv4 address or an [IPv6] address), an optional
/// :port of 1-65535 and an optional path of URL characters; at most 2048 characters. Refused:
/// user:pass@ (it would land in a world-readable file on the host and in the record; the value
/// is then never repeated in the error), whitespace, quotes, backslashes, control characters,
/// ';', '?' and '#'. A usage Error whose message names what is wrong without naming the flag
/// (the caller puts "--engine-apt-proxy: " or the spec key first).
[[nodiscard]] Result<void> check_apt_proxy_url(std::string_view url);

/// --engine-apt-proxy on a host `os`: apt's setting, so a usage Error on the RHEL family (dnf)
/// that names `machine`, its OS and what to do; ok without a proxy or on an apt host.
[[nodiscard]] Result<void> check_apt_proxy_host(const EngineConfig& engine, const OsInfo& os,
                                                std::string_view machine);

/// --engine-version, --engine-env and --engine-apt-proxy, as above.
[[nodiscard]] Result<void> check_engine_config(const EngineConfig& engine);

}  // namespace berth
