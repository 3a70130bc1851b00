// berth status: the live state of a machine, as its driver reports it.

#include "app.h"

#include <iostream>

namespace berth::cli {

void add_status(CLI::App& app, Context& ctx) {
    auto name = std::make_shared<std::string>();
    auto* sub = app.add_subcommand("status", "Print the state of a machine (Running, Stopped...)");
    sub->add_option("name", *name, "Machine (default: \"default\")");
    sub->callback([&ctx, name] {
        set_action(ctx, [&ctx, name]() -> Result<void> {
            Services services(ctx);
            auto machine = services.machines().open(name->empty() ? k_default_machine : *name);
            if (!machine) return std::unexpected(machine.error());
            auto state = machine->driver->state();
            if (!state) return std::unexpected(state.error());
            std::cout << to_string(*state) << "\n";
            return {};
        });
    });
}

}  // namespace berth::cli
