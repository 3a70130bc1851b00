// berth certs: per-user client certificates from a machine's own CA (issue, ls, revoke). Each
// change updates the host's berth-authz policy over SSH (only the policy: berth-authz reloads).

#include "app.h"
#include "completion_hint.h"
#include "output.h"

#include <berth/service/user_certs.h>

#include <nlohmann/json.hpp>

#include <iostream>

namespace berth::cli {
namespace {

struct CertsOptions {
    std::string machine;
    std::string user;
    std::string role = "restricted";
    int days = 0;
    std::shared_ptr<ProvisionFlags> provision = std::make_shared<ProvisionFlags>();
};

void add_issue(CLI::App* certs, Context& ctx) {
    auto opts = std::make_shared<CertsOptions>();
    auto* sub = certs->add_subcommand("issue", "Issue a client certificate with CN=USER from the machine's CA, and "
                                               "give USER its role in the host's berth-authz policy");
    sub->add_option("name", opts->machine, "Machine")->required()->check(completes_machines());
    sub->add_option("--user", opts->user, "The user: the certificate's CN (letters, digits, . _ @ -)")->required();
    sub->add_option("--role", opts->role, "The user's role in the default policy: restricted (refuses what gives "
                                          "away the host) or admin (as good as root on the host)")
        ->capture_default_str();
    sub->add_option("--days", opts->days, "Validity in days, 1 to 825 (default: the machine's --tls-cert-days)")
        ->check(CLI::Range(1, 825));
    add_provision_options(sub, opts->provision);
    sub->callback([&ctx, opts] {
        set_action(ctx, [&ctx, opts]() -> Result<void> {
            Services services(ctx);
            UserCertService service(services.machines());
            IssueOptions issue;
            issue.role = opts->role;
            issue.days = opts->days;
            issue.provision_options = to_options(*opts->provision);
            auto cert = service.issue(opts->machine, opts->user, issue);
            if (!cert) return std::unexpected(cert.error());
            std::cout << "Issued a certificate for " << cert->cn << " on " << opts->machine << ": serial "
                      << cert->serial << ", role " << cert->role << ", valid until " << cert->not_after << "\n"
                      << "Hand it over with: berth bundle " << opts->machine << " --user " << cert->cn << " -o "
                      << cert->cn << ".tar.gz\n";
            return {};
        });
    });
}

void print_table(const std::vector<UserCert>& users) {
    std::size_t width = 4;
    for (const auto& u : users) width = std::max(width, u.cn.size());
    auto pad = [](const std::string& s, std::size_t n) { return s + std::string(n > s.size() ? n - s.size() : 0, ' '); };
    std::cout << pad("USER", width) << "   " << pad("ROLE", 10) << "   " << pad("SERIAL", 32) << "   "
              << pad("EXPIRES", 20) << "   REVOKED\n";
    for (const auto& u : users)
        std::cout << pad(u.cn, width) << "   " << pad(u.role, 10) << "   " << pad(u.serial, 32) << "   "
                  << pad(u.not_after, 20) << "   " << (u.revoked ? "yes" : "no") << "\n";
}

void add_ls(CLI::App* certs, Context& ctx) {
    struct Options {
        std::string machine;
        OutputFlags output;
    };
    auto opts = std::make_shared<Options>();
    auto* sub = certs->add_subcommand("ls", "List the machine's user certificates (revoked ones too)");
    sub->add_option("name", opts->machine, "Machine")->required()->check(completes_machines());
    add_quiet_flag(sub, opts->output, "Print only the users");
    add_output_flags(sub, opts->output, "Print a JSON list",
                     "Go-style template per certificate, e.g. '{{.User}} {{.NotAfter}}'; prefix 'table ' for "
                     "aligned columns with headers. Fields: User, Role, Serial, NotAfter, IssuedAt, Revoked");
    sub->callback([&ctx, opts] {
        set_action(ctx, [&ctx, opts]() -> Result<void> {
            OutputOptions options;
            options.name_key = "User";
            options.fields = {"User", "Role", "Serial", "NotAfter", "IssuedAt", "Revoked"};
            auto output = Output::choose(opts->output, options);
            if (!output) return std::unexpected(output.error());
            Services services(ctx);
            auto users = UserCertService(services.machines()).list(opts->machine);
            if (!users) return std::unexpected(users.error());
            if (output->plain()) {
                print_table(*users);
                return {};
            }
            nlohmann::json list = nlohmann::json::array();
            for (const auto& u : *users)
                list.push_back({{"User", u.cn}, {"Role", u.role}, {"Serial", u.serial}, {"NotAfter", u.not_after},
                                {"IssuedAt", u.issued_at}, {"Revoked", u.revoked}});
            return output->print_list(list);
        });
    });
}

void add_revoke(CLI::App* certs, Context& ctx) {
    auto opts = std::make_shared<CertsOptions>();
    auto* sub = certs->add_subcommand("revoke", "Revoke every certificate of USER on the machine: its berth-authz "
                                                "refuses them from now on");
    sub->add_option("name", opts->machine, "Machine")->required()->check(completes_machines());
    sub->add_option("user", opts->user, "The user (the certificate's CN)")->required();
    add_provision_options(sub, opts->provision);
    sub->callback([&ctx, opts] {
        set_action(ctx, [&ctx, opts]() -> Result<void> {
            Services services(ctx);
            auto ok = UserCertService(services.machines()).revoke(opts->machine, opts->user, to_options(*opts->provision));
            if (!ok) return ok;
            std::cout << "Revoked the certificates of " << opts->user << " on " << opts->machine << "\n";
            return {};
        });
    });
}

}  // namespace

void add_certs(CLI::App& app, Context& ctx) {
    auto* certs = app.add_subcommand("certs", "Per-user client certificates of a machine (issue, ls, revoke)");
    certs->require_subcommand(1);
    add_issue(certs, ctx);
    add_ls(certs, ctx);
    add_revoke(certs, ctx);
}

}  // namespace berth::cli
