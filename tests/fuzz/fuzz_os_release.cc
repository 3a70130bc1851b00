// /etc/os-release as the host prints it (facts output, section @os-release).
#include "fuzz_input.h"

#include <berth/provision/os_release.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto os = berth::parse_os_release(berth::fuzz::text_of(data, size));
    if (os) (void)berth::check_supported(*os);
    return 0;
}
