#include <berth/driver/qcow2.h>

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include <string>

namespace berth {
namespace {

std::uint64_t big_endian(std::string_view bytes, std::size_t offset, std::size_t width) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < width; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[offset + i]);
    return value;
}

bool has_qcow2_magic(std::string_view bytes) { return bytes.substr(0, 4) == std::string_view("QFI\xfb", 4); }

}  // namespace

Result<Qcow2Header> parse_qcow2_header(std::string_view bytes, std::string_view what) {
    if (!has_qcow2_magic(bytes))
        return fail(std::string(what) + " is not a qcow2 file (it does not start with \"QFI\\xfb\")");
    if (bytes.size() < 72)
        return fail(std::string(what) + " is too short for a qcow2 header (" + std::to_string(bytes.size()) +
                        " bytes)",
                    "the file is truncated; fetch it again");
    Qcow2Header header;
    header.version = static_cast<std::uint32_t>(big_endian(bytes, 4, 4));
    if (header.version != 2 && header.version != 3)
        return fail(std::string(what) + " has qcow2 version " + std::to_string(header.version) +
                        ", which berth does not know (2 or 3)",
                    "convert it with qemu-img convert -O qcow2 and use the copy");
    header.backing_file_offset = big_endian(bytes, 8, 8);
    header.backing_file_size = static_cast<std::uint32_t>(big_endian(bytes, 16, 4));
    header.virtual_size = big_endian(bytes, 24, 8);
    if (header.version == 3) {
        if (bytes.size() < k_qcow2_header_bytes)
            return fail(std::string(what) + " is too short for a qcow2 version 3 header (" +
                            std::to_string(bytes.size()) + " bytes)",
                        "the file is truncated; fetch it again");
        header.incompatible_features = big_endian(bytes, 72, 8);
    }
    return header;
}

Result<void> check_qcow2_standalone(const Qcow2Header& header, std::string_view what) {
    const std::string why = ": whoever opens it (qemu-img, libvirt's qemu) would read that file of this host "
                            "into the VM's disk";
    const std::string hint = "use a standalone image; to flatten one you trust: qemu-img convert -O qcow2 "
                             "IMAGE standalone.qcow2";
    if (header.backing_file_offset != 0 || header.backing_file_size != 0)
        return fail("refusing " + std::string(what) + ": the qcow2 image names a backing file" + why, hint);
    if (header.has_external_data_file())
        return fail("refusing " + std::string(what) + ": the qcow2 image keeps its data in an external file" + why,
                    hint);
    return {};
}

Result<void> check_disk_standalone(const std::filesystem::path& file) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail("cannot read " + file.string() + ": " + errno_text(errno));
    std::string head(k_qcow2_header_bytes, '\0');
    std::size_t got = 0;
    while (got < head.size()) {
        const ssize_t n = ::read(fd, head.data() + got, head.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    ::close(fd);
    head.resize(got);
    if (!has_qcow2_magic(head)) return {};
    auto header = parse_qcow2_header(head, file.string());
    if (!header) return std::unexpected(header.error());
    return check_qcow2_standalone(*header, file.string());
}

}  // namespace berth
