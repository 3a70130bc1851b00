#pragma once
/// TCP ports as drivers need them: a port number from an option, and loopback ports for NAT
/// forwards (is this one free, give me a free one).

#include <berth/core/error.h>

#include <set>
#include <string>
#include <string_view>

namespace berth {

/// A port number from 1 to 65535 in `text`; otherwise a Usage error "<flag> must be a port number
/// from 1 to 65535, not "<text>"".
[[nodiscard]] Result<int> parse_port(const std::string& text, std::string_view flag);

/// True if nothing listens on (or holds) 127.0.0.1:port, so it can be bound now.
[[nodiscard]] bool loopback_port_free(int port);

/// A port on 127.0.0.1 that is free now (the kernel's choice), none of `avoid`.
[[nodiscard]] Result<int> free_loopback_port(const std::set<int>& avoid);

}  // namespace berth
