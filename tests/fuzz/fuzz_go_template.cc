// `ls --format` / `inspect --format` templates, rendered against a record like inspect's.
#include "fuzz_input.h"

#include <berth/core/go_template.h>

namespace {

const nlohmann::json& data() {
    static const nlohmann::json j = nlohmann::json::parse(R"({
        "Name": "dev", "DriverName": "libvirt", "State": "Running", "URL": "tcp://192.168.122.10:2376",
        "Active": "*", "Error": null, "DockerVersion": "v20.10.24", "ResponseTime": 12,
        "driver": {"memory_mb": 2048, "cpus": 2, "network": "default", "disk_gb": 20},
        "engine": {"port": 2376, "labels": ["a=b"], "opts": [], "env": ["HTTP_PROXY=http://p:3128"]},
        "tls": {"sans": ["192.168.122.10", "dev"], "ca_days": 1826, "leaf_days": 730},
        "provision": {"os": "debian 12", "digests": {"/etc/docker/daemon.json": "ab12"}}
    })");
    return j;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data_in, std::size_t size) {
    auto tmpl = berth::GoTemplate::parse(berth::fuzz::text_of(data_in, size));
    if (tmpl) (void)tmpl->render(data());
    return 0;
}
