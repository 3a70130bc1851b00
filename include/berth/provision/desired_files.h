#pragma once
/// The files berth wants on a host, rendered from the templates for what the facts say is there
/// (dockerd's path, containerd, nft, sshd's ports, which of Docker's paths exist) and for the
/// request (the engine port and options, the TLS material). Rendering writes nothing, so a
/// check-only run compares these digests, modes and owners with the facts too.

#include <berth/core/error.h>
#include <berth/provision/changes.h>
#include <berth/provision/facts.h>
#include <berth/provision/os_release.h>
#include <berth/provision/provisioner.h>
#include <berth/provision/templates.h>

#include <string>
#include <vector>

namespace berth {

/// daemon.json as the request's other swarm state would have it (in a swarm when the request is
/// not, and the reverse): the same file but for live-restore, which dockerd reloads.
[[nodiscard]] Result<std::string> daemon_json_across_swarm(const TemplateSet& templates, const Facts& facts,
                                                           const ProvisionRequest& request, OsFamily family);

/// The managed files the package install reads, so written before it (Provisioner::run): they
/// depend on the request alone, not on facts an install changes. On apt hosts apt's proxy
/// (k_apt_proxy; a comment alone without --engine-apt-proxy), on the RHEL family none. An Error
/// for a template that does not render or a proxy URL apt.conf cannot carry.
[[nodiscard]] Result<std::vector<ManagedFile>> render_pre_install_files(const TemplateSet& templates,
                                                                        const ProvisionRequest& request,
                                                                        OsFamily family);

/// The managed files in the order of managed_paths(), the pre-install ones included. `warnings` gets a line
/// for every engine option that weakens the hardening; an Error for a template that does not render or an
/// --engine-opt or --engine-env that is not key=value.
[[nodiscard]] Result<std::vector<ManagedFile>> render_desired_files(const TemplateSet& templates,
                                                                    const Facts& facts,
                                                                    const ProvisionRequest& request,
                                                                    OsFamily family,
                                                                    std::vector<std::string>& warnings);

}  // namespace berth
