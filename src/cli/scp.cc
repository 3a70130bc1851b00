// berth scp: copy files to, from or between machines with OpenSSH's scp, each machine reached
// with its own key and pinned host key through a private ssh_config written for this copy.

#include "app.h"

#include <berth/store/atomic_file.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

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
            std::string config;
            std::vector<std::string> args = {"scp", "-q"};
            if (*recursive) args.push_back("-r");
            int remotes = 0;
            std::vector<std::string> rewritten;
            for (const auto& p : *paths) {
                auto colon = p.find(':');
                // "NAME:PATH" names a machine; "./a:b" or "/x:y" are local paths with a colon.
                if (colon == std::string::npos || colon == 0 || p.find('/') < colon) {
                    rewritten.push_back(p);
                    continue;
                }
                const std::string name = p.substr(0, colon);
                auto t = services.machines().ssh_target(name);
                if (!t) return std::unexpected(t.error());
                const std::string alias = "berth-" + name;
                if (config.find("Host " + alias + "\n") == std::string::npos)
                    config += "Host " + alias + "\n  HostName " + t->host + "\n  Port " + std::to_string(t->port) +
                              "\n  User " + t->user + "\n  IdentityFile " + t->key.string() +
                              "\n  UserKnownHostsFile " + t->known_hosts.string() +
                              "\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n"
                              "  IdentitiesOnly yes\n  PasswordAuthentication no\n  LogLevel ERROR\n";
                rewritten.push_back(alias + ":" + p.substr(colon + 1));
                ++remotes;
            }
            if (remotes == 0) return fail_usage("neither path names a machine", "write NAME:PATH for a path on a machine");
            if (remotes > 1) args.push_back("-3");  // between two machines: through this host
            const auto config_path = services.store().root() / ("scp-config." + std::to_string(::getpid()));
            if (auto ok = write_file_atomic(config_path, config, 0600); !ok) return ok;
            args.insert(args.end(), {"-F", config_path.string()});
            args.insert(args.end(), rewritten.begin(), rewritten.end());
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            std::fflush(nullptr);
            pid_t pid = ::fork();
            if (pid == 0) {
                ::execvp("scp", argv.data());
                std::fprintf(stderr, "berth: error: cannot run the OpenSSH client `scp`: %s; install openssh-client\n",
                             std::strerror(errno));
                ::_exit(127);
            }
            int status = 0;
            while (pid > 0 && ::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            std::error_code ec;
            std::filesystem::remove(config_path, ec);
            if (pid < 0) return fail("cannot start scp: " + errno_text(errno));
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return fail("scp failed (exit " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128) + ")",
                            "its message is above");
            return {};
        });
    });
}

}  // namespace berth::cli
