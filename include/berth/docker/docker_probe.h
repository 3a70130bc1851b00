#pragma once
/// The Docker daemon of one machine as seen through its API over mutual TLS: what the provisioner
/// verifies a host by and what a start waits for. DockerClient is the real one; tests use
/// FakeDocker (tests/fakes/fake_docker.h).

#include <berth/core/error.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace berth {

/// The image the authorization probe asks for: a name no registry and no host has, so a daemon
/// that lets the probe through answers "no such image" and creates nothing.
inline constexpr const char* k_authz_probe_image = "berth-audit-probe/none:absent";

/// What dockerd answered to a request: its HTTP status and body.
struct ApiAnswer {
    long status = 0;
    std::string body;
};

class DockerProbe {
public:
    virtual ~DockerProbe() = default;
    /// Polls /_ping until the daemon answers or `timeout` passes.
    [[nodiscard]] virtual Result<void> wait_until_ready(std::chrono::seconds timeout) = 0;
    /// GET /info, parsed.
    [[nodiscard]] virtual Result<nlohmann::json> info() = 0;
    /// GET /version, parsed.
    [[nodiscard]] virtual Result<nlohmann::json> version() = 0;
    /// Connects over TLS WITHOUT a client certificate (still verifying the daemon against the
    /// machine's CA) and asks GET /_ping. Succeeds when the daemon refuses that client (the TLS
    /// handshake fails or the connection is dropped before any HTTP answer); fails when it
    /// answers HTTP at all (anyone who reaches the port can use the API: root on the host), and
    /// when the check cannot be made (no connection, a certificate that does not verify).
    [[nodiscard]] virtual Result<void> refuses_anonymous_client() = 0;
    /// GET /containers/json (the running containers), then GET /containers/{id}/json of each:
    /// their inspect objects (a container gone in between is left out).
    [[nodiscard]] virtual Result<std::vector<nlohmann::json>> running_containers() = 0;
    /// POST /containers/create of a privileged container (HostConfig.Privileged) from
    /// k_authz_probe_image: an authorization plugin must refuse it (HTTP 403); without one the
    /// daemon refuses it too (no such image), so nothing is ever created. Any HTTP answer is a
    /// value; an Error only when no answer came.
    [[nodiscard]] virtual Result<ApiAnswer> authz_probe() = 0;
    /// `method` (GET or POST) `path` with `json_body` (POST; "" for none): any HTTP answer is a
    /// value, an Error only when none came. For the swarm's calls (swarm_service.h).
    [[nodiscard]] virtual Result<ApiAnswer> call(std::string_view method, std::string_view path,
                                                 const std::string& json_body) = 0;
};

}  // namespace berth
