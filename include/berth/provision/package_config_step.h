#pragma once
/// The files the package manager reads (apt's proxy, k_apt_proxy), as a step of the plan: checked
/// and put right like any other managed file, with nothing to reload (apt reads its configuration
/// on every run). Provisioner::run also writes them before a package install, from
/// render_pre_install_files (desired_files.h), so the install goes through the proxy; the step
/// then finds them in place.

#include <berth/provision/file_step.h>

#include <string>
#include <vector>

namespace berth {

class PackageConfigStep final : public FileStep {
public:
    explicit PackageConfigStep(std::vector<ManagedFile> files);

protected:
    /// Nothing: apt reads the file when it next runs.
    void activate(const Facts& facts, const std::vector<std::string>& written,
                  Changes& changes) const override;
};

}  // namespace berth
