// The output of facts_script() on a host: sections of lines opened by "@name".
#include "fuzz_input.h"

#include <berth/provision/facts.h>
#include <berth/provision/os_release.h>

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto facts = berth::parse_facts(std::string(berth::fuzz::text_of(data, size)));
    if (!facts) return 0;
    (void)facts->unit_active("docker");
    (void)facts->unit_enabled("docker");
    (void)facts->package_version("docker.io");
    (void)berth::parse_os_release(facts->os_release);
    return 0;
}
