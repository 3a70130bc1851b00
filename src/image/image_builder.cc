#include <berth/image/image_builder.h>

#include <berth/driver/user_name.h>
#include <berth/store/atomic_file.h>

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace berth {
namespace {

std::string suite_of(const std::string& name) {
    if (name == "debian-12") return "bookworm";
    if (name == "debian-11") return "bullseye";
    return "";
}

/// HOST or [IPv6], then an optional :PORT (1-65535).
bool mirror_authority_valid(std::string_view authority) {
    std::string_view host = authority;
    std::string_view port;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return false;
        host = authority.substr(1, close - 1);
        if (host.find(':') == std::string_view::npos) return false;  // brackets are for IPv6 only
        std::string_view rest = authority.substr(close + 1);
        if (!rest.empty() && !rest.starts_with(':')) return false;
        if (!rest.empty()) port = rest.substr(1);
        if (rest == ":") return false;
    } else if (auto colon = authority.find(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
        if (port.empty()) return false;
    }
    if (!is_host_address(host)) return false;
    if (port.empty()) return true;
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    const int n = std::stoi(std::string(port));
    return n >= 1 && n <= 65535;
}

bool mirror_path_valid(std::string_view path) {
    for (std::size_t i = 0; i < path.size(); ++i) {
        const char c = path[i];
        if (c == '%') {
            if (i + 2 >= path.size() || !std::isxdigit(static_cast<unsigned char>(path[i + 1])) ||
                !std::isxdigit(static_cast<unsigned char>(path[i + 2])))
                return false;
            i += 2;
            continue;
        }
        if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("-._~/:@+,=").find(c) == std::string_view::npos)
            return false;
    }
    return true;
}

}  // namespace

Result<void> check_mirror_url(std::string_view url, std::string_view flag) {
    std::string_view rest = url;
    bool ok = false;
    for (std::string_view scheme : {"http://", "https://"}) {
        if (rest.starts_with(scheme)) {
            rest.remove_prefix(scheme.size());
            ok = true;
            break;
        }
    }
    if (ok) {
        const auto slash = rest.find('/');
        ok = mirror_authority_valid(rest.substr(0, slash)) &&
             (slash == std::string_view::npos || mirror_path_valid(rest.substr(slash)));
    }
    if (ok) return {};
    std::string shown(url.substr(0, 200));
    for (char& c : shown)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return fail_usage(std::string(flag) + " must be an http:// or https:// URL (host, optional :port and /path of "
                                          "letters, digits and - . _ ~ / : @ + , = %XX), not "" + shown + """,
                      "pass a Debian mirror such as http://deb.debian.org/debian");
}

Result<void> check_build_options(const BuildOptions& options) {
    if (suite_of(options.name).empty())
        return fail_usage("berth can build debian-11 and debian-12, not \"" + options.name + "\"",
                          "for other systems pull their cloud image: `berth image pull URL --checksum-url ...`");
    if (auto ok = check_mirror_url(options.mirror, "--mirror"); !ok) return ok;
    if (!options.security_mirror.empty())
        if (auto ok = check_mirror_url(options.security_mirror, "--security-mirror"); !ok) return ok;
    return check_mirror_url(security_mirror_of(options), "the security mirror (--mirror with -security)");
}

std::string security_mirror_of(const BuildOptions& options) {
    if (!options.security_mirror.empty()) return options.security_mirror;
    std::string security = options.mirror;
    while (!security.empty() && security.back() == '/') security.pop_back();
    return security + "-security";
}

Command build_script_command(std::string script, const std::filesystem::path& out, const std::string& suite,
                             const std::string& mirror, const std::string& security_mirror) {
    Command c;
    c.argv = {"bash", "-s"};
    c.stdin_data = std::move(script);
    c.env_set = {{"OUT", out.string()}, {"SUITE", suite}, {"MIRROR", mirror}, {"SECURITY_MIRROR", security_mirror}};
    c.timeout = std::chrono::minutes(30);
    return c;
}

Result<CachedImage> build_image(ImageCache& cache, Runner& runner, const TemplateSet& templates,
                                const BuildOptions& options) {
    if (auto ok = check_build_options(options); !ok) return std::unexpected(ok.error());
    const std::string suite = suite_of(options.name);
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
    // The script's text holds no value: they all reach it in the environment (build_script_command).
    auto script = templates.render("image-build-debian.sh", nlohmann::json::object());
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
    auto r = runner.run(build_script_command(*script, out, suite, options.mirror, security_mirror_of(options)));
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
