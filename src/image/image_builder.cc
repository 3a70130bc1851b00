#include <berth/image/image_builder.h>

#include <berth/store/atomic_file.h>

#include <spdlog/spdlog.h>

#include <unistd.h>

namespace berth {

Result<CachedImage> build_image(ImageCache& cache, Runner& runner, const TemplateSet& templates,
                                const BuildOptions& options) {
    std::string suite;
    if (options.name == "debian-12") suite = "bookworm";
    else if (options.name == "debian-11") suite = "bullseye";
    else
        return fail_usage("berth can build debian-11 and debian-12, not \"" + options.name + "\"",
                          "for other systems pull their cloud image: `berth image pull URL --checksum-url ...`");
    if (::geteuid() != 0)
        return fail("`berth image build` needs root (debootstrap and chroot)", "run it as root, or pull an image instead");
    for (const char* tool : {"debootstrap", "mke2fs", "qemu-img"}) {
        auto which = runner.run(Command{.argv = {"sh", "-c", std::string("command -v ") + tool},
                                        .env_set = {}, .env_unset = {}, .stdin_data = std::nullopt,
                                        .cwd = std::nullopt, .timeout = std::chrono::seconds(10)});
        if (!which || which->exit_status != 0)
            return fail(std::string("`berth image build` needs ") + tool,
                        "install it: apt-get install debootstrap e2fsprogs qemu-utils");
    }
    std::string security = options.security_mirror;
    if (security.empty()) {
        security = options.mirror;
        while (!security.empty() && security.back() == '/') security.pop_back();
        security += "-security";
    }
    auto script = templates.render("image-build-debian.sh",
                                   {{"suite", suite}, {"mirror", options.mirror}, {"security_mirror", security}});
    if (!script) return std::unexpected(script.error());

    // A private directory beside the cache, on the same file system as the images.
    const auto out = cache.dir() / (".build-" + options.name + "." + std::to_string(::getpid()));
    std::error_code ec;
    std::filesystem::remove_all(out, ec);
    if (auto ok = ensure_private_dir(out); !ok) return std::unexpected(ok.error());
    struct Cleanup {
        std::filesystem::path dir;
        ~Cleanup() {
            std::error_code e;
            std::filesystem::remove_all(dir, e);
        }
    } cleanup{out};

    spdlog::info("Building {} with debootstrap from {} (a few minutes)...", options.name, options.mirror);
    Command c;
    c.argv = {"bash", "-s"};
    c.stdin_data = *script;
    c.env_set = {{"OUT", out.string()}};
    c.timeout = std::chrono::minutes(30);
    auto r = runner.run(c);
    if (!r) return std::unexpected(r.error());
    if (r->exit_status != 0)
        return fail("building " + options.name + " failed (exit " + std::to_string(r->exit_status) + "): " +
                        r->err.substr(r->err.size() > 2000 ? r->err.size() - 2000 : 0),
                    "check the mirror (--mirror) and the disk space under " + cache.dir().string());
    for (const auto& line : {r->out}) spdlog::debug("{}", line);

    PullOptions pull;
    pull.name = options.name;
    pull.replaces_known = true;
    pull.force = true;
    pull.kernel = out / "vmlinuz";
    pull.initrd = out / "initrd.img";
    pull.kernel_cmdline = k_built_image_cmdline;
    pull.source_label = "built with debootstrap from " + options.mirror;
    return cache.pull((out / "disk.qcow2").string(), pull);
}

}  // namespace berth
