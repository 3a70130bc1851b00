#pragma once
/// The `virtualbox` driver: a VirtualBox VM made and driven through VBoxManage (via the Runner), a
/// cloud image converted to VDI, a cloud-init seed as its DVD, SSH and Docker reached through NAT
/// port forwards on 127.0.0.1, and an optional host-only adapter. Tested against the VBoxManage
/// simulator in tests/fakes, not a real VirtualBox. See drivers/virtualbox/README.md.

#include <berth/drivers/virtualbox/vboxmanage.h>

#include <berth/driver/driver.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace berth {

namespace virtualbox {

/// An IPv4 network written as docker-machine's --virtualbox-hostonly-cidr: the host's address on
/// it and the prefix length ("192.168.56.1/24").
struct HostOnlyCidr {
    std::uint32_t host = 0;  ///< the host adapter's address
    int prefix = 24;
    [[nodiscard]] std::uint32_t mask() const { return prefix == 0 ? 0 : ~std::uint32_t(0) << (32 - prefix); }
    [[nodiscard]] std::uint32_t network() const { return host & mask(); }
};

[[nodiscard]] Result<HostOnlyCidr> parse_hostonly_cidr(std::string_view text);
[[nodiscard]] std::string ipv4_text(std::uint32_t address);

/// Whether VirtualBox `version` lets a host-only adapter use `cidr`: from 6.1.28 only
/// 192.168.56.0/21 unless /etc/vbox/networks.conf (its text given) lists the range ("* 10.0.0.0/8").
[[nodiscard]] bool hostonly_range_allowed(const VBoxVersion& version, const HostOnlyCidr& cidr,
                                          std::string_view networks_conf);

/// The first IPv4 address in `cidr`'s network (not the host's own) in `ip -4 -o addr show`
/// output; "" if none.
[[nodiscard]] std::string address_in(std::string_view ip_addr_output, const HostOnlyCidr& cidr);

/// A VirtualBox machine state (VMState of showvminfo) as berth's.
[[nodiscard]] MachineState map_vm_state(std::string_view vm_state);

}  // namespace virtualbox

/// Knobs for tests (and nothing else).
struct VirtualBoxHooks {
    virtualbox::VBoxManage::Options vboxmanage;             ///< program, retries, timeout
    std::string qemu_img = "qemu-img";                      ///< converts the qcow2 image to raw
    std::string genisoimage = "genisoimage";
    std::function<std::string()> cpuinfo;                  ///< null: /proc/cpuinfo
    std::filesystem::path networks_conf = "/etc/vbox/networks.conf";
    std::chrono::milliseconds shutdown_timeout{std::chrono::seconds(120)};
    std::chrono::milliseconds poll_interval{std::chrono::seconds(1)};
};

[[nodiscard]] DriverInfo virtualbox_driver_info(VirtualBoxHooks hooks = {});

}  // namespace berth
