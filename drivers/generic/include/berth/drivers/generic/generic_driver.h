#pragma once
/// The `generic` driver: an existing host reachable over SSH, as docker-machine's generic
/// driver. berth provisions it but does not own its lifecycle: `stop` and `restart` shut it down
/// or reboot it over SSH, `start` and `kill` are not possible, `rm` forgets it and leaves it running.

#include <berth/driver/driver.h>

namespace berth {

[[nodiscard]] DriverInfo generic_driver_info();

/// True if a TCP connection to host:port opens within `timeout`.
[[nodiscard]] bool tcp_reachable(const std::string& host, int port, std::chrono::milliseconds timeout);

}  // namespace berth
