#include <berth/service/connect.h>

#include <berth/driver/user_name.h>
#include <berth/transport/known_hosts.h>

#include <spdlog/spdlog.h>

namespace berth {
namespace {

bool host_key_pinned(const Store& store, std::string_view machine) {
    return has_pinned_keys(store.machine_file(machine, k_known_hosts_file));
}

}  // namespace

DockerTls machine_tls(const Store& store, std::string_view machine) {
    return DockerTls{store.machine_file(machine, k_ca_cert_file), store.machine_file(machine, k_client_cert_file),
                     store.machine_file(machine, k_client_key_file)};
}

SshTarget ssh_target_for(const Store& store, std::string_view machine, const SshEndpoint& endpoint) {
    SshTarget t;
    t.host = endpoint.host;
    t.port = endpoint.port;
    t.user = endpoint.user;
    t.key = endpoint.key_path;
    t.known_hosts = store.machine_file(machine, k_known_hosts_file);
    t.machine = std::string(machine);
    return t;
}

Result<Connection> connect(const Ports& ports, std::string_view machine, Driver& driver, const SshOptions& ssh) {
    auto endpoint = driver.ssh_endpoint();
    if (!endpoint) return std::unexpected(endpoint.error());
    if (auto ok = validate_ssh_endpoint(*endpoint, machine); !ok) return std::unexpected(ok.error());
    const std::string name(machine);
    auto start = ports.clock->now();
    spdlog::info("[{}] Connecting over SSH to {}@{}:{}...", name, endpoint->user, endpoint->host, endpoint->port);
    auto session = ports.ssh(ssh_target_for(*ports.store, name, *endpoint), ssh);
    if (!session) return std::unexpected(session.error());
    Connection c;
    c.session = std::move(*session);
    c.endpoint = *endpoint;
    c.connect_seconds = seconds_since(*ports.clock, start);
    auto docker = docker_probe(ports, name, driver);
    if (!docker) return std::unexpected(docker.error());
    c.docker = std::move(*docker);
    return c;
}

Result<std::unique_ptr<DockerProbe>> docker_probe(const Ports& ports, std::string_view machine, Driver& driver) {
    auto url = driver.docker_url();
    if (!url) return std::unexpected(url.error());
    return ports.docker(*url, machine_tls(*ports.store, machine));
}

SessionFactory pinned_sessions(const Ports& ports, std::string machine) {
    return [ports, machine = std::move(machine)](const SshEndpoint& endpoint) -> Result<std::unique_ptr<Session>> {
        if (auto ok = validate_ssh_endpoint(endpoint, machine); !ok) return std::unexpected(ok.error());
        if (!host_key_pinned(*ports.store, machine))
            return fail("the SSH host key of machine \"" + machine + "\" is not pinned yet",
                        "it is pinned by the first provision (create, or `berth provision " + machine + "`)");
        SshOptions options;
        options.connect_timeout = std::chrono::seconds(30);
        return ports.ssh(ssh_target_for(*ports.store, machine, endpoint), options);
    };
}

Result<SshTarget> pinned_ssh_target(const Store& store, std::string_view machine, Driver& driver) {
    auto endpoint = driver.ssh_endpoint();
    if (!endpoint) return std::unexpected(endpoint.error());
    if (auto ok = validate_ssh_endpoint(*endpoint, machine); !ok) return std::unexpected(ok.error());
    if (!host_key_pinned(store, machine))
        return fail("no SSH host key is pinned for \"" + std::string(machine) + "\"",
                    "berth pins it when it provisions; run `berth provision --replace-host-key SHA256:... " +
                        std::string(machine) + "` with the fingerprint of the host's key");
    auto target = ssh_target_for(store, machine, *endpoint);
    // OpenSSH looks the key up by the machine's alias: a file pinned by address moves to it.
    if (auto moved = migrate_known_hosts(target.known_hosts, known_hosts_address(target.host, target.port),
                                         host_key_alias(machine));
        !moved)
        return std::unexpected(moved.error());
    return target;
}

}  // namespace berth
