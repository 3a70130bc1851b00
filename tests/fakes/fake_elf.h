#pragma once
// The start of an ELF executable for a machine (e_machine), enough for elf_arch(): what tests
// hand the provisioner as the berth-authz program instead of the real binary.

#include <cstdint>
#include <string>

namespace berth::test {

/// 64 bytes: an ELF64 little-endian header of an executable for `machine` (62 x86_64, 183 aarch64),
/// then `tail` (so two fake programs can differ).
inline std::string fake_elf(std::uint16_t machine = 62, const std::string& tail = "berth-authz") {
    std::string h(64, '\0');
    h.replace(0, 4, "\x7f" "ELF");
    h[4] = 2;  // ELFCLASS64
    h[5] = 1;  // little-endian
    h[6] = 1;  // EV_CURRENT
    h[16] = 2; // ET_EXEC
    h[18] = static_cast<char>(machine & 0xff);
    h[19] = static_cast<char>(machine >> 8);
    return h + tail;
}

}  // namespace berth::test
