// berth audit: the hardening of machines checked, read-only (CIS Docker Benchmark ids), as a
// table, JSON or a Go template per check; exit 1 when a scored check warns. --fix provisions
// first and reports the audit that follows.

#include "app.h"
#include "completion_hint.h"
#include "output.h"

#include <berth/service/audit_service.h>

#include <iostream>

namespace berth::cli {
namespace {

struct AuditFlags {
    OutputFlags output;
    bool fix = false;
    std::string templates_dir;
    int ssh_timeout = 120;
    std::vector<std::string> names;
};

nlohmann::json result_item(const std::string& machine, const AuditResult& r) {
    return {{"Machine", machine}, {"ID", r.id}, {"Status", std::string(to_string(r.status))}, {"Scored", r.scored},
            {"Title", r.title}, {"Detail", r.detail}, {"Remediation", r.remediation}};
}

nlohmann::json machine_item(const MachineAudit& audit) {
    nlohmann::json results = nlohmann::json::array();
    for (const auto& r : audit.results) results.push_back(result_item(audit.machine, r));
    nlohmann::json item = {{"Machine", audit.machine}, {"Passed", audit.passed()}, {"Results", results}};
    if (audit.fix)
        item["Fix"] = {{"Installed", audit.fix->installed}, {"Changed", audit.fix->changed},
                       {"Restarted", audit.fix->restarted}};
    return item;
}

/// ID, STATUS, CHECK and REMEDIATION (for what did not pass) in aligned columns, then a summary.
std::string audit_table(const MachineAudit& audit) {
    std::vector<std::array<std::string, 4>> rows = {{"ID", "STATUS", "CHECK", "REMEDIATION"}};
    int warned = 0, failed = 0;
    for (const auto& r : audit.results) {
        std::string status(to_string(r.status));
        if (r.status == AuditStatus::Warn) {
            ++warned;
            if (r.scored) ++failed;
            else status += " (not scored)";
        }
        rows.push_back({r.id, status, r.title + (r.status == AuditStatus::Pass ? "" : ": " + r.detail),
                        r.status == AuditStatus::Pass ? "" : r.remediation});
    }
    std::array<size_t, 3> width{};
    for (const auto& row : rows)
        for (size_t i = 0; i < 3; ++i) width[i] = std::max(width[i], row[i].size());
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (size_t i = 0; i < 3; ++i) line += row[i] + std::string(width[i] - row[i].size() + 3, ' ');
        line += row[3];
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
    }
    out += audit.machine + ": " + std::to_string(audit.results.size()) + " checks, " + std::to_string(warned) +
           " WARN (" + std::to_string(failed) + " scored): " + (audit.passed() ? "passed" : "FAILED") + "\n";
    return out;
}

/// What one machine's audit prints: the JSON item is collected, the rest is printed now.
Result<void> print_audit(const AuditFlags& flags, const Output& output, const MachineAudit& audit,
                         nlohmann::json& items) {
    // What --fix changed: above the table, on stderr when stdout is JSON or a template.
    if (audit.fix) (output.plain() ? std::cout : std::cerr) << describe_report(audit.machine, *audit.fix) << "\n";
    if (flags.output.json) {
        items.push_back(machine_item(audit));
        return {};
    }
    if (output.plain()) {
        std::cout << audit_table(audit);
        return {};
    }
    for (const auto& r : audit.results) {
        auto line = output.render(result_item(audit.machine, r));
        if (!line) return std::unexpected(line.error());
        std::cout << *line;
    }
    return {};
}

Result<int> run_audit(Context& ctx, const AuditFlags& flags) {
    auto output = Output::choose(flags.output);
    if (!output) return std::unexpected(output.error());
    ProvisionOptions options;
    if (!flags.templates_dir.empty()) options.templates_dir = flags.templates_dir;
    options.ssh_timeout = std::chrono::seconds(flags.ssh_timeout);
    Services services(ctx);
    AuditService auditor(services.machines());
    const auto names = flags.names.empty() ? std::vector<std::string>{k_default_machine} : flags.names;
    nlohmann::json items = nlohmann::json::array();
    bool passed = true;
    std::optional<Error> error;
    for (const auto& name : names) {
        auto audit = flags.fix ? auditor.fix(name, options) : auditor.audit(name, options);
        if (!audit) {
            if (names.size() == 1) return std::unexpected(audit.error());
            std::cerr << "berth: error: " << audit.error().line() << "\n";
            error = audit.error();
            continue;
        }
        passed = passed && audit->passed();
        if (auto ok = print_audit(flags, *output, *audit, items); !ok) return std::unexpected(ok.error());
    }
    if (flags.output.json) {
        if (auto ok = output->print_list(items); !ok) return std::unexpected(ok.error());
    }
    return error || !passed ? k_exit_error : k_exit_ok;
}

}  // namespace

void add_audit(CLI::App& app, Context& ctx) {
    auto flags = std::make_shared<AuditFlags>();
    auto* sub = app.add_subcommand("audit", "Check machines' hardening, read-only (CIS Docker Benchmark ids); "
                                            "exit 1 when a scored check warns");
    sub->add_option("names", flags->names, "Machines (default: \"default\")")->check(completes_machines());
    add_output_flags(sub, flags->output, "Print a JSON array of the machines' audits",
                     "Go-style template per check, e.g. '{{.ID}} {{.Status}}'. Fields: Machine, ID, Status (PASS, "
                     "WARN, INFO), Scored, Title, Detail, Remediation");
    sub->add_flag("--fix", flags->fix, "Provision each machine first (berth provision), then audit it again");
    sub->add_option("--templates-dir", flags->templates_dir, "Directory of templates that replace berth's own");
    sub->add_option("--ssh-timeout", flags->ssh_timeout, "Seconds to keep trying to reach the machine over SSH")
        ->capture_default_str();
    sub->callback([&ctx, flags] {
        ctx.action = [&ctx, flags]() -> Result<int> { return run_audit(ctx, *flags); };
    });
}

}  // namespace berth::cli
