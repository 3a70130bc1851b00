// The qcow2 header check that keeps images with a backing file (or an external data file) out of
// the cache and the drivers. Headers are built here from QEMU's docs/interop/qcow2.txt layout.

#include <berth/driver/qcow2.h>

#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <string>

using namespace berth;

namespace {

void put_be(std::string& bytes, std::size_t offset, std::uint64_t value, std::size_t width) {
    for (std::size_t i = 0; i < width; ++i)
        bytes[offset + width - 1 - i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

std::string header(std::uint32_t version, std::uint64_t size = 1ULL << 30) {
    std::string bytes(512, '\0');
    bytes.replace(0, 4, std::string("QFI\xfb", 4));
    put_be(bytes, 4, version, 4);
    put_be(bytes, 24, size, 8);
    put_be(bytes, 100, 104, 4);  // header_length
    return bytes;
}

}  // namespace

TEST_CASE("qcow2 headers: the fields berth reads", "[qcow2]") {
    auto v3 = parse_qcow2_header(header(3, 20ULL << 30), "a.qcow2");
    REQUIRE(v3);
    CHECK(v3->version == 3);
    CHECK(v3->virtual_size == 20ULL << 30);
    CHECK(v3->backing_file_offset == 0);
    CHECK(check_qcow2_standalone(*v3, "a.qcow2"));

    // Version 2 headers end at byte 72: no feature bits.
    auto v2 = parse_qcow2_header(header(2).substr(0, 72), "old.qcow2");
    REQUIRE(v2);
    CHECK(v2->incompatible_features == 0);
    CHECK(check_qcow2_standalone(*v2, "old.qcow2"));
}

TEST_CASE("qcow2 headers: a backing file or an external data file is refused", "[qcow2][trust]") {
    std::string backed = header(3);
    put_be(backed, 8, 0x200, 8);
    put_be(backed, 16, 11, 4);
    auto parsed = parse_qcow2_header(backed, "overlay.qcow2");
    REQUIRE(parsed);
    CHECK(parsed->backing_file_offset == 0x200);
    auto refused = check_qcow2_standalone(*parsed, "overlay.qcow2");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message ==
          "refusing overlay.qcow2: the qcow2 image names a backing file: whoever opens it (qemu-img, libvirt's "
          "qemu) would read that file of this host into the VM's disk");
    CHECK(refused.error().hint.find("qemu-img convert -O qcow2") != std::string::npos);

    std::string size_only = header(3);
    put_be(size_only, 16, 5, 4);  // a name length without an offset is not standalone either
    CHECK_FALSE(check_qcow2_standalone(parse_qcow2_header(size_only, "x").value(), "x"));

    std::string external = header(3);
    put_be(external, 72, 4, 8);  // incompatible feature bit 2: external data file
    auto ext = check_qcow2_standalone(parse_qcow2_header(external, "data.qcow2").value(), "data.qcow2");
    REQUIRE_FALSE(ext);
    CHECK(ext.error().message.find("external file") != std::string::npos);
}

TEST_CASE("qcow2 headers: short, foreign and unknown-version bytes fail cleanly", "[qcow2]") {
    CHECK_FALSE(parse_qcow2_header("", "e"));
    CHECK_FALSE(parse_qcow2_header("QFI", "e"));
    CHECK_FALSE(parse_qcow2_header(header(3).substr(0, 71), "e"));
    CHECK_FALSE(parse_qcow2_header(header(3).substr(0, 100), "e"));  // version 3 needs 104 bytes
    CHECK_FALSE(parse_qcow2_header(header(4), "e"));
    CHECK_FALSE(parse_qcow2_header(std::string(512, 'x'), "e"));
}

TEST_CASE("qcow2 files: a raw disk passes, a backed qcow2 file does not", "[qcow2][trust]") {
    berth::test::TempDir dir;
    berth::test::write_text(dir / "raw.img", std::string(4096, '\0'));
    CHECK(check_disk_standalone(dir / "raw.img"));
    berth::test::write_text(dir / "clean.qcow2", header(3));
    CHECK(check_disk_standalone(dir / "clean.qcow2"));
    std::string backed = header(3);
    put_be(backed, 8, 0x200, 8);
    put_be(backed, 16, 11, 4);
    berth::test::write_text(dir / "backed.qcow2", backed);
    auto refused = check_disk_standalone(dir / "backed.qcow2");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find((dir / "backed.qcow2").string()) != std::string::npos);
    berth::test::write_text(dir / "short.qcow2", header(3).substr(0, 40));
    CHECK_FALSE(check_disk_standalone(dir / "short.qcow2"));
    CHECK_FALSE(check_disk_standalone(dir / "missing.qcow2"));
}
