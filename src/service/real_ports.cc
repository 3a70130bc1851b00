#include <berth/service/real_ports.h>

#include <berth/docker/docker_client.h>
#include <berth/image/image_cache.h>
#include <berth/service/authz_files.h>
#include <berth/service/driver_table.h>
#include <berth/transport/libssh_session.h>

namespace berth {

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
        return std::make_unique<DockerClient>(url, tls);
    };
    // VM drivers boot cached images; a known name is pulled on first use.
    ports.images = [root = store.root()](std::string_view what) -> Result<ImageFiles> {
        ImageCache cache(ImageCache::images_dir(root));
        auto image = cache.find_or_pull(what, PullOptions{});
        if (!image) return std::unexpected(image.error());
        return to_image_files(*image);
    };
    ports.clock = &system_clock();
    // $BERTH_AUTHZ_BINARY, else beside this berth, else ../lib/berth/ (authz_files.h).
    ports.authz_binary = [env = ports.env]() -> Result<std::string> {
        std::error_code ec;
        const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
        return load_authz_binary(env, ec ? std::filesystem::path() : self);
    };
    return ports;
}

}  // namespace berth
