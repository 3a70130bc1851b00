// berth ssh: log into a machine, or run a command there, with OpenSSH's client and the machine's
// own key and pinned host key (StrictHostKeyChecking=yes: a changed key is refused).

#include "app.h"

#include <unistd.h>

#include <cerrno>

namespace berth::cli {

std::vector<std::string> ssh_base_options(const SshTarget& t) {
    return {"-o", "UserKnownHostsFile=" + t.known_hosts.string(),
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "IdentitiesOnly=yes",
            "-o", "PasswordAuthentication=no",
            "-o", "KbdInteractiveAuthentication=no",
            "-o", "LogLevel=ERROR",
            "-F", "/dev/null"};
}

void add_ssh(CLI::App& app, Context& ctx) {
    auto name = std::make_shared<std::string>();
    auto command = std::make_shared<std::vector<std::string>>();
    auto* sub = app.add_subcommand("ssh", "Log into a machine over SSH, or run a command there: berth ssh NAME [-- CMD...]");
    sub->add_option("name", *name, "Machine")->required();
    sub->add_option("command", *command, "Command to run instead of a login shell (after --)");
    sub->callback([&ctx, name, command] {
        set_action(ctx, [&ctx, name, command]() -> Result<void> {
            Services services(ctx);
            auto t = services.machines().ssh_target(*name);
            if (!t) return std::unexpected(t.error());
            std::vector<std::string> args = {"ssh"};
            auto base = ssh_base_options(*t);
            args.insert(args.end(), base.begin(), base.end());
            args.insert(args.end(), {"-i", t->key.string(), "-p", std::to_string(t->port), t->user + "@" + t->host});
            if (!command->empty()) {
                args.push_back("--");
                args.insert(args.end(), command->begin(), command->end());
            }
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
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
