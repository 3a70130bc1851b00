#pragma once
/// The `none` driver: a Docker host berth does not manage, known only by its URL
/// (`berth create -d none --url tcp://HOST:PORT NAME`), as docker-machine's `none`. berth makes
/// its certificates but never connects to it; lifecycle verbs say they are not supported.

#include <berth/driver/driver.h>

namespace berth {

[[nodiscard]] DriverInfo none_driver_info();

}  // namespace berth
