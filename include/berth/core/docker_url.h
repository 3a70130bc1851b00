#pragma once
/// The Docker daemon address of a machine: tcp://HOST:PORT, with HOST an IPv4 address, a DNS
/// name or a bracketed IPv6 address.

#include <berth/core/error.h>

#include <string>
#include <string_view>

namespace berth {

struct DockerUrl {
    std::string host;  ///< without brackets
    int port = 2376;

    /// "tcp://host:port" (IPv6 hosts in brackets).
    [[nodiscard]] std::string str() const;
};

/// Parses "tcp://HOST:PORT"; a Usage error names what is wrong and shows the expected form.
[[nodiscard]] Result<DockerUrl> parse_docker_url(std::string_view url);

/// True when `host` is a literal IPv4 or IPv6 address (no brackets).
[[nodiscard]] bool is_ip_address(std::string_view host);

}  // namespace berth
