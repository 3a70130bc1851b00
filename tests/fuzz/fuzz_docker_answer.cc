// Bodies of Docker API answers (GET /info, /version) and the hardening check of /info.
#include "fuzz_input.h"

#include <berth/docker/docker_client.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto json = berth::parse_api_answer(berth::fuzz::text_of(data, size), "/info", "tcp://192.0.2.1:2376");
    if (json) {
        (void)berth::check_security_options(*json, {"userns", "seccomp", "apparmor|selinux"});
        (void)json->dump();
    }
    return 0;
}
