#pragma once
/// What this host's CPU can do, for drivers that run VMs here.

#include <string_view>

namespace berth {

/// True if /proc/cpuinfo's "flags" lines list hardware virtualization (vmx or svm). Without it a
/// /dev/kvm (nested or paravirtual KVM) hangs stock guests, and VirtualBox cannot start a VM.
[[nodiscard]] bool cpu_has_hw_virt(std::string_view cpuinfo);

}  // namespace berth
