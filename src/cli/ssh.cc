// berth ssh: log into a machine, or run a command there, with OpenSSH's client and the machine's
// own key and pinned host key (StrictHostKeyChecking=yes: a changed key is refused).

#include "app.h"
#include "completion_hint.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace berth::cli {

void add_ssh(CLI::App& app, Context& ctx) {
    auto name = std::make_shared<std::string>();
    auto command = std::make_shared<std::vector<std::string>>();
    auto* sub = app.add_subcommand("ssh", "Log into a machine over SSH, or run a command there: berth ssh NAME [-- CMD...]");
    sub->add_option("name", *name, "Machine")->required()->check(completes_machines());
    sub->add_option("command", *command, "Command to run instead of a login shell (after --)");
    sub->callback([&ctx, name, command] {
        set_action(ctx, [&ctx, name, command]() -> Result<void> {
            Services services(ctx);
            auto args = services.machines().ssh_argv(*name, *command);
            if (!args) return std::unexpected(args.error());
            std::vector<char*> argv;
            for (auto& a : *args) argv.push_back(a.data());
            argv.push_back(nullptr);
            std::fflush(nullptr);
            // The user's terminal and signals go straight to ssh; its exit status becomes ours.
            ::execvp("ssh", argv.data());
            return fail("cannot run the OpenSSH client `ssh`: " + errno_text(errno),
                        "install it (apt-get install openssh-client)");
        });
    });
}

}  // namespace berth::cli
