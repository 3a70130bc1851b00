#pragma once
/// The Docker daemon of one machine as seen through its API over mutual TLS: what the provisioner
/// verifies a host by and what a start waits for. DockerClient is the real one; tests use
/// FakeDocker (tests/fakes/fake_docker.h).

#include <berth/core/error.h>

#include <nlohmann/json.hpp>

#include <chrono>

namespace berth {

class DockerProbe {
public:
    virtual ~DockerProbe() = default;
    /// Polls /_ping until the daemon answers or `timeout` passes.
    [[nodiscard]] virtual Result<void> wait_until_ready(std::chrono::seconds timeout) = 0;
    /// GET /info, parsed.
    [[nodiscard]] virtual Result<nlohmann::json> info() = 0;
    /// GET /version, parsed.
    [[nodiscard]] virtual Result<nlohmann::json> version() = 0;
};

}  // namespace berth
