#include <berth/provision/elf_arch.h>

#include <cstdint>

namespace berth {

std::string elf_arch(std::string_view bytes) {
    // e_ident: magic, class (1: 32-bit, 2: 64-bit), data (1: little-endian, 2: big-endian); e_machine at 18.
    if (bytes.size() < 20 || bytes.substr(0, 4) != "\x7f" "ELF") return "";
    const auto cls = static_cast<unsigned char>(bytes[4]);
    const auto data = static_cast<unsigned char>(bytes[5]);
    if ((cls != 1 && cls != 2) || (data != 1 && data != 2)) return "";
    const auto lo = static_cast<unsigned char>(bytes[data == 1 ? 18 : 19]);
    const auto hi = static_cast<unsigned char>(bytes[data == 1 ? 19 : 18]);
    const std::uint16_t machine = static_cast<std::uint16_t>(lo | (hi << 8));
    switch (machine) {
        case 3: return "i386";
        case 62: return "x86_64";
        case 40: return "arm";
        case 183: return "aarch64";
        case 243: return cls == 2 ? "riscv64" : "";
        case 21: return data == 1 ? "ppc64le" : "ppc64";
        case 22: return "s390x";
        default: return "";
    }
}

std::string host_arch_family(std::string_view uname_m) {
    if (uname_m.size() == 4 && uname_m[0] == 'i' && uname_m.substr(2) == "86" && uname_m[1] >= '3' &&
        uname_m[1] <= '6')
        return "i386";
    if (uname_m.starts_with("armv")) return "arm";
    return std::string(uname_m);
}

Result<void> check_program_arch(std::string_view bytes, std::string_view host_arch, const std::string& machine) {
    const std::string built = elf_arch(bytes);
    if (built.empty())
        return fail("the berth-authz program berth would install on " + machine +
                        " is not an ELF executable of an architecture berth knows",
                    "build it with `cmake --build build --target berth-authz` and point $BERTH_AUTHZ_BINARY at it "
                    "if it is not beside berth");
    if (host_arch.empty())
        return fail("the host " + machine + " did not report its architecture (uname -m)",
                    "check that uname works there (berth ssh " + machine + "), then run the command again");
    if (host_arch_family(host_arch) != built)
        return fail("the berth-authz program berth has is built for " + built + ", but " + machine + " is " +
                        std::string(host_arch) + " (uname -m): it could not run there",
                    "build berth-authz for " + std::string(host_arch) +
                        " and point $BERTH_AUTHZ_BINARY at it, then run the command again");
    return {};
}

}  // namespace berth
