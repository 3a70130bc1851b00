#pragma once
/// The `libvirt` driver: a VM made through libvirt's API (qemu:///system, or a remote
/// qemu+ssh://host/system), disks as volumes of a `berth` storage pool, a cloud-init NoCloud seed,
/// and an address from libvirt's DHCP leases. See drivers/libvirt/README.md.

#include <berth/drivers/libvirt/libvirt_api.h>
#include <berth/drivers/libvirt/volume_record.h>

#include <berth/core/host_cpu.h>
#include <berth/driver/driver.h>
#include <berth/provision/cloud_init.h>
#include <berth/provision/templates.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <utility>
#include <string>
#include <string_view>

namespace berth {

namespace libvirt {

/// Puts a local file's bytes into a volume. The real one streams through libvirt
/// (virStorageVolUpload, 1 MiB chunks), so it works over qemu+ssh://; libvirt's test driver has no
/// upload, so tests use a fake.
class VolumeUploader {
public:
    virtual ~VolumeUploader() = default;
    [[nodiscard]] virtual Result<void> upload(StorageVolume& volume, const std::filesystem::path& file) = 0;
    /// What the volume holds, read back whole: its size in bytes and its sha256 (hex). A shared
    /// volume is reused only when this matches the file it should hold.
    [[nodiscard]] virtual Result<std::pair<std::uint64_t, std::string>> content_digest(StorageVolume& volume) = 0;
};

class StreamUploader final : public VolumeUploader {
public:
    [[nodiscard]] Result<void> upload(StorageVolume& volume, const std::filesystem::path& file) override;
    /// virStorageVolDownload of the whole volume, hashed as it streams.
    [[nodiscard]] Result<std::pair<std::uint64_t, std::string>> content_digest(StorageVolume& volume) override;
};

/// The size and sha256 (hex) of a local file.
[[nodiscard]] Result<std::pair<std::uint64_t, std::string>> file_digest(const std::filesystem::path& file);

/// "kvm" or "qemu" for a requested virt-type ("auto", "kvm", "qemu"). auto picks kvm only where
/// guests can run: a local URI, /dev/kvm present and vmx/svm in cpuinfo (a /dev/kvm without them,
/// e.g. from kvm_pvm, hangs stock guests). An explicit kvm that cannot run locally is a
/// PrecreateCheck error; on a remote URI it is taken as given.
[[nodiscard]] Result<std::string> decide_virt_type(std::string_view requested, std::string_view uri,
                                                   bool dev_kvm_exists, std::string_view cpuinfo);

/// What the domain XML template needs.
struct DomainSpec {
    std::string name;             ///< "berth-web1"
    std::string virt_type;        ///< "qemu" or "kvm"
    int memory_mib = 2048;
    int cpus = 2;
    std::string disk_path;        ///< the overlay volume's path
    std::string data_disk_path;   ///< "" for none
    std::string seed_path;        ///< the cloud-init ISO volume's path
    std::string kernel_path;      ///< "" to boot the disk's bootloader
    std::string initrd_path;
    std::string kernel_cmdline;
    std::string network = "default";
};

[[nodiscard]] Result<std::string> render_domain_xml(const TemplateSet& templates, const DomainSpec& spec);

/// A virDomainState as berth's MachineState.
[[nodiscard]] MachineState map_domain_state(int state);

/// The virtual size in bytes of a qcow2 file (from its header), nullopt if it is not qcow2.
[[nodiscard]] std::optional<std::uint64_t> qcow2_virtual_size(const std::filesystem::path& file);

/// The names of what create makes for `machine`.
struct MachineNames {
    std::string domain;       ///< berth-<machine>
    std::string disk;         ///< <machine>.qcow2
    std::string data_disk;    ///< <machine>-data.qcow2
    std::string seed;         ///< <machine>-seed.iso
};
[[nodiscard]] MachineNames machine_names(const std::string& machine);

/// "base-<sha256[0:16]>.qcow2"; kernel and initrd are "base-<sha16>-kernel" / "-initrd".
[[nodiscard]] std::string base_volume_name(const std::string& sha256);

}  // namespace libvirt

/// Knobs for tests (and nothing else): the uploader, timeouts and what the host looks like.
struct LibvirtHooks {
    std::shared_ptr<libvirt::VolumeUploader> uploader;  ///< null: StreamUploader
    std::chrono::milliseconds address_timeout{std::chrono::seconds(180)};
    std::chrono::milliseconds shutdown_timeout{std::chrono::seconds(120)};
    std::chrono::milliseconds poll_interval{std::chrono::seconds(1)};
    std::function<bool()> dev_kvm_exists;      ///< null: std::filesystem::exists("/dev/kvm")
    std::function<std::string()> cpuinfo;      ///< null: the text of /proc/cpuinfo
    std::string genisoimage = "genisoimage";   ///< argv[0] of the ISO maker
    /// What libvirt reports of a shared volume that any write changes; null: its XML's size and
    /// timestamps (libvirt's test driver reports none, so tests play them).
    libvirt::VolumeStamper volume_stamp;
};

[[nodiscard]] DriverInfo libvirt_driver_info(LibvirtHooks hooks = {});

}  // namespace berth
