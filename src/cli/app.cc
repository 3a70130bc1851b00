#include "app.h"
#include "completion_hint.h"
#include "output.h"

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

void add_machine_text_verb(CLI::App& app, Context& ctx, const char* verb, const char* help, MachineText text) {
    auto name = std::make_shared<std::string>();
    auto* sub = app.add_subcommand(verb, help);
    sub->add_option("name", *name, "Machine (default: \"default\")")->check(completes_machines());
    sub->callback([&ctx, name, text] {
        set_action(ctx, [&ctx, name, text]() -> Result<void> {
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

void add_machine_item_verb(CLI::App& app, Context& ctx, MachineItemVerb verb) {
    struct Options {
        OutputFlags output;
        std::string name;
    };
    auto opts = std::make_shared<Options>();
    auto shared = std::make_shared<MachineItemVerb>(std::move(verb));
    auto* sub = app.add_subcommand(shared->verb, shared->help);
    sub->add_option("name", opts->name, shared->without_name ? "Machine" : "Machine (default: \"default\")")
        ->check(completes_machines());
    std::string fields;
    for (const auto& f : shared->fields) fields += (fields.empty() ? "" : ", ") + f;
    add_output_flags(sub, opts->output, "Print a JSON object", "Go-style template, e.g. '{{.Name}}'. Fields: " + fields);
    sub->callback([&ctx, opts, shared] {
        set_action(ctx, [&ctx, opts, shared]() -> Result<void> {
            OutputOptions options;
            options.fields = shared->fields;
            auto output = Output::choose(opts->output, options);
            if (!output) return std::unexpected(output.error());
            nlohmann::json item;
            if (opts->name.empty() && shared->without_name) {
                item = shared->without_name();
            } else {
                Services services(ctx);
                auto machine = services.machines().open(opts->name.empty() ? k_default_machine : opts->name);
                if (!machine) return std::unexpected(machine.error());
                auto got = shared->item(services, *machine);
                if (!got) return std::unexpected(got.error());
                item = std::move(*got);
            }
            if (!output->plain()) return output->print_one(item);
            auto text = shared->text(item);
            if (!text) return std::unexpected(text.error());
            std::cout << *text << "\n";
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
