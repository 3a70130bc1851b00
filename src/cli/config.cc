// berth config: the docker CLI flags for a machine, exactly as docker-machine prints them, e.g.
// docker $(berth config n1) ps

#include "app.h"

#include <iostream>

namespace berth::cli {

void add_config(CLI::App& app, Context& ctx) {
    auto name = std::make_shared<std::string>();
    auto* sub = app.add_subcommand("config", "Print the docker CLI flags that reach a machine");
    sub->add_option("name", *name, "Machine (default: \"default\")");
    sub->callback([&ctx, name] {
        set_action(ctx, [&ctx, name]() -> Result<void> {
            Services services(ctx);
            const std::string n = name->empty() ? k_default_machine : *name;
            auto machine = services.machines().open(n);
            if (!machine) return std::unexpected(machine.error());
            if (auto ok = require_running(*machine); !ok) return ok;
            auto url = machine->driver->docker_url();
            if (!url) return std::unexpected(url.error());
            const Store& store = services.store();
            std::cout << "--tlsverify\n"
                      << "--tlscacert=\"" << store.machine_file(n, k_ca_cert_file).string() << "\"\n"
                      << "--tlscert=\"" << store.machine_file(n, k_client_cert_file).string() << "\"\n"
                      << "--tlskey=\"" << store.machine_file(n, k_client_key_file).string() << "\"\n"
                      << "-H=" << *url << "\n";
            return {};
        });
    });
}

}  // namespace berth::cli
