#pragma once
// The provisioner's request for a machine (its engine settings, SSH ports and TLS files), shared
// by provision (provision.cc) and the audit's check-only run (audit_service.cc).

#include <berth/provision/provisioner.h>
#include <berth/service/machine_service.h>

namespace berth {

/// The request for `machine` reached at `endpoint`, with berth-authz's program from `ports`.
[[nodiscard]] Result<ProvisionRequest> machine_provision_request(const Ports& ports, const Machine& machine,
                                                                 const SshEndpoint& endpoint, bool upgrade = false);

}  // namespace berth
