// berth ssh-config: OpenSSH client config blocks for machines, so plain `ssh NAME`, an
// ~/.ssh/config Include or VS Code Remote reach a machine with its key and its pinned host key.

#include "app.h"
#include "completion_hint.h"

#include <iostream>

namespace berth::cli {

void add_ssh_config(CLI::App& app, Context& ctx) {
    auto names = std::make_shared<std::vector<std::string>>();
    auto* sub = app.add_subcommand(
        "ssh-config", "Print an OpenSSH config block per machine (Host NAME, its key, its pinned host key)");
    sub->add_option("names", *names, "Machines")->required()->check(completes_machines());
    sub->footer("Example: berth ssh-config web1 >> ~/.ssh/config && ssh web1");
    sub->callback([&ctx, names] {
        set_action(ctx, [&ctx, names]() -> Result<void> {
            Services services(ctx);
            std::string out;
            for (const auto& name : *names) {  // every block first: nothing printed for a bad name
                auto block = services.machines().ssh_config(name);
                if (!block) return std::unexpected(block.error());
                out += (out.empty() ? "" : "\n") + *block;
            }
            std::cout << out << std::flush;
            return {};
        });
    });
}

}  // namespace berth::cli
