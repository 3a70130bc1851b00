#include <berth/provision/package_config_step.h>

namespace berth {

PackageConfigStep::PackageConfigStep(std::vector<ManagedFile> files) : FileStep("apt proxy", std::move(files)) {}

void PackageConfigStep::activate(const Facts&, const std::vector<std::string>&, Changes&) const {}

}  // namespace berth
