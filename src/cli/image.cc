// berth image: the cache of VM images the libvirt driver boots from (docs/images.md).
//   ls    a table NAME SIZE SOURCE PULLED; -q for names, --json for tools
//   pull  a known name, an http(s) URL (with a checksum) or a local file, verified and cached
//   rm    cached images

#include "app.h"
#include "completion_hint.h"
#include "output.h"

#include <berth/image/image_builder.h>

#include <berth/image/image_cache.h>
#include <berth/image/progress.h>
#include <berth/service/driver_table.h>
#include <berth/service/image_bake.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <iostream>
#include <optional>

namespace berth::cli {
namespace {

ImageCache image_cache(const Context& ctx) { return ImageCache(ImageCache::images_dir(ctx.store().root())); }

/// "2 hours ago" for a "2024-05-01T12:00:00Z" time stamp; the stamp itself when it does not parse.
std::string ago(const std::string& stamp) {
    std::tm tm{};
    const char* end = ::strptime(stamp.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == nullptr || *end != '\0') return stamp.empty() ? "-" : stamp;
    const std::time_t then = ::timegm(&tm);
    const long long seconds = static_cast<long long>(std::difftime(std::time(nullptr), then));
    auto unit = [](long long n, const char* word) {
        return std::to_string(n) + " " + word + (n == 1 ? "" : "s") + " ago";
    };
    if (seconds < 60) return "less than a minute ago";
    if (seconds < 3600) return unit(seconds / 60, "minute");
    if (seconds < 86400) return unit(seconds / 3600, "hour");
    if (seconds < 86400 * 14) return unit(seconds / 86400, "day");
    if (seconds < 86400 * 60) return unit(seconds / (86400 * 7), "week");
    return unit(seconds / (86400 * 30), "month");
}

/// Columns padded to their widest cell plus three spaces; the last one is not padded.
std::string table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> widths;
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (widths.size() <= i) widths.push_back(0);
            widths[i] = std::max(widths[i], row[i].size());
        }
    std::string out;
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            out += row[i];
            if (i + 1 < row.size()) out += std::string(widths[i] - row[i].size() + 3, ' ');
        }
        out += "\n";
    }
    return out;
}

/// An image as `image ls --json` and `--format` show it: its record, its directory and disk.
nlohmann::json image_item(const CachedImage& image) {
    nlohmann::json j = image.to_json();
    j["dir"] = image.dir.string();
    j["disk_path"] = image.disk_path().string();
    return j;
}

void add_image_ls(CLI::App* verb, Context& ctx) {
    auto flags = std::make_shared<OutputFlags>();
    auto* sub = verb->add_subcommand("ls", "List cached images");
    add_quiet_flag(sub, *flags, "Print only the names");
    add_output_flags(sub, *flags, "Print the images' records as a JSON array",
                     "Go-style template per image, e.g. '{{.Name}} {{.Size}}'; prefix 'table ' for aligned columns "
                     "with headers. Fields: name, source, disk, format, size, sha256, checksum, checksum_source, "
                     "pulled_at, dir, disk_path (and kernel, initrd, kernel_cmdline, baked_from, packages where set)");
    sub->callback([&ctx, flags] {
        set_action(ctx, [&ctx, flags]() -> Result<void> {
            OutputOptions options;
            options.indent = 4;
            options.name_key = "name";
            options.fields = {"name", "source", "disk", "format", "size", "sha256", "checksum", "checksum_source",
                              "pulled_at", "dir", "disk_path"};
            auto output = Output::choose(*flags, options);
            if (!output) return std::unexpected(output.error());
            auto images = image_cache(ctx).list();
            if (!images) return std::unexpected(images.error());
            if (!output->plain()) {
                nlohmann::json items = nlohmann::json::array();
                for (const auto& image : *images) items.push_back(image_item(image));
                return output->print_list(items);
            }
            std::vector<std::vector<std::string>> rows = {{"NAME", "SIZE", "SOURCE", "PULLED"}};
            for (const auto& image : *images)
                rows.push_back({image.name, human_bytes(image.size), image.source, ago(image.pulled_at)});
            std::cout << table(rows);
            return {};
        });
    });
}

