#pragma once
/// The qcow2 header, read by berth itself before an image is cached, converted or uploaded: a
/// qcow2 file may name a backing file (or an external data file) by path, and whoever then opens
/// it (qemu-img, libvirt's qemu) reads that file of the host into the guest's disk. berth refuses
/// such images everywhere it takes one: at pull, at cache use and in the drivers.

#include <berth/core/error.h>

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace berth {

/// What berth needs from a qcow2 header (big-endian fields; QEMU's docs/interop/qcow2.txt).
struct Qcow2Header {
    std::uint32_t version = 0;              ///< 2 or 3
    std::uint64_t backing_file_offset = 0;  ///< byte 8; 0: no backing file
    std::uint32_t backing_file_size = 0;    ///< byte 16
    std::uint64_t virtual_size = 0;         ///< byte 24
    std::uint64_t incompatible_features = 0;  ///< byte 72 (version 3; 0 for version 2)

    /// Bit 2 of incompatible_features: the guest data is in another file, named in a header
    /// extension.
    [[nodiscard]] bool has_external_data_file() const { return (incompatible_features & 4U) != 0; }
};

/// The number of leading bytes parse_qcow2_header needs.
inline constexpr std::size_t k_qcow2_header_bytes = 104;

/// Parses the first bytes of a file as a qcow2 header. Fails (naming `what`) when they do not
/// start with the magic "QFI\xfb", are too short, or carry a version other than 2 or 3. A pure
/// function: any bytes are safe to give it.
[[nodiscard]] Result<Qcow2Header> parse_qcow2_header(std::string_view bytes, std::string_view what);

/// Refuses a qcow2 header that points outside its own file: a backing file or an external
/// data file. The error says what, why, and what to do (qemu-img convert makes a standalone copy).
[[nodiscard]] Result<void> check_qcow2_standalone(const Qcow2Header& header, std::string_view what);

/// Reads `file`'s header and checks it with check_qcow2_standalone; a file that is not qcow2
/// (a raw disk) passes. Failed, naming the file, when it cannot be read.
[[nodiscard]] Result<void> check_disk_standalone(const std::filesystem::path& file);

}  // namespace berth
