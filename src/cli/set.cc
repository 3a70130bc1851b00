// berth set: change a made machine's memory and CPUs (--<driver>-memory, --<driver>-cpu-count;
// a running machine is stopped and started only with --restart) and its engine settings
// (--engine-env, --engine-opt, --engine-label, written by a provision that changes only what
// differs).

#include "app.h"
#include "completion_hint.h"

#include <berth/service/driver_table.h>

#include <iostream>
#include <map>

namespace berth::cli {
namespace {

struct SetOptions {
    SetRequest request;
    ProvisionFlags flags;
    /// Driver -> option -> the flag's values: only the settable options, as flags (set reads no
    /// BERTH_<DRIVER>_<OPTION> variable: a variable left in the environment changes nothing).
    std::map<std::string, OptionValues> driver_flags;
};

void add_settable_driver_flags(CLI::App* sub, SetOptions& opts) {
    for (const auto& info : driver_table()) {
        for (const auto& option : info.options) {
            if (!option.settable) continue;
            auto& slot = opts.driver_flags[info.name][option.name];
            sub->add_option(option_flag(info.name, option), slot, option.help + " (takes effect at the next start)")
                ->expected(1)
                ->allow_extra_args(false)
                ->group("Driver " + info.name);
        }
    }
}

void add_engine_edit_flags(CLI::App* sub, EngineEdits& edits) {
    struct Flag {
        const char* name;
        const char* type;
        const char* help;
        std::vector<std::string>* target;
    };
    const Flag flags[] = {
        {"--engine-env", "KEY=VALUE", "Set an environment variable of dockerd (replaces KEY's value)", &edits.env},
        {"--engine-opt", "KEY=VALUE", "Set a dockerd option in daemon.json (replaces every value of KEY)", &edits.opts},
        {"--engine-label", "KEY=VALUE", "Set an engine label (replaces KEY's value)", &edits.labels},
        {"--unset-engine-env", "KEY", "Remove the dockerd environment variable KEY", &edits.unset_env},
        {"--unset-engine-opt", "KEY", "Remove every value of the dockerd option KEY", &edits.unset_opts},
        {"--unset-engine-label", "KEY", "Remove the engine label KEY", &edits.unset_labels},
    };
    for (const auto& f : flags)
        sub->add_option(f.name, *f.target, f.help)
            ->type_name(f.type)
            ->expected(1)
            ->allow_extra_args(false)
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
            ->group("Engine (each flag may be given many times)");
}

void print_set_report(const std::string& name, const SetReport& report) {
    if (report.nothing()) {
        std::cout << name << ": nothing to change; it has these settings already\n";
        return;
    }
    for (const auto& line : report.driver_changes) std::cout << name << ": " << line << "\n";
    for (const auto& line : report.engine_changes) std::cout << name << ": " << line << "\n";
    if (report.at_next_start) std::cout << name << ": stopped; the new settings take effect when it starts\n";
    if (report.restarted) std::cout << name << ": started with the new settings\n";
    if (report.provision) std::cout << describe_report(name, *report.provision) << "\n";
}

}  // namespace

void add_set(CLI::App& app, Context& ctx) {
    auto opts = std::make_shared<SetOptions>();
    auto* sub = app.add_subcommand("set", "Change a machine's memory, CPUs or engine settings after create");
    sub->add_option("name", opts->request.name, "Machine")->required()->check(completes_machines());
    sub->add_flag("--restart", opts->request.restart,
                  "Stop and start the machine when a change needs it (memory, CPUs of a running machine), and "
                  "start a stopped one whose engine settings change");
    add_engine_edit_flags(sub, opts->request.engine);
    add_provision_options(sub, std::shared_ptr<ProvisionFlags>(opts, &opts->flags));
    add_settable_driver_flags(sub, *opts);
    sub->callback([&ctx, opts] {
        set_action(ctx, [&ctx, opts]() -> Result<void> {
            opts->request.provision = to_options(opts->flags);
            opts->request.driver_flags.clear();
            for (const auto& [driver, options] : opts->driver_flags)
                for (const auto& [option, values] : options)
                    if (!values.empty()) opts->request.driver_flags[driver][option] = values;
            if (opts->request.driver_flags.empty() && opts->request.engine.empty())
                return fail_usage("berth set " + opts->request.name + " was given nothing to change",
                                  "give --<driver>-memory, --<driver>-cpu-count, --engine-env, --engine-opt or "
                                  "--engine-label (berth set --help lists them)");
            Services services(ctx);
            auto report = services.machines().set(opts->request);
            if (!report) return std::unexpected(report.error());
            print_set_report(opts->request.name, *report);
            return {};
        });
    });
}

}  // namespace berth::cli
