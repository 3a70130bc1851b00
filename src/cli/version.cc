// berth version: berth's own version, or the Docker version recorded for a machine.

#include "app.h"

#include <berth/core/version.h>

#include <iostream>

namespace berth::cli {

void add_version(CLI::App& app, Context& ctx) {
    auto name = std::make_shared<std::string>();
    auto* sub = app.add_subcommand("version", "Print berth's version, or the Docker version of a machine");
    sub->add_option("name", *name, "Machine");
    sub->callback([&ctx, name] {
        set_action(ctx, [&ctx, name]() -> Result<void> {
            if (name->empty()) {
                std::cout << "berth version " << version() << ", build " << git_revision() << "\n";
                return {};
            }
            Services services(ctx);
            auto machine = services.machines().open(*name);
            if (!machine) return std::unexpected(machine.error());
            if (machine->record.engine.version.empty())
                return fail("the Docker version of \"" + *name + "\" is not known",
                            "berth records it when it provisions a machine; machines of the none driver "
                            "are not provisioned");
            std::cout << machine->record.engine.version << "\n";
            return {};
        });
    });
}

}  // namespace berth::cli
