// berth active: the running machine whose URL is $DOCKER_HOST.

#include "app.h"

#include <iostream>

namespace berth::cli {

void add_active(CLI::App& app, Context& ctx) {
    auto* sub = app.add_subcommand("active", "Print the machine that $DOCKER_HOST points at");
    sub->callback([&ctx] {
        set_action(ctx, [&ctx]() -> Result<void> {
            Services services(ctx);
            const std::string docker_host = services.machines().ports().env("DOCKER_HOST").value_or("");
            if (docker_host.empty())
                return fail("no active host found: $DOCKER_HOST is not set",
                            "run `eval \"$(berth env NAME)\"` first");
            auto listing = services.machines().list();
            if (!listing) return std::unexpected(listing.error());
            for (auto& entry : *listing) {
                if (!entry.machine || entry.state != MachineState::Running) continue;
                auto url = entry.machine->driver->docker_url();
                if (url && *url == docker_host) {
                    std::cout << entry.name << "\n";
                    return {};
                }
            }
            return fail("no active host found: no running machine has the URL " + docker_host);
        });
    });
}

}  // namespace berth::cli
