// berth scp: copy files to, from or between machines with OpenSSH's scp, each machine reached
// with its own key and pinned host key (MachineService::copy).

#include "app.h"

namespace berth::cli {

void add_scp(CLI::App& app, Context& ctx) {
    auto recursive = std::make_shared<bool>(false);
    auto paths = std::make_shared<std::vector<std::string>>();
    auto* sub = app.add_subcommand("scp", "Copy files to or from machines: berth scp [-r] [NAME:]SRC [NAME:]DST");
    sub->add_flag("-r,--recursive", *recursive, "Copy directories recursively");
    sub->add_option("paths", *paths, "Source(s) and destination; NAME:PATH is a path on machine NAME")
        ->required()
        ->expected(2, 1000);
    sub->callback([&ctx, recursive, paths] {
        set_action(ctx, [&ctx, recursive, paths]() -> Result<void> {
            Services services(ctx);
            return services.machines().copy(*paths, *recursive);
        });
    });
}

}  // namespace berth::cli
