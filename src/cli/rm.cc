// berth rm: remove machines: what the driver made, then the local record, keys and certificates.
// Asks first unless -y; -f removes the local files even when the driver cannot clean up.

#include "app.h"
#include "completion_hint.h"

#include <berth/service/user_certs.h>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

namespace berth::cli {

void add_rm(CLI::App& app, Context& ctx) {
    struct Options {
        bool yes = false;
        bool force = false;
        std::vector<std::string> names;
    };
    auto opts = std::make_shared<Options>();
    auto* sub = app.add_subcommand("rm", "Remove machines");
    sub->add_flag("-y", opts->yes, "Do not ask for confirmation");
    sub->add_flag("-f,--force", opts->force,
                  "Remove the local record even if the driver cannot remove the machine");
    sub->add_option("names", opts->names, "Machines to remove")->required()->check(completes_machines());
    sub->callback([&ctx, opts] {
        set_action(ctx, [&ctx, opts]() -> Result<void> {
            Services services(ctx);
            if (!opts->yes) {
                std::string list;
                for (const auto& n : opts->names) list += (list.empty() ? "" : ", ") + n;
                std::fprintf(stderr,
                             "About to remove %s\nWARNING: This removes the machine and what its driver "
                             "made (VM, disks); berth's keys and certificates for it are deleted.\n"
                             "Are you sure? (y/n): ",
                             list.c_str());
                std::fflush(stderr);
                std::string answer;
                if (!std::getline(std::cin, answer))
                    return fail("no answer on standard input; nothing was removed", "pass -y to remove without asking");
                if (answer != "y" && answer != "Y" && answer != "yes")
                    return fail("not removed: the answer was not \"y\"");
            }
            std::optional<Error> first_error;
            for (const auto& name : opts->names) {
                auto ok = services.machines().remove(name, opts->force);
                if (!ok) {
                    // One name: main prints the error, once. Several: each is told as it happens.
                    if (opts->names.size() == 1) return std::unexpected(ok.error());
                    spdlog::error("{}", ok.error().line());
                    if (!first_error) first_error = ok.error();
                    continue;
                }
                std::cout << "Successfully removed " << name << "\n";
                // The docker context berth wrote for it (`--context`, `berth context`) goes too.
                if (auto context = remove_docker_context(name); !context)
                    spdlog::warn("{}: the docker context was not removed: {}", name, context.error().line());
                else if (*context)
                    spdlog::info("Removed the docker context {}", name);
                if (!ok->empty()) spdlog::info("{}: {}", name, *ok);
            }
            if (first_error) return fail("some machines were not removed (see above)");
            return {};
        });
    });
}

}  // namespace berth::cli
