// berth upgrade: the newest Docker package the host's sources have, with the same hardening.

#include "app.h"

#include <iostream>

namespace berth::cli {

void add_upgrade(CLI::App& app, Context& ctx) {
    auto flags = std::make_shared<ProvisionFlags>();
    auto names = std::make_shared<std::vector<std::string>>();
    auto* sub = app.add_subcommand("upgrade", "Upgrade Docker on machines, keeping the hardening");
    add_provision_options(sub, flags);
    sub->add_option("names", *names, "Machines (default: \"default\")");
    sub->callback([&ctx, flags, names] {
        set_action(ctx, [&ctx, flags, names]() -> Result<void> {
            Services services(ctx);
            for (const auto& name : names->empty() ? std::vector<std::string>{k_default_machine} : *names) {
                auto report = services.machines().provision(name, to_options(*flags), true);
                if (!report) return std::unexpected(report.error());
                std::cout << describe_report(name, *report) << "\n";
            }
            return {};
        });
    });
}

}  // namespace berth::cli
