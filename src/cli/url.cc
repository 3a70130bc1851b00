// berth url: the Docker daemon URL of a machine.

#include "app.h"

#include <iostream>

namespace berth::cli {

void add_url(CLI::App& app, Context& ctx) {
    auto name = std::make_shared<std::string>();
    auto* sub = app.add_subcommand("url", "Print the Docker daemon URL of a machine");
    sub->add_option("name", *name, "Machine (default: \"default\")");
    sub->callback([&ctx, name] {
        set_action(ctx, [&ctx, name]() -> Result<void> {
            Services services(ctx);
            auto machine = services.machines().open(name->empty() ? k_default_machine : *name);
            if (!machine) return std::unexpected(machine.error());
            if (auto ok = require_running(*machine); !ok) return ok;
            auto url = machine->driver->docker_url();
            if (!url) return std::unexpected(url.error());
            std::cout << *url << "\n";
            return {};
        });
    });
}

}  // namespace berth::cli
