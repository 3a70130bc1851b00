#include <berth/service/audit_service.h>

#include <berth/core/log.h>
#include <berth/core/text.h>
#include <berth/provision/templates.h>
#include <berth/service/connect.h>

#include "provision_request.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <random>

namespace berth {
namespace {

std::string random_nonce() {
    std::random_device device;
    std::string out;
    for (int i = 0; i < 4; ++i) {
        char part[9];
        std::snprintf(part, sizeof part, "%08x", static_cast<unsigned>(device()));
        out += part;
    }
    return out;
}

/// What the Docker API tells: /info and the containers must answer (else the machine cannot be
/// audited); the anonymous-client check and the authorization probe are results either way.
Result<void> read_api(const std::string& machine, DockerProbe& docker, AuditApi& api) {
    spdlog::info("[{}] Asking Docker through its API over mutual TLS...", machine);
    auto info = docker.info();
    if (!info) return std::unexpected(info.error());
    api.info = std::move(*info);
    auto containers = docker.running_containers();
    if (!containers) return std::unexpected(containers.error());
    api.containers = std::move(*containers);
    if (auto refused = docker.refuses_anonymous_client(); !refused) api.anonymous_error = refused.error().message;
    auto probe = docker.authz_probe();
    if (probe) api.probe = std::move(*probe);
    else api.probe_error = probe.error().message;
    return {};
}

/// The audit command: read-only, its sections marked by `nonce`.
Result<AuditHost> read_host(const std::string& machine, Session& session, const std::string& nonce,
                            const std::vector<std::string>& sources) {
    spdlog::info("[{}] Reading audit rules, Docker's files and the bind-mounted directories...", machine);
    auto out = session.run(audit_script(nonce, sources), std::chrono::seconds(600));
    if (!out) {
        Error e = out.error();
        e.message = "auditing " + machine + " failed: " + e.message;
        return std::unexpected(e);
    }
    if (out->exit_status != 0)
        return fail("auditing " + machine + " failed (exit " + std::to_string(out->exit_status) +
                        "): " + tail_lines(out->err.empty() ? out->out : out->err, 5),
                    "berth needs root or passwordless sudo for the SSH user");
    return parse_audit_output(out->out, nonce);
}

}  // namespace

AuditService::AuditService(const MachineService& machines, NonceSource nonce)
    : m_machines(machines), m_nonce(nonce ? std::move(nonce) : NonceSource(random_nonce)) {}

namespace {

/// The one result of a machine `berth import` took over and berth has not hardened: nothing of
/// berth's is on it to check (no pinned host key, docker-machine's shared CA), so it fails.
MachineAudit not_hardened_audit(const MachineRecord& record) {
    MachineAudit audit;
    audit.machine = record.name;
    AuditResult r;
    r.id = "berth.imported";
    r.status = AuditStatus::Warn;
    r.title = "Hardened by berth (imported from " + record.imported.tool + ", not hardened yet)";
    r.detail = "not hardened (imported from " + record.imported.tool + ", " + record.imported.from +
               "): docker-machine's CA and Docker setup, no berth-authz, no pinned SSH host key";
    r.remediation = "run `berth provision " + record.name + "` (or import with `berth import --provision`)";
    audit.results.push_back(std::move(r));
    return audit;
}

}  // namespace

Result<MachineAudit> AuditService::audit(std::string_view name, const ProvisionOptions& options) const {
    MachineLogScope log_scope{std::string(name)};
    if (auto machine = m_machines.open(name); machine && machine->record.imported.not_hardened())
        return not_hardened_audit(machine->record);
    auto run = check_only_run(m_machines, name, options, "audit");
    if (!run) return std::unexpected(run.error());
    Machine* machine = &run->machine;
    Connection* connection = &run->connection;

    AuditInput input;
    input.check = std::move(run->check);
    input.recorded_digests = machine->record.provision.digests;
    if (auto ok = read_api(machine->record.name, *connection->docker, input.api); !ok) return std::unexpected(ok.error());
    auto host = read_host(machine->record.name, *connection->session, m_nonce(), bind_sources(input.api.containers));
    if (!host) return std::unexpected(host.error());
    input.host = std::move(*host);

    MachineAudit audit;
    audit.machine = machine->record.name;
    audit.results = evaluate_audit(input);
    audit.remote_commands = connection->session->channels_opened();
    return audit;
}

Result<MachineAudit> AuditService::fix(std::string_view name, const ProvisionOptions& options) const {
    auto report = m_machines.provision(name, options);
    if (!report) return std::unexpected(report.error());
    auto audit = this->audit(name, options);
    if (!audit) return std::unexpected(audit.error());
    audit->fix = std::move(*report);
    return audit;
}

}  // namespace berth
