#pragma once
/// Opening a machine for work, the same way for every service: the SSH session with the
/// machine's own key and pinned host key, and the Docker API probe with its client certificate.

#include <berth/driver/driver.h>
#include <berth/service/ports.h>

#include <memory>
#include <string>
#include <string_view>

namespace berth {

/// The machine's client TLS files: ca.pem, cert.pem and key.pem in its store directory.
[[nodiscard]] DockerTls machine_tls(const Store& store, std::string_view machine);

/// The connection berth makes to a machine's SSH endpoint: its key, its own known_hosts.
[[nodiscard]] SshTarget ssh_target_for(const Store& store, std::string_view machine, const SshEndpoint& endpoint);

/// One machine, open for a piece of work over one SSH connection.
struct Connection {
    std::unique_ptr<Session> session;
    std::unique_ptr<DockerProbe> docker;
    SshEndpoint endpoint;        ///< where the session went, as the driver said once
    double connect_seconds = 0;  ///< how long the SSH connection took to open
};

/// Opens the driver's SSH endpoint with the machine's key, treating its host key by
/// `ssh.host_key` (says "Connecting over SSH to user@host:port..."), and a Docker probe for the
/// driver's URL.
[[nodiscard]] Result<Connection> connect(const Ports& ports, std::string_view machine, Driver& driver,
                                         const SshOptions& ssh);

/// A Docker probe of the machine alone, no SSH (waiting for Docker after a start).
[[nodiscard]] Result<std::unique_ptr<DockerProbe>> docker_probe(const Ports& ports, std::string_view machine,
                                                                Driver& driver);

/// The drivers' SessionFactory for `machine`: sessions to a machine whose host key is pinned
/// already (it fails at once otherwise, instead of waiting for a guest that may still boot).
[[nodiscard]] SessionFactory pinned_sessions(const Ports& ports, std::string machine);

/// The SSH target of a machine for OpenSSH's own client (berth ssh, berth scp); an error when no
/// host key is pinned yet.
[[nodiscard]] Result<SshTarget> pinned_ssh_target(const Store& store, std::string_view machine, Driver& driver);

}  // namespace berth
