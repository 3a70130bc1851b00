#pragma once
/// `berth image build`: a cloud-ready image made locally with debootstrap (cloud-init,
/// openssh-server, a kernel; no SSH host keys, no user), for hosts that reach only a Debian
/// mirror. It boots by direct kernel boot: the kernel and initrd are cached beside the disk.
/// The build script is the embedded template image-build-debian.sh (so it can be reviewed and
/// replaced like every other file berth writes).

#include <berth/core/error.h>
#include <berth/image/image_cache.h>
#include <berth/process/runner.h>
#include <berth/provision/templates.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace berth {

struct BuildOptions {
    std::string name = "debian-12";  ///< debian-11 or debian-12
    std::string mirror = "http://deb.debian.org/debian";
    std::string security_mirror;     ///< "" = the mirror's host with /debian-security
};

/// The kernel command line berth's built images boot with.
inline constexpr const char* k_built_image_cmdline = "root=/dev/vda rw console=ttyS0 net.ifnames=0";

/// Ok, or a Usage error: `url` (the value of `flag`) must be http:// or https://, a host (an IP
/// address, [IPv6] or a DNS name), an optional :PORT and an optional /PATH of letters, digits and
/// - . _ ~ / : @ + , = %XX. No user info, query or fragment; no quote, space, control character
/// or other shell character.
[[nodiscard]] Result<void> check_mirror_url(std::string_view url, std::string_view flag);

/// Ok, or a Usage error, before anything is made: the name (debian-11 or debian-12) and both mirrors.
[[nodiscard]] Result<void> check_build_options(const BuildOptions& options);

/// The security mirror the build uses: options.security_mirror, or the mirror's URL + "-security".
[[nodiscard]] std::string security_mirror_of(const BuildOptions& options);

/// The command that runs the build script: `bash -s` with the script (the rendered template, which
/// holds no value) on stdin and every value in the environment: OUT, SUITE, MIRROR, SECURITY_MIRROR.
[[nodiscard]] Command build_script_command(std::string script, const std::filesystem::path& out,
                                           const std::string& suite, const std::string& mirror,
                                           const std::string& security_mirror);

/// Builds the image (root only: debootstrap needs it) and stores it in `cache` under its name.
[[nodiscard]] Result<CachedImage> build_image(ImageCache& cache, Runner& runner, const TemplateSet& templates,
                                              const BuildOptions& options);

}  // namespace berth
