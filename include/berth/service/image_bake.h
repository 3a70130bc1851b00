#pragma once
/// `berth image bake SOURCE --as NAME`: a golden image. A temporary machine is created from the
/// cached image SOURCE (libvirt) and provisioned as any machine is, so the packages step installs
/// Docker and every package the hardening needs (the same list, package_names()); then everything
/// machine-specific is removed over SSH (bake_cleanup_script), the machine is powered off, its disk
/// is flattened with `qemu-img convert` into a standalone qcow2 and cached as NAME, recording that
/// it was baked from SOURCE and the packages it holds. The temporary machine and its volumes are
/// removed whatever happens (a failure, an exception, SIGINT/SIGTERM while it runs). A machine
/// created from NAME then finds its packages installed (facts): no apt call, and the plan writes
/// only the files that are the machine's own (TLS, the authz policy, the engine environment).

#include <berth/core/error.h>
#include <berth/image/image_cache.h>
#include <berth/service/machine_service.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace berth {

struct BakeRequest {
    std::string source;        ///< a cached image (berth image ls), e.g. debian-12
    std::string name;          ///< --as: the new image's name in the cache
    std::string driver = "libvirt";
    OptionValues driver_flags;  ///< --libvirt-uri, --libvirt-memory... (image and data disk are the bake's)
    EngineConfig engine;        ///< --engine-install docker-ce bakes Docker's own packages
    /// Asked between the phases: true (Ctrl-C) stops the bake there; the temporary machine is
    /// removed as after any failure. Empty: never.
    std::function<bool()> interrupted;
};

struct BakeReport {
    CachedImage image;
    std::string machine;                ///< the temporary machine (gone when bake returns)
    std::vector<std::string> packages;  ///< what the image holds (package_names for its OS)
    Timings timings;                    ///< "create", "clean", "stop", "convert", "cache"
};

/// The temporary machine a bake of `image` uses: "bake-<image>". Its root disk is the source's
/// virtual size (unless --libvirt-disk-size says otherwise), and it has no data disk.
[[nodiscard]] std::string bake_machine_name(std::string_view image);

/// What the bake runs on the temporary machine, as root, in this order: docker stopped and
/// disabled; /var/lib/docker and /var/lib/containerd emptied; the machine's TLS files, engine
/// environment and authz policy deleted; SSH host keys; every authorized_keys and shell history;
/// cloud-init's state (cloud-init clean --logs --seed); apt's lists and cache; DHCP leases, the
/// random seed, /tmp; the journal and /var/log's files; last /etc/machine-id truncated (as
/// systemd images ship it) and dbus's copy removed. Ends with "sync".
[[nodiscard]] std::string bake_cleanup_script();

/// Where a powered-off machine's root disk is on this host, from its record: the libvirt driver's
/// pool and volume through `virsh vol-path`. The seam a test replaces.
using DiskLocator = std::function<Result<std::filesystem::path>(const Machine&)>;
[[nodiscard]] DiskLocator libvirt_disk_locator(Runner& runner);

class ImageBakeService {
public:
    /// `machines` makes and removes the temporary machine; `cache` receives the image; `runner`
    /// runs qemu-img (and virsh, through `locate`).
    ImageBakeService(const MachineService& machines, ImageCache& cache, Runner& runner, DiskLocator locate);

    /// Validates (Usage for a bad name or a flag the bake sets itself, NotFound for an unknown SOURCE, Conflict for a
    /// NAME already cached), removes a temporary machine an earlier killed bake left, then bakes.
    [[nodiscard]] Result<BakeReport> bake(const BakeRequest& request) const;

private:
    [[nodiscard]] Result<void> validate(const BakeRequest& request) const;
    [[nodiscard]] Result<void> bake_on(const BakeRequest& request, const CachedImage& source,
                                       BakeReport& report) const;
    [[nodiscard]] Result<void> clean(const std::string& machine) const;
    [[nodiscard]] Result<CachedImage> store(const BakeRequest& request, const CachedImage& source,
                                            const std::string& machine, const std::vector<std::string>& packages,
                                            Timings& timings) const;

    const MachineService& m_machines;
    ImageCache& m_cache;
    Runner& m_runner;
    DiskLocator m_locate;
};

}  // namespace berth
