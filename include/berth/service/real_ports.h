#pragma once
/// The production Ports: LibsshSession, DockerClient, the image cache under the store, the
/// process environment, the driver table and the system clock. The one place that names them.

#include <berth/service/ports.h>

namespace berth {

/// Ports over `store` and `runner` (both must outlive what is made from it).
[[nodiscard]] Ports real_ports(const Store& store, Runner& runner);

}  // namespace berth
