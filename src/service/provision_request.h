#pragma once
// The provisioner's request for a machine (its engine settings, SSH ports and TLS files), shared
// by provision (provision.cc) and the audit's check-only run (audit_service.cc).

#include <berth/provision/provisioner.h>
#include <berth/service/connect.h>
#include <berth/service/machine_service.h>

namespace berth {

/// The request for `machine` reached at `endpoint`, with berth-authz's program from `ports`.
[[nodiscard]] Result<ProvisionRequest> machine_provision_request(const Ports& ports, const Machine& machine,
                                                                 const SshEndpoint& endpoint, bool upgrade = false);

/// A machine after the check-only provision (the facts command over one SSH connection, which
/// stays open for more reading: the audit's API and host reads).
struct CheckRun {
    Machine machine;
    Connection connection;
    CheckReport check;
};
/// Opens `name`, connects with its pinned host key and runs Provisioner::check. `what` names
/// the work in the error for machines berth does not reach over SSH ("audit").
[[nodiscard]] Result<CheckRun> check_only_run(const MachineService& machines, std::string_view name,
                                              const ProvisionOptions& options, std::string_view what);

}  // namespace berth
