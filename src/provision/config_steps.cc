#include <berth/provision/config_steps.h>

#include <berth/core/escape.h>
#include <berth/provision/host_paths.h>

#include <algorithm>
#include <string_view>

namespace berth {

namespace {

/// Whether `path` is among the files a step just wrote (its activate()'s `written`).
bool wrote(const std::vector<std::string>& written, std::string_view path) {
    return std::find(written.begin(), written.end(), path) != written.end();
}

}  // namespace

DockerFilesStep::DockerFilesStep(std::string name, std::vector<ManagedFile> files, std::string unit_file,
                                 std::set<std::string> reload_from)
    : FileStep(std::move(name), std::move(files)), m_unit_file(std::move(unit_file)), m_reload_from(std::move(reload_from)) {}

void DockerFilesStep::activate(const Facts& facts, const std::vector<std::string>& written,
                               Changes& changes) const {
    if (written.empty()) return;
    // Only reloadable settings changed, and dockerd runs: a reload keeps it (and the swarm).
    const auto reloadable = [&](const std::string& path) {
        auto it = facts.files.find(path);
        return it != facts.files.end() && m_reload_from.contains(it->second.digest);
    };
    if (facts.unit_active("docker") && std::all_of(written.begin(), written.end(), reloadable)) {
        changes.activate(Stage::Services, "systemctl reload docker\n", "docker (reload)");
        return;
    }
    changes.restart_docker = true;
    if (!m_unit_file.empty() && wrote(written, m_unit_file)) changes.reload_units = true;
}

AuditRulesStep::AuditRulesStep(ManagedFile tmpfiles, ManagedFile rules)
    : FileStep("audit rules", {std::move(tmpfiles), rules}), m_watches(count_watches(rules.content)) {}

int AuditRulesStep::count_watches(const std::string& rules) {
    int n = 0;
    for (size_t at = 0; at < rules.size(); at = rules.find('\n', at) + 1) {
        if (rules.compare(at, 3, "-w ") == 0) ++n;
        if (rules.find('\n', at) == std::string::npos) break;
    }
    return n;
}

bool AuditRulesStep::rules_unloaded(const Facts& facts) const {
    return facts.audit_rules_loaded && *facts.audit_rules_loaded < m_watches;
}

Drift AuditRulesStep::unit_drift(const Facts& facts) const {
    Drift drift;
    if (!facts.unit_active("auditd")) drift.push_back("unit auditd is not active");
    if (rules_unloaded(facts))
        drift.push_back("the kernel holds " + std::to_string(*facts.audit_rules_loaded) + " of berth's " +
                        std::to_string(m_watches) + " audit rules (auditctl -l)");
    return drift;
}

void AuditRulesStep::activate(const Facts& facts, const std::vector<std::string>& written,
                              Changes& changes) const {
    if (!facts.unit_enabled("auditd")) changes.enable("auditd");
    // The directory the rules watch into exists before they load, now as at every boot.
    if (wrote(written, k_containerd_tmpfiles))
        changes.activate(Stage::Audit, "systemd-tmpfiles --create " + shell_quote(k_containerd_tmpfiles) + "\n", "");
    const bool rules_written = wrote(written, k_audit_rules);
    // auditd loads the rules as it starts (ExecStartPost=augenrules --load, on Debian and the
    // RHEL family): a running auditd gets them loaded, a stopped one is started, once each.
    if (!facts.unit_active("auditd")) changes.activate(Stage::Audit, "systemctl start auditd\n", "auditd (start)");
    else if (rules_written || rules_unloaded(facts))
        changes.activate(Stage::Audit, "augenrules --load >/dev/null\n", "audit rules");
}

SshdStep::SshdStep(ManagedFile dropin, bool debian)
    : FileStep("sshd", {std::move(dropin)}), m_debian(debian) {}

void SshdStep::activate(const Facts&, const std::vector<std::string>& written, Changes& changes) const {
    if (written.empty()) return;
    // A drop-in sshd refuses is taken back at once: berth must never lock itself out.
    changes.activate(Stage::Sshd,
                     "if ! sshd -t; then rm -f " + shell_quote(k_sshd_dropin) +
                         "; echo 'sshd rejected the hardening drop-in; it was removed' >&2; exit 1; fi\n"
                         "systemctl try-reload-or-restart " +
                         std::string(m_debian ? "ssh" : "sshd") + "\n",
                     m_debian ? "ssh (reload)" : "sshd (reload)");
}

FirewallStep::FirewallStep(ManagedFile table, ManagedFile unit)
    : FileStep("firewall", {std::move(table), std::move(unit)}) {}

Drift FirewallStep::unit_drift(const Facts& facts) const {
    Drift drift;
    if (!facts.unit_enabled("berth-firewall")) drift.push_back("unit berth-firewall is not enabled");
    if (!facts.unit_active("berth-firewall")) drift.push_back("unit berth-firewall is not active");
    return drift;
}

void FirewallStep::activate(const Facts& facts, const std::vector<std::string>& written,
                            Changes& changes) const {
    if (wrote(written, k_firewall_unit)) changes.reload_units = true;
    if (!facts.unit_enabled("berth-firewall")) changes.enable("berth-firewall");
    if (!written.empty() || !facts.unit_active("berth-firewall")) {
        // The unit loads the table (so it reads active, and loads it again at boot); nft checks
        // the file first, so a bad table never replaces a good one.
        changes.activate(Stage::Firewall,
                         "nft -c -f " + shell_quote(k_firewall) + "\nsystemctl restart berth-firewall\n",
                         "berth-firewall");
    }
}

AuthzStep::AuthzStep(ManagedFile binary, ManagedFile policy, ManagedFile revoked, ManagedFile socket_unit,
                     ManagedFile service_unit)
    : FileStep("berth-authz", {std::move(binary), std::move(policy), std::move(revoked), std::move(socket_unit),
                               std::move(service_unit)}) {}

Drift AuthzStep::unit_drift(const Facts& facts) const {
    Drift drift;
    if (!facts.unit_enabled("berth-authz.socket")) drift.push_back("unit berth-authz.socket is not enabled");
    if (!facts.unit_active("berth-authz.socket")) drift.push_back("unit berth-authz.socket is not active");
    return drift;
}

void AuthzStep::activate(const Facts& facts, const std::vector<std::string>& written, Changes& changes) const {
    const bool socket_unit = wrote(written, k_authz_socket_unit);
    if (socket_unit || wrote(written, k_authz_service_unit)) changes.reload_units = true;
    // A socket that is not listening yet starts here, before docker restarts with the plugin
    // (Stage::Authz runs before it): the service then starts on dockerd's first request, with
    // whatever program and policy were just written.
    const bool active = facts.unit_active("berth-authz.socket");
    if (active && socket_unit)
        changes.activate(Stage::Authz, "systemctl stop berth-authz.service\nsystemctl restart berth-authz.socket\n",
                         "berth-authz.socket");
    else if (active && (wrote(written, k_authz_binary) || wrote(written, k_authz_service_unit)))
        changes.activate(Stage::Authz, "systemctl try-restart berth-authz.service\n", "berth-authz");
    else if (active && (wrote(written, k_authz_policy) || wrote(written, k_authz_revoked)))
        changes.activate(Stage::Authz, "systemctl try-reload-or-restart berth-authz.service\n", "berth-authz (reload)");
    if (!facts.unit_enabled("berth-authz.socket")) changes.enable("berth-authz.socket");
    if (!active) changes.activate(Stage::Authz, "systemctl start berth-authz.socket\n", "berth-authz.socket");
}

}  // namespace berth
