#pragma once
/// The NoCloud seed that VM drivers (libvirt, virtualbox) boot an image with: a user with sudo
/// and berth's SSH key, the hostname, no passwords, a grown root filesystem, the data disk; an ISO
/// labelled "cidata" made with genisoimage. Two readers, one content: cloud-init (cloud images and
/// images built by older berths) reads the templates cloud-init-user-data, cloud-init-meta-data
/// and (when NICs are named by MAC) cloud-init-network-config; images `berth image build` makes
/// have no cloud-init and run berth-firstboot.sh (template seed-firstboot.sh) from the seed instead.

#include <berth/core/error.h>
#include <berth/process/runner.h>
#include <berth/provision/templates.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace berth {

struct CloudInitSpec {
    std::string hostname;
    std::string user = "docker";
    std::string ssh_public_key;  ///< "ssh-ed25519 AAAA... comment"
    /// The VM's own SSH host key, made by berth and pinned before the first boot (no trust on
    /// first use): OpenSSH private key text and its public line. Empty: cloud-init makes keys.
    std::string host_key_private;
    std::string host_key_public;
    std::string instance_id;
    bool data_disk = true;       ///< a second virtio disk (/dev/vdb) for /var/lib/docker
    /// MACs ("08:00:27:aa:bb:cc") of NICs to configure with DHCP, in order. Empty: no
    /// network-config, so cloud-init's fallback DHCPs the first NIC (whatever the image names it).
    std::vector<std::string> dhcp_macs;
};

struct CloudInitFiles {
    std::string user_data;
    std::string meta_data;
    std::string network_config;  ///< "" for none
    std::string firstboot;       ///< k_seed_firstboot_file: the same first boot as a shell script
};

/// The seed's script for images without cloud-init (their berth-firstboot.service runs it once).
inline constexpr const char* k_seed_firstboot_file = "berth-firstboot.sh";

/// An Error for a user name useradd cannot make or a MAC that is not one (the script's values).
[[nodiscard]] Result<CloudInitFiles> render_cloud_init(const TemplateSet& templates, const CloudInitSpec& spec);

/// The SSH key a VM driver's machine is reached with, in the machine's directory.
inline constexpr const char* k_vm_ssh_key_file = "id_ed25519";

/// Makes <machine_dir>/seed.iso (0600) for a new VM and returns its path: the machine's SSH key
/// (<machine_dir>/id_ed25519, made if missing) goes into spec.ssh_public_key; a new ed25519 host
/// key for the VM goes into the seed and its public half is pinned in <machine_dir>/known_hosts
/// as host_key_alias(spec.hostname) (spec.hostname is the machine's name), replacing any key
/// pinned before; the files are
/// rendered from the templates (with `templates_dir`'s overrides) into <machine_dir>/cloud-init/
/// (0600), and `genisoimage` (argv[0]) makes the ISO.
[[nodiscard]] Result<std::filesystem::path> make_vm_seed(Runner& runner, const std::string& genisoimage,
                                                         const std::filesystem::path& machine_dir,
                                                         const std::optional<std::filesystem::path>& templates_dir,
                                                         CloudInitSpec spec);

/// Deletes the local seed (<machine_dir>/seed.iso and <machine_dir>/cloud-init/), which holds the
/// VM's private host key; for the drivers' discard_seed() once the VM is reached.
[[nodiscard]] Result<void> remove_vm_seed_files(const std::filesystem::path& machine_dir);

}  // namespace berth
