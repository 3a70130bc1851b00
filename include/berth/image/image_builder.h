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

#include <string>

namespace berth {

struct BuildOptions {
    std::string name = "debian-12";  ///< debian-11 or debian-12
    std::string mirror = "http://deb.debian.org/debian";
    std::string security_mirror;     ///< "" = the mirror's host with /debian-security
};

/// The kernel command line berth's built images boot with.
inline constexpr const char* k_built_image_cmdline = "root=/dev/vda rw console=ttyS0 net.ifnames=0";

/// Builds the image (root only: debootstrap needs it) and stores it in `cache` under its name.
[[nodiscard]] Result<CachedImage> build_image(ImageCache& cache, Runner& runner, const TemplateSet& templates,
                                              const BuildOptions& options);

}  // namespace berth
