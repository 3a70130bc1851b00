// berth start | stop | restart | kill: lifecycle verbs, each one driver call under the machine's
// lock. Drivers that cannot do one (none) say so.

#include "app.h"

#include <spdlog/spdlog.h>

namespace berth::cli {
namespace {

struct Verb {
    const char* name;
    const char* help;
    const char* doing;
    Result<void> (Driver::*call)();
};

}  // namespace

void add_lifecycle(CLI::App& app, Context& ctx) {
    static const Verb verbs[] = {
        {"start", "Start machines", "Starting", &Driver::start},
        {"stop", "Stop machines gracefully (ACPI shutdown)", "Stopping", &Driver::stop},
        {"restart", "Restart machines", "Restarting", &Driver::restart},
        {"kill", "Stop machines forcibly (power off)", "Killing", &Driver::kill},
    };
    for (const auto& verb : verbs) {
        auto names = std::make_shared<std::vector<std::string>>();
        auto* sub = app.add_subcommand(verb.name, verb.help);
        sub->add_option("names", *names, "Machines (default: \"default\")");
        sub->callback([&ctx, names, &verb] {
            set_action(ctx, [&ctx, names, &verb]() -> Result<void> {
                Services services(ctx);
                std::vector<std::string> list =
                    names->empty() ? std::vector<std::string>{k_default_machine} : *names;
                for (const auto& name : list) {
                    auto lock = services.store().lock(name);
                    if (!lock) return std::unexpected(lock.error());
                    auto machine = services.machines().open(name);
                    if (!machine) return std::unexpected(machine.error());
                    spdlog::info("{} {}...", verb.doing, name);
                    if (auto ok = ((*machine->driver).*verb.call)(); !ok) return ok;
                }
                return {};
            });
        });
    }
}

}  // namespace berth::cli
