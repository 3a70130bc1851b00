// berth ip: the address of one or more machines, one per line.

#include "app.h"
#include "completion_hint.h"

#include <iostream>

namespace berth::cli {

void add_ip(CLI::App& app, Context& ctx) {
    auto names = std::make_shared<std::vector<std::string>>();
    auto* sub = app.add_subcommand("ip", "Print the IP address (or host name) of machines");
    sub->add_option("names", *names, "Machines (default: \"default\")")->check(completes_machines());
    sub->callback([&ctx, names] {
        set_action(ctx, [&ctx, names]() -> Result<void> {
            Services services(ctx);
            std::vector<std::string> list = names->empty() ? std::vector<std::string>{k_default_machine} : *names;
            for (const auto& name : list) {
                auto machine = services.machines().open(name);
                if (!machine) return std::unexpected(machine.error());
                auto ip = machine->driver->ip();
                if (!ip) return std::unexpected(ip.error());
                std::cout << *ip << "\n";
            }
            return {};
        });
    });
}

}  // namespace berth::cli
