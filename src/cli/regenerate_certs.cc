// berth regenerate-certs: a new server certificate from the machine's CA, installed on the host
// (only dockerd restarts, and live-restore keeps containers); --client-certs: a new client
// certificate only (nothing on the host); --new-ca: everything; --if-expiring DURATION: only what
// ends within DURATION, quiet when nothing does (for cron).

#include "app.h"
#include "completion_hint.h"

#include <berth/core/duration.h>
#include <berth/service/cert_expiry.h>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

namespace berth::cli {
namespace {

struct Options {
    bool force = false;
    bool client = false;
    bool new_ca = false;
    bool all = false;
    std::string if_expiring;
    std::vector<std::string> names;
};

/// One machine's work: what to make anew, and why (--if-expiring).
struct Planned {
    std::string name;
    CertRenewal renew;
    std::string why;
};

/// What the flags ask for, checked before anything is read: Usage errors.
Result<std::optional<std::chrono::seconds>> check_flags(const Options& o) {
    if (o.all && !o.names.empty()) return fail_usage("--all and machine names cannot be used together");
    if (o.if_expiring.empty()) return std::optional<std::chrono::seconds>();
    if (o.client || o.new_ca)
        return fail_usage("--if-expiring decides what to make anew: it cannot be used with --client-certs or --new-ca");
    auto window = parse_duration(o.if_expiring);
    if (!window) {
        Error e = window.error();
        e.message = "--if-expiring: " + e.message;
        return std::unexpected(e);
    }
    return std::optional<std::chrono::seconds>(*window);
}

/// What --if-expiring renews on one machine ("" renew: nothing). Per-user certificates that end
/// within the window are told on stderr: their owners need a new key, so berth does not renew them.
Result<Planned> plan_expiring(Services& services, const std::string& name, std::chrono::seconds window) {
    auto machine = services.machines().open(name);
    if (!machine) return std::unexpected(machine.error());
    Planned planned{name, {}, ""};
    if (machine->record.status == MachineStatus::Creating) return planned;  // no certificates yet
    const auto now = std::chrono::system_clock::now();
    const auto certs = read_cert_dates(services.store(), machine->record);
    auto renew = renewal_for(name, certs, now, window);
    if (!renew) return std::unexpected(renew.error());
    planned.renew = *renew;
    if (machine->record.tls.install_pending) {  // an earlier install failed: the host still has the old files
        planned.renew.install = true;
        planned.why = "the certificates in the store are not installed on the host yet";
    }
    for (const auto& cert : certs) {
        const std::string warning = expiry_warning(cert, now, window);
        if (warning.empty()) continue;
        if (cert.kind != CertDates::Kind::User) {
            planned.why += (planned.why.empty() ? "" : "; ") + warning;
            continue;
        }
        spdlog::warn("{}: {}: issue a new one with `berth certs issue {} --user {}` and hand it over (berth bundle)",
                     name, warning, name, cert.user);
    }
    return planned;
}

/// docker-machine's question, after the list of what --if-expiring would do.
Result<void> confirm(const std::vector<Planned>& plan, bool if_expiring) {
    if (if_expiring)
        for (const auto& p : plan) std::fprintf(stderr, "%s: %s (%s)\n", p.name.c_str(), p.renew.describe().c_str(), p.why.c_str());
    std::fprintf(stderr, "Regenerate TLS machine certs? Warning: this is irreversible. (y/n): ");
    std::fflush(stderr);
    std::string answer;
    if (!std::getline(std::cin, answer))
        return fail("no answer on standard input; nothing was changed", "pass -f to regenerate without asking");
    if (answer != "y" && answer != "Y" && answer != "yes") return fail("not regenerated: the answer was not \"y\"");
    return {};
}

/// The line printed for one machine, and the warnings of a new CA.
std::string describe_done(Services& services, const Planned& p, const std::optional<ProvisionReport>& report) {
    std::string line = p.name + ": " + p.renew.describe();
    if (report) return line + "; " + describe_report(p.name, *report).substr(p.name.size() + 2);
    if (p.renew.needs_host())
        return line + " in " + services.store().machine_dir(p.name).string() +
               "; berth does not reach this host: install ca.pem, server.pem and server-key.pem there yourself";
    auto machine = services.machines().open(p.name);
    return line + (machine ? ", valid until " + machine->record.tls.client_not_after : std::string()) +
           "; the CA and the host are unchanged";
}

Result<void> regenerate(Services& services, const Planned& p, const ProvisionOptions& options) {
    std::size_t old_users = 0;
    if (p.renew.ca)
        if (auto machine = services.machines().open(p.name))
            for (const auto& u : machine->record.users) old_users += u.revoked ? 0 : 1;
    auto report = services.machines().regenerate_certs(p.name, p.renew, options);
    if (!report) return std::unexpected(report.error());
    std::cout << describe_done(services, p, *report) << "\n";
    if (old_users > 0)
        spdlog::warn("{}: {} per-user certificate(s) were issued from the old CA and no longer open it: issue them "
                     "again with `berth certs issue {} --user USER`", p.name, old_users, p.name);
    return {};
}

Result<std::vector<std::string>> machine_names(Services& services, const Options& o) {
    if (o.all) return services.store().list_names();
    return o.names.empty() ? std::vector<std::string>{k_default_machine} : o.names;
}

Result<void> run(Context& ctx, const Options& o, const ProvisionOptions& options) {
    auto window = check_flags(o);
    if (!window) return std::unexpected(window.error());
    Services services(ctx);
    auto names = machine_names(services, o);
    if (!names) return std::unexpected(names.error());
    std::vector<Planned> plan;
    std::optional<Error> first_error;
    auto failed = [&](const Error& e) {
        // One machine: main prints the error, once. Several: each is told as it happens.
        if (names->size() > 1) spdlog::error("{}", e.line());
        if (!first_error) first_error = e;
    };
    const CertRenewal asked = o.new_ca ? CertRenewal::everything() : o.client ? CertRenewal{false, false, true}
                                                                              : CertRenewal::server_only();
    for (const auto& name : *names) {
        if (!*window) {
            plan.push_back({name, asked, ""});
            continue;
        }
        auto planned = plan_expiring(services, name, **window);
        if (!planned) failed(planned.error());
        else if (planned->renew.any()) plan.push_back(*planned);
    }
    if (!plan.empty() && !o.force)
        if (auto ok = confirm(plan, window->has_value()); !ok) return ok;
    for (const auto& p : plan)
        if (auto ok = regenerate(services, p, options); !ok) failed(ok.error());
    if (!first_error) return {};
    if (names->size() == 1) return std::unexpected(*first_error);
    return fail("the certificates of some machines were not regenerated (see above)");
}

}  // namespace

void add_regenerate_certs(CLI::App& app, Context& ctx) {
    auto flags = std::make_shared<ProvisionFlags>();
    auto opts = std::make_shared<Options>();
    auto* sub = app.add_subcommand("regenerate-certs",
                                   "Replace a machine's TLS certificates (the server's: installed, dockerd restarts)");
    sub->add_flag("-f,--force", opts->force, "Do not ask for confirmation");
    sub->add_flag("--client-certs", opts->client,
                  "Only a new client certificate (certs/cert.pem, key.pem) from the same CA; the server and the "
                  "host are untouched, and the old client certificate stays valid until it expires");
    sub->add_flag("--new-ca", opts->new_ca,
                  "A new CA, server and client certificate: every certificate issued from the old CA stops "
                  "working, per-user ones too");
    sub->add_option("--if-expiring", opts->if_expiring,
                    "Only what ends within DURATION (30d, 12h; a plain number is days): an expiring CA means a new "
                    "CA, server and client certificate; prints nothing when nothing is due (for cron, with -f)")
        ->type_name("DURATION");
    sub->add_flag("--all", opts->all, "Every machine in the store");
    add_provision_options(sub, flags);
    sub->add_option("names", opts->names, "Machines (default: \"default\")")->check(completes_machines());
    sub->callback([&ctx, flags, opts] {
        set_action(ctx, [&ctx, flags, opts]() -> Result<void> { return run(ctx, *opts, to_options(*flags)); });
    });
}

}  // namespace berth::cli