void add_image_pull(CLI::App* verb, Context& ctx) {
    struct Options {
        std::string what;
        PullOptions pull;
        std::string kernel;
        std::string initrd;
    };
    auto opts = std::make_shared<Options>();
    auto* sub = verb->add_subcommand(
        "pull", "Download (or import) an image into the cache, verified against its checksum");
    sub->add_option("image", opts->what,
                    "A known image (debian-12, ubuntu-24.04), an http(s) URL, or a local file")
        ->required();
    sub->add_option("--name", opts->pull.name,
                    "Name for a URL or file image (default: its file name without the extension)");
    sub->add_option("--checksum", opts->pull.checksum, "The image's checksum: sha256:HEX or sha512:HEX");
    sub->add_option("--checksum-url", opts->pull.checksum_url,
                    "URL of a SHA256SUMS or SHA512SUMS file that lists the image");
    sub->add_option("--checksum-signature-url", opts->pull.signature_url,
                    "With --checksum-url: URL of its detached OpenPGP signature, checked with gpgv");
    sub->add_option("--keyring", opts->pull.keyring,
                    "With --checksum-signature-url: the keyring file of the keys that may sign it");
    sub->add_flag("--insecure-skip-checksum", opts->pull.insecure_skip_checksum,
                  "Use a URL image without verifying it (not recommended)");
    sub->add_flag("-f,--force", opts->pull.force, "Download again even if the cached image is up to date");
    sub->add_option("--kernel", opts->kernel, "With a local file: a kernel for direct kernel boot");
    sub->add_option("--initrd", opts->initrd, "With --kernel: its initrd");
    sub->add_option("--kernel-cmdline", opts->pull.kernel_cmdline,
                    "With --kernel: its command line (e.g. \"root=/dev/vda rw console=ttyS0\")");
    sub->callback([&ctx, opts] {
        set_action(ctx, [&ctx, opts]() -> Result<void> {
            PullOptions pull = opts->pull;
            pull.kernel = opts->kernel;
            pull.initrd = opts->initrd;
            auto source = resolve_pull_source(opts->what, pull);
            if (!source) return std::unexpected(source.error());
            pull.http.progress = make_progress_printer(source->name);
            auto image = image_cache(ctx).pull(opts->what, pull);
            if (!image) return std::unexpected(image.error());
            std::cout << image->name << "\n";
            return {};
        });
    });
}

void add_image_rm(CLI::App* verb, Context& ctx) {
    auto names = std::make_shared<std::vector<std::string>>();
    auto* sub = verb->add_subcommand("rm", "Remove cached images (machines made from them keep working)");
    sub->add_option("names", *names, "Images to remove")->required()->check(completes_images());
    sub->callback([&ctx, names] {
        set_action(ctx, [&ctx, names]() -> Result<void> {
            ImageCache cache = image_cache(ctx);
            std::optional<Error> first_error;
            for (const auto& name : *names) {
                auto ok = cache.remove(name);
                if (!ok) {
                    if (names->size() > 1) spdlog::error("{}", ok.error().line());
                    if (!first_error) first_error = ok.error();
                    continue;
                }
                std::cout << "Removed image " << name << "\n";
            }
            if (first_error) {
                if (names->size() == 1) return std::unexpected(*first_error);
                return fail("some images were not removed (see above)", first_error->hint);
            }
            return {};
        });
    });
}

// berth image build: a Debian image made here with debootstrap (root only), first-booted by berth-firstboot.
void add_image_build(CLI::App* verb, Context& ctx) {
    auto opts = std::make_shared<BuildOptions>();
    auto* sub = verb->add_subcommand("build", "Build a Debian image locally with debootstrap (as root), first-booted without cloud-init");
    sub->add_option("name", opts->name, "debian-12 or debian-11")->capture_default_str();
    sub->add_option("--mirror", opts->mirror,
                    "Debian mirror for debootstrap and the image's sources (an http:// or https:// URL)")
        ->capture_default_str();
    sub->add_option("--security-mirror", opts->security_mirror,
                    "Mirror of debian-security (default: the mirror's URL with -security)");
    sub->callback([&ctx, opts] {
        set_action(ctx, [&ctx, opts]() -> Result<void> {
            if (auto ok = check_build_options(*opts); !ok) return ok;  // before anything is made
            auto templates = TemplateSet::load();
            if (!templates) return std::unexpected(templates.error());
            auto cache = image_cache(ctx);
            ProcessRunner runner;
            auto image = build_image(cache, runner, *templates, *opts);
            if (!image) return std::unexpected(image.error());
            std::cout << image->name << "\n";
            return {};
        });
    });
}

