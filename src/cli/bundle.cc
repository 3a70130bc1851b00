// berth bundle: what one person needs to use a machine, in one .tar.gz: the CA certificate, their
// client certificate and key, env scripts for each shell, a docker context import file, a README.
// Never a CA key.

#include "app.h"
#include "completion_hint.h"

#include <berth/service/user_certs.h>

#include <iostream>

namespace berth::cli {

void add_bundle(CLI::App& app, Context& ctx) {
    struct Options {
        std::string machine;
        std::string user;
        std::string out;
    };
    auto opts = std::make_shared<Options>();
    auto* sub = app.add_subcommand("bundle", "Write what one person needs to use a machine into a .tar.gz (0600)");
    sub->add_option("name", opts->machine, "Machine")->required()->check(completes_machines());
    sub->add_option("--user", opts->user, "Whose certificate (from `berth certs issue`); default: the machine's own");
    sub->add_option("-o,--output", opts->out, "The file to write (replaced if it exists)")->required();
    sub->callback([&ctx, opts] {
        set_action(ctx, [&ctx, opts]() -> Result<void> {
            Services services(ctx);
            if (auto ok = write_bundle(services.machines(), opts->machine, opts->user, opts->out); !ok) return ok;
            std::cout << "Wrote " << opts->out << " for " << (opts->user.empty() ? "the owner" : opts->user) << " of "
                      << opts->machine << ": unpack it, then source the env script for your shell (README.txt)\n";
            return {};
        });
    });
}

}  // namespace berth::cli
