// berth env: print the commands that point the docker CLI at a machine, for one shell, in
// docker-machine's formats. Reads only the store and the driver's state: no network.

#include "app.h"
#include "completion_hint.h"

#include <berth/shell/env_script.h>

#include <iostream>

namespace berth::cli {

void add_env(CLI::App& app, Context& ctx) {
    struct Options {
        std::string shell;
        bool unset = false;
        bool no_proxy = false;
        std::string name;
    };
    auto opts = std::make_shared<Options>();
    auto* sub = app.add_subcommand("env", "Print the commands that point the docker CLI at a machine");
    sub->add_option("--shell", opts->shell,
                    "Shell to print for: bash, zsh, sh, fish, powershell, cmd, tcsh, emacs "
                    "(default: from $SHELL)")
        ->check(completes_words(shell_names()));
    sub->add_flag("-u,--unset", opts->unset, "Print the commands that unset the variables instead");
    sub->add_flag("--no-proxy", opts->no_proxy, "Add the machine's address to NO_PROXY");
    sub->add_option("name", opts->name, "Machine (default: \"default\"; not needed with -u)")
        ->check(completes_machines());

    sub->callback([&ctx, opts] {
        set_action(ctx, [&ctx, opts]() -> Result<void> {
            auto env = process_env();
            Result<Shell> shell = opts->shell.empty() ? detect_shell(env("SHELL").value_or(""))
                                                      : parse_shell(opts->shell);
            if (!shell) return std::unexpected(shell.error());

            EnvRequest req;
            req.shell = *shell;
            req.unset = opts->unset;
            req.command_line = ctx.argv;
            if (opts->unset) {
                if (opts->no_proxy) req.no_proxy_var = env("no_proxy").value_or("").empty() ? "NO_PROXY" : "no_proxy";
                auto script = write_env_script(req);
                if (!script) return std::unexpected(script.error());
                std::cout << *script;
                return {};
            }

            Services services(ctx);
            const std::string name = opts->name.empty() ? k_default_machine : opts->name;
            auto machine = services.machines().open(name);
            if (!machine) return std::unexpected(machine.error());
            if (auto ok = require_running(*machine); !ok) return ok;
            auto endpoint = services.machines().docker_endpoint(*machine);
            if (!endpoint) return std::unexpected(endpoint.error());
            req.docker_host = endpoint->url;
            req.cert_path = endpoint->cert_dir.string();
            req.machine_name = name;
            if (opts->no_proxy) {
                auto ip = machine->driver->ip();
                if (!ip) return std::unexpected(ip.error());
                NoProxy np = no_proxy_with(env("no_proxy").value_or(""), env("NO_PROXY").value_or(""), *ip);
                req.no_proxy_var = np.var;
                req.no_proxy_value = np.value;
            }
            auto script = write_env_script(req);
            if (!script) return std::unexpected(script.error());
            std::cout << *script;
            return {};
        });
    });
}

}  // namespace berth::cli
