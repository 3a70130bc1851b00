#include <berth/provision/plan.h>

#include <berth/core/digest.h>
#include <berth/provision/config_steps.h>
#include <berth/provision/desired_files.h>
#include <berth/provision/elf_arch.h>
#include <berth/provision/host_paths.h>
#include <berth/provision/host_steps.h>
#include <berth/provision/package_config_step.h>

#include <algorithm>

namespace berth {

Result<Plan> make_plan(const TemplateSet& templates, const Facts& facts, const ProvisionRequest& request,
                       OsFamily family) {
    Plan plan;
    if (auto ok = check_program_arch(request.authz_binary, facts.arch, request.machine); !ok)
        return std::unexpected(ok.error());
    auto files = render_desired_files(templates, facts, request, family, plan.warnings);
    if (!files) return std::unexpected(files.error());
    for (const auto& f : *files) plan.digests[f.path] = sha256_hex(f.content);
    // Every managed path is rendered, so each lookup finds its file.
    auto file = [&](const std::string& path) {
        return *std::find_if(files->begin(), files->end(),
                             [&](const ManagedFile& m) { return m.path == path; });
    };
    const bool debian = family == OsFamily::Debian;
    plan.steps.push_back(std::make_unique<HostnameStep>(request.hostname));
    plan.steps.push_back(std::make_unique<SubidsStep>());
    plan.steps.push_back(std::make_unique<AllowListDirStep>());
    plan.steps.push_back(std::make_unique<DockerFilesStep>(
        "TLS files", std::vector{file(k_ca_path), file(k_server_cert_path), file(k_server_key_path)}));
    // daemon.json of the other swarm state differs in live-restore alone: from it, a reload.
    auto across_swarm = daemon_json_across_swarm(templates, facts, request, family);
    if (!across_swarm) return std::unexpected(across_swarm.error());
    plan.steps.push_back(std::make_unique<DockerFilesStep>("daemon.json", std::vector{file(k_daemon_json)}, "",
                                                           std::set<std::string>{sha256_hex(*across_swarm)}));
    plan.steps.push_back(
        std::make_unique<DockerFilesStep>("docker drop-in", std::vector{file(k_engine_env), file(k_dropin)}, k_dropin));
    plan.steps.push_back(std::make_unique<AuditRulesStep>(file(k_containerd_tmpfiles), file(k_audit_rules)));
    plan.steps.push_back(std::make_unique<SshdStep>(file(k_sshd_dropin), debian));
    plan.steps.push_back(std::make_unique<FirewallStep>(file(k_firewall), file(k_firewall_unit)));
    plan.steps.push_back(std::make_unique<AuthzStep>(file(k_authz_binary), file(k_authz_policy),
                                                     file(k_authz_revoked), file(k_authz_socket_unit), file(k_authz_service_unit)));
    plan.steps.push_back(std::make_unique<DockerServiceStep>(debian));
    if (debian) plan.steps.push_back(std::make_unique<PackageConfigStep>(std::vector{file(k_apt_proxy)}));
    return plan;
}

}  // namespace berth