// berth image bake: a golden image (service/image_bake.h). Ctrl-C or SIGTERM ends the bake at the
// next phase (a tool it runs gets the terminal's Ctrl-C too) and the temporary machine is removed;
// a second one stops berth at once (the next bake of the name removes bake-NAME).
std::atomic<bool> g_bake_interrupted{false};

extern "C" void on_bake_signal(int sig) {
    if (g_bake_interrupted.exchange(true)) {
        ::signal(sig, SIG_DFL);
        ::raise(sig);
    }
}

/// SIGINT and SIGTERM set the flag while this lives; the old handlers come back after.
class BakeSignals {
public:
    BakeSignals() {
        struct sigaction sa {};
        sa.sa_handler = on_bake_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        ::sigaction(SIGINT, &sa, &m_int);
        ::sigaction(SIGTERM, &sa, &m_term);
    }
    BakeSignals(const BakeSignals&) = delete;
    BakeSignals& operator=(const BakeSignals&) = delete;
    ~BakeSignals() {
        ::sigaction(SIGINT, &m_int, nullptr);
        ::sigaction(SIGTERM, &m_term, nullptr);
    }

private:
    struct sigaction m_int {}, m_term {};
};

void add_image_bake(CLI::App* verb, Context& ctx) {
    struct Options {
        BakeRequest request;
        std::map<std::string, std::string> libvirt;
    };
    auto opts = std::make_shared<Options>();
    auto* sub = verb->add_subcommand(
        "bake", "Boot a cached image once, install Docker and the hardening's packages, strip what is "
                "machine-specific and cache the disk as a new image");
    sub->add_option("source", opts->request.source, "A cached image to start from (berth image ls), e.g. debian-12")
        ->required()
        ->check(completes_images());
    sub->add_option("--as", opts->request.name, "The new image's name in the cache")->required();
    sub->add_option("-d,--driver", opts->request.driver, "The driver of the temporary machine")
        ->capture_default_str()
        ->check(completes_words(driver_names()));
    for (const char* o : {"uri", "memory", "cpu-count", "disk-size", "network", "virt-type", "ssh-user"})
        sub->add_option(std::string("--libvirt-") + o, opts->libvirt[o],
                        std::string("As for create: the temporary machine's ") + o);
    sub->add_option("--engine-install", opts->request.engine.install,
                    "docker.io (the distribution's, default) or docker-ce (Docker's repository)");
    sub->callback([&ctx, opts] {
        set_action(ctx, [&ctx, opts]() -> Result<void> {
            BakeRequest request = opts->request;
            if (request.driver != "libvirt")
                return fail_usage("berth image bake works with the libvirt driver, not \"" + request.driver + "\"",
                                  "use -d libvirt");
            for (const auto& [key, value] : opts->libvirt)
                if (!value.empty()) request.driver_flags[key] = {value};
            request.interrupted = [] { return g_bake_interrupted.load(); };
            Services services(ctx);
            ImageCache cache = image_cache(ctx);
            ProcessRunner runner;
            ImageBakeService baker(services.machines(), cache, runner, libvirt_disk_locator(runner));
            BakeSignals signals;
            spdlog::info("Ctrl-C stops the bake after the current phase and removes the temporary machine");
            auto report = baker.bake(request);
            if (!report) return std::unexpected(report.error());
            for (const auto& [phase, seconds] : report->timings)
                spdlog::info("bake {}: {:.1f} s", phase, seconds);
            std::cout << report->image.name << "\n";
            return {};
        });
    });
}

}  // namespace

void add_image(CLI::App& app, Context& ctx) {
    auto* image = app.add_subcommand("image", "Manage cached VM images for the libvirt driver: ls, pull, rm, build, bake");
    image->require_subcommand(1);
    add_image_ls(image, ctx);
    add_image_pull(image, ctx);
    add_image_rm(image, ctx);
    add_image_build(image, ctx);
    add_image_bake(image, ctx);
}

}  // namespace berth::cli
