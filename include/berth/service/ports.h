#pragma once
/// The parts a service works with, injected: every external effect a service has goes through
/// one of these. `real_ports()` (service/real_ports.h) fills them with the real classes; tests fill
/// them with fakes (a FakeDriver table, ScriptedSession, FakeDocker, FakeClock), so create →
/// provision → verify runs as a unit test. A Ports is copied into each service; the parts it
/// points to must outlive it.

#include <berth/core/clock.h>
#include <berth/core/environment.h>
#include <berth/docker/docker_probe.h>
#include <berth/docker/docker_tls.h>
#include <berth/driver/driver.h>
#include <berth/process/runner.h>
#include <berth/store/store.h>
#include <berth/transport/session.h>
#include <berth/transport/ssh_options.h>

#include <functional>
#include <memory>
#include <span>
#include <string>

namespace berth {

/// Opens one SSH connection to a target, checking its host key by options.host_key.
using SshOpener = std::function<Result<std::unique_ptr<Session>>(const SshTarget&, const SshOptions&)>;

/// A Docker API probe of the daemon at `url` (tcp://HOST:PORT), reached with `tls`.
using DockerProbeFactory = std::function<std::unique_ptr<DockerProbe>(const std::string& url, const DockerTls& tls)>;

/// The bytes of the berth-authz program provision installs (service/authz_files.h finds the real one).
using AuthzBinarySource = std::function<Result<std::string>()>;

struct Ports {
    const Store* store = nullptr;
    Runner* runner = nullptr;               ///< local processes (drivers' tools)
    GetEnv env;                             ///< BERTH_<DRIVER>_<OPTION> variables
    std::span<const DriverInfo> drivers;    ///< the driver table
    SshOpener ssh;
    DockerProbeFactory docker;
    ImageResolver images;                   ///< VM images by name, URL or path (the image cache)
    Clock* clock = nullptr;                 ///< timings and waits
    AuthzBinarySource authz_binary;         ///< berth-authz, read when a provision needs it
};

}  // namespace berth
