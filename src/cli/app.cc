#include "app.h"
#include "completion_hint.h"

#include <iostream>

namespace berth::cli {

Store Context::store() const {
    return Store(storage_path.empty() ? Store::default_root() : std::filesystem::path(storage_path));
}

Result<void> require_running(Machine& machine) {
    const auto& r = machine.record;
    if (r.status != MachineStatus::Ready)
        return fail("machine \"" + r.name + "\" is not ready (status: " + std::string(to_string(r.status)) +
                        (r.last_error.empty() ? "" : ", " + r.last_error) + ")",
                    "remove it with `berth rm -f " + r.name + "` and create it again");
    auto state = machine.driver->state();
    if (!state) return std::unexpected(state.error());
    if (*state != MachineState::Running)
        return fail("machine \"" + r.name + "\" is not running (state: " + std::string(to_string(*state)) + ")",
                    "start it with `berth start " + r.name + "`");
    return {};
}

void add_machine_text_verb(CLI::App& app, Context& ctx, const char* verb, const char* help, MachineText text,
                           NoMachineText without_name) {
    auto name = std::make_shared<std::string>();
    auto* sub = app.add_subcommand(verb, help);
    sub->add_option("name", *name, without_name ? "Machine" : "Machine (default: \"default\")")
        ->check(completes_machines());
    sub->callback([&ctx, name, text, without_name] {
        set_action(ctx, [&ctx, name, text, without_name]() -> Result<void> {
            if (name->empty() && without_name) {
                std::cout << without_name() << "\n";
                return {};
            }
            Services services(ctx);
            auto machine = services.machines().open(name->empty() ? k_default_machine : *name);
            if (!machine) return std::unexpected(machine.error());
            auto out = text(services, *machine);
            if (!out) return std::unexpected(out.error());
            std::cout << *out << "\n";
            return {};
        });
    });
}

void set_action(Context& ctx, std::function<Result<void>()> fn) {
    ctx.action = [fn = std::move(fn)]() -> Result<int> {
        auto ok = fn();
        if (!ok) return std::unexpected(ok.error());
        return k_exit_ok;
    };
}

}  // namespace berth::cli
