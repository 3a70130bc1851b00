#pragma once
/// berth audit: a machine's hardening checked, read-only, over one SSH connection (connect():
/// the pinned host key) and the Docker API over mutual TLS. It runs the provisioner's check-only
/// mode (the facts command), asks the API for /info, the running containers, whether a client
/// without a certificate is refused and whether berth-authz refuses a privileged container, then
/// runs one read-only audit command (audit_host.h) and evaluates every check (audit_checks.h).
/// `fix` runs the machine's provision (under its lock) and audits again.

#include <berth/provision/audit_checks.h>
#include <berth/service/machine_service.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

/// One machine's audit.
struct MachineAudit {
    std::string machine;
    std::vector<AuditResult> results;
    std::optional<ProvisionReport> fix;  ///< what `fix` changed before this audit
    int remote_commands = 0;             ///< commands the audit ran over its one SSH connection

    /// True when no scored check is WARN.
    [[nodiscard]] bool passed() const { return audit_passed(results); }
};

class AuditService {
public:
    /// Draws the nonce that marks the audit command's sections (random by default).
    using NonceSource = std::function<std::string()>;

    explicit AuditService(const MachineService& machines, NonceSource nonce = {});

    /// Audits a machine; an Error when it cannot be reached or read (a failing check is a result).
    [[nodiscard]] Result<MachineAudit> audit(std::string_view name, const ProvisionOptions& options) const;

    /// Provisions the machine (MachineService::provision), then audits it again.
    [[nodiscard]] Result<MachineAudit> fix(std::string_view name, const ProvisionOptions& options) const;

private:
    const MachineService& m_machines;
    NonceSource m_nonce;
};

}  // namespace berth
