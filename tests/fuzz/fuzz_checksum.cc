// Checksum files as distributions publish them (SHA256SUMS, SHA512SUMS, GNU and BSD lines) and
// checksum values ("sha256:HEX"). The file looked up is the one the first line names, and a
// fixed one.
#include "fuzz_input.h"

#include <berth/image/checksum.h>

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = berth::fuzz::text_of(data, size);
    (void)berth::parse_checksum(text);
    (void)berth::find_in_sums(text, "debian-12-genericcloud-amd64.qcow2", "SHA512SUMS");
    const auto first_line = text.substr(0, text.find('\n'));
    const auto space = first_line.find_last_of(" *)(");
    if (space != std::string_view::npos) {
        const std::string name(first_line.substr(space + 1));
        (void)berth::find_in_sums(text, name, "SHA256SUMS");
    }
    return 0;
}
