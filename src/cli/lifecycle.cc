// berth start | stop | restart | kill: one MachineService::power call per machine, under its lock.
// Drivers that cannot do one (none; generic's start and kill) say so.

#include "app.h"
#include "completion_hint.h"

namespace berth::cli {
namespace {

struct Verb {
    const char* name;
    const char* help;
    MachineService::Power action;
};

}  // namespace

void add_lifecycle(CLI::App& app, Context& ctx) {
    static const Verb verbs[] = {
        {"start", "Start machines (a new address gets a new server certificate)", MachineService::Power::Start},
        {"stop", "Stop machines gracefully (ACPI shutdown)", MachineService::Power::Stop},
        {"restart", "Restart machines", MachineService::Power::Restart},
        {"kill", "Stop machines forcibly (power off)", MachineService::Power::Kill},
    };
    for (const auto& verb : verbs) {
        auto names = std::make_shared<std::vector<std::string>>();
        auto flags = std::make_shared<ProvisionFlags>();
        auto* sub = app.add_subcommand(verb.name, verb.help);
        if (verb.action == MachineService::Power::Start || verb.action == MachineService::Power::Restart)
            add_provision_options(sub, flags);
        sub->add_option("names", *names, "Machines (default: \"default\")")->check(completes_machines());
        sub->callback([&ctx, names, flags, &verb] {
            set_action(ctx, [&ctx, names, flags, &verb]() -> Result<void> {
                Services services(ctx);
                for (const auto& name : names->empty() ? std::vector<std::string>{k_default_machine} : *names)
                    if (auto ok = services.machines().power(name, verb.action, to_options(*flags)); !ok) return ok;
                return {};
            });
        });
    }
}

}  // namespace berth::cli
