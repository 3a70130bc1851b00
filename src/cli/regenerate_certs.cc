// berth regenerate-certs: a new server certificate (and with --client-certs a new CA and client
// certificate), installed on the host; only dockerd restarts, and live-restore keeps containers.

#include "app.h"
#include "completion_hint.h"

#include <cstdio>
#include <iostream>

namespace berth::cli {

void add_regenerate_certs(CLI::App& app, Context& ctx) {
    auto flags = std::make_shared<ProvisionFlags>();
    auto names = std::make_shared<std::vector<std::string>>();
    auto force = std::make_shared<bool>(false);
    auto client = std::make_shared<bool>(false);
    auto* sub = app.add_subcommand("regenerate-certs", "Replace a machine's TLS certificates and restart its dockerd");
    sub->add_flag("-f,--force", *force, "Do not ask for confirmation");
    sub->add_flag("--client-certs", *client,
                  "Also make a new CA and client certificate (the old client certificate stops working)");
    add_provision_options(sub, flags);
    sub->add_option("names", *names, "Machines (default: \"default\")")->check(completes_machines());
    sub->callback([&ctx, flags, names, force, client] {
        set_action(ctx, [&ctx, flags, names, force, client]() -> Result<void> {
            if (!*force) {
                std::fprintf(stderr, "Regenerate TLS machine certs? Warning: this is irreversible. (y/n): ");
                std::fflush(stderr);
                std::string answer;
                if (!std::getline(std::cin, answer))
                    return fail("no answer on standard input; nothing was changed", "pass -f to regenerate without asking");
                if (answer != "y" && answer != "Y" && answer != "yes") return fail("not regenerated: the answer was not \"y\"");
            }
            Services services(ctx);
            for (const auto& name : names->empty() ? std::vector<std::string>{k_default_machine} : *names) {
                auto report = services.machines().regenerate_certs(name, *client, to_options(*flags));
                if (!report) return std::unexpected(report.error());
                std::cout << describe_report(name, *report) << "\n";
            }
            return {};
        });
    });
}

}  // namespace berth::cli
