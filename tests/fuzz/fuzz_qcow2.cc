// qcow2 headers: the first bytes of an image someone else made (a download, a cached file, a
// volume), parsed before berth converts or uploads it, then checked for a backing or data file.
#include "fuzz_input.h"

#include <berth/driver/qcow2.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto bytes = berth::fuzz::text_of(data, size);
    auto header = berth::parse_qcow2_header(bytes, "fuzz.qcow2");
    if (header) (void)berth::check_qcow2_standalone(*header, "fuzz.qcow2");
    return 0;
}
