#include <berth/service/real_ports.h>

#include <berth/docker/docker_client.h>
#include <berth/image/image_cache.h>
#include <berth/service/driver_table.h>
#include <berth/transport/libssh_session.h>

namespace berth {
namespace {

/// DockerClient as the provisioner's probe.
class ClientProbe final : public DockerProbe {
public:
    explicit ClientProbe(DockerClient client) : m_client(std::move(client)) {}
    Result<void> wait_until_ready(std::chrono::seconds timeout) override { return m_client.wait_until_ready(timeout); }
    Result<nlohmann::json> info() override { return m_client.info(); }
    Result<nlohmann::json> version() override { return m_client.version(); }

private:
    DockerClient m_client;
};

}  // namespace

Ports real_ports(const Store& store, Runner& runner) {
    Ports ports;
    ports.store = &store;
    ports.runner = &runner;
    ports.env = process_env();
    ports.drivers = driver_table();
    ports.ssh = [](const SshTarget& target, const SshOptions& options) -> Result<std::unique_ptr<Session>> {
        auto session = LibsshSession::connect(target, options);
        if (!session) return std::unexpected(session.error());
        return std::unique_ptr<Session>(std::move(*session));
    };
    ports.docker = [](const std::string& url, const DockerTls& tls) -> std::unique_ptr<DockerProbe> {
        return std::make_unique<ClientProbe>(DockerClient(url, tls));
    };
    // VM drivers boot cached images; a known name is pulled on first use.
    ports.images = [root = store.root()](std::string_view what) -> Result<ImageFiles> {
        ImageCache cache(ImageCache::images_dir(root));
        auto image = cache.find_or_pull(what, PullOptions{});
        if (!image) return std::unexpected(image.error());
        return to_image_files(*image);
    };
    ports.clock = &system_clock();
    return ports;
}

}  // namespace berth
