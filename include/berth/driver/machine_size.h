#pragma once
/// A VM's memory and virtual CPUs: the settings `berth set` changes on a made machine (the
/// libvirt and virtualbox drivers' --<driver>-memory and --<driver>-cpu-count).

#include <string>
#include <vector>

namespace berth {

struct MachineSize {
    int memory_mib = 0;
    int cpus = 0;
};

/// What changes from `from` to `to`, one line each ("memory: 2048 -> 4096 MiB",
/// "cpu-count: 2 -> 4"); empty when they are equal.
[[nodiscard]] std::vector<std::string> describe_size_change(MachineSize from, MachineSize to);

}  // namespace berth
