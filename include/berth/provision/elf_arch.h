#pragma once
/// Which machine an ELF program is built for, as `uname -m` names it, so that provision refuses to
/// install a berth-authz the host cannot run (an aarch64 host given an x86_64 build) before it
/// uploads anything.

#include <berth/core/error.h>

#include <string>
#include <string_view>

namespace berth {

/// The architecture of the ELF executable in `bytes` ("x86_64", "aarch64", "i386", "arm",
/// "riscv64", "ppc64le", "ppc64", "s390x"); "" when `bytes` is not an ELF file or its machine is
/// none of these.
[[nodiscard]] std::string elf_arch(std::string_view bytes);

/// `uname -m` as elf_arch names it: i486..i686 are "i386", armv6l and armv7l "arm".
[[nodiscard]] std::string host_arch_family(std::string_view uname_m);

/// An Error (what, why, what to do) unless the ELF program `bytes` (berth-authz) runs on a host
/// whose `uname -m` is `host_arch`; `machine` names the host in the message.
[[nodiscard]] Result<void> check_program_arch(std::string_view bytes, std::string_view host_arch,
                                              const std::string& machine);

}  // namespace berth
