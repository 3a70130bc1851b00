// berth context: write a docker CLI context for a machine ($DOCKER_CONFIG or ~/.docker), so tools
// that read contexts reach it (`docker --context NAME`, `docker context use NAME`). `rm` removes it.

#include "app.h"
#include "completion_hint.h"

#include <berth/service/user_certs.h>

#include <iostream>

namespace berth::cli {

void add_context(CLI::App& app, Context& ctx) {
    auto name = std::make_shared<std::string>();
    auto* sub = app.add_subcommand("context", "Write a docker CLI context named after the machine (berth rm removes it)");
    sub->add_option("name", *name, "Machine")->required()->check(completes_machines());
    sub->callback([&ctx, name] {
        set_action(ctx, [&ctx, name]() -> Result<void> {
            Services services(ctx);
            auto written = write_docker_context(services.machines(), *name);
            if (!written) return std::unexpected(written.error());
            std::cout << "Wrote the docker context " << *name << " (" << written->string() << "): docker --context "
                      << *name << " ps, or docker context use " << *name << "\n";
            return {};
        });
    });
}

}  // namespace berth::cli
