#include <berth/driver/machine_size.h>

namespace berth {

std::vector<std::string> describe_size_change(MachineSize from, MachineSize to) {
    std::vector<std::string> out;
    if (from.memory_mib != to.memory_mib)
        out.push_back("memory: " + std::to_string(from.memory_mib) + " -> " + std::to_string(to.memory_mib) + " MiB");
    if (from.cpus != to.cpus)
        out.push_back("cpu-count: " + std::to_string(from.cpus) + " -> " + std::to_string(to.cpus));
    return out;
}

}  // namespace berth
