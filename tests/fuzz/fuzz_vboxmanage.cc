// What VBoxManage prints: --version, showvminfo --machinereadable, list vms / runningvms,
// list hostonlyifs / dhcpservers.
#include "fuzz_input.h"

#include <berth/drivers/virtualbox/vboxmanage.h>

using namespace berth::virtualbox;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = berth::fuzz::text_of(data, size);
    if (auto v = parse_version(text)) (void)v->at_least(6, 1, 28);
    (void)parse_machinereadable(text);
    (void)parse_vm_list(text);
    // The adapter lookup create does, for every address the listing holds.
    for (const auto& block : parse_blocks(text)) {
        auto ip = block.find("IPAddress");
        auto mask = block.find("NetworkMask");
        if (ip != block.end() && mask != block.end()) (void)find_hostonly_if(text, ip->second, mask->second);
    }
    return 0;
}
