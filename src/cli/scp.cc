// berth scp: copy files to, from or between machines with OpenSSH's scp, each machine reached
// with its own key and pinned host key (MachineService::copy); -d (docker-machine's --delta) with
// rsync over the same ssh, sending only what differs.

#include "app.h"

namespace berth::cli {

void add_scp(CLI::App& app, Context& ctx) {
    auto options = std::make_shared<MachineService::CopyOptions>();
    auto paths = std::make_shared<std::vector<std::string>>();
    auto* sub = app.add_subcommand("scp", "Copy files to or from machines: berth scp [-r] [-d] [NAME:]SRC [NAME:]DST");
    sub->add_flag("-r,--recursive", options->recursive, "Copy directories recursively");
    sub->add_flag("-d,--delta", options->delta,
                  "Send only the differences, with rsync over the same ssh (rsync needed here and on the machine; "
                  "between this host and one machine; keeps modification times)");
    sub->add_option("paths", *paths, "Source(s) and destination; NAME:PATH is a path on machine NAME")
        ->required()
        ->expected(2, 1000);
    sub->callback([&ctx, options, paths] {
        set_action(ctx, [&ctx, options, paths]() -> Result<void> {
            Services services(ctx);
            return services.machines().copy(*paths, *options);
        });
    });
}

}  // namespace berth::cli
