#pragma once
/// The hardening plan once the packages are in: the steps in the order they apply (host name,
/// subordinate ids, TLS files, daemon.json, the dockerd drop-in, audit rules, sshd, the firewall,
/// the docker service), each holding its part of the desired state rendered from the templates
/// for `facts`. The packages step (packages_step.h) comes before the plan, because an install
/// changes the facts the plan is made from.

#include <berth/core/error.h>
#include <berth/provision/facts.h>
#include <berth/provision/os_release.h>
#include <berth/provision/provisioner.h>
#include <berth/provision/step.h>
#include <berth/provision/templates.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace berth {

struct Plan {
    std::vector<std::unique_ptr<Step>> steps;
    std::map<std::string, std::string> digests;  ///< path -> sha256 of what berth wants there
    std::vector<std::string> warnings;           ///< engine options that weaken the hardening
};

/// The plan for a host in `facts` of `family`; an Error if a template does not render or an
/// engine option is malformed (desired_files.h).
[[nodiscard]] Result<Plan> make_plan(const TemplateSet& templates, const Facts& facts,
                                     const ProvisionRequest& request, OsFamily family);

}  // namespace berth
