// berth import: machines of a docker-machine store taken over (generic and virtualbox), its
// store left as it was. Without --provision they are recorded as not hardened; with it, each gets
// a CA of its own and the hardening, as `berth provision` gives them.

#include "app.h"

#include <berth/service/docker_machine_store.h>

#include <spdlog/spdlog.h>

#include <iostream>

namespace berth::cli {
namespace {

struct ImportFlags {
    std::string from;
    bool provision = false;
    std::vector<std::string> names;
    std::shared_ptr<ProvisionFlags> plan = std::make_shared<ProvisionFlags>();
};

/// One machine imported: what it printed, or its error.
Result<void> import_one(MachineService& machines, const std::filesystem::path& from, const std::string& name,
                        const ImportFlags& flags) {
    ImportRequest request;
    request.from = from;
    request.name = name;
    request.provision = flags.provision;
    request.options = to_options(*flags.plan);
    auto report = machines.import_machine(request);
    if (!report) return std::unexpected(report.error());
    for (const auto& what : report->ignored) spdlog::warn("{}: not carried over from docker-machine: {}", name, what);
    if (report->provision) {
        std::cout << describe_report(name, *report->provision) << "\n";
        std::cout << "Imported " << name << " (" << report->record.driver_name
                  << ") and hardened it with a CA of its own: run eval \"$(berth env " << name << ")\" again\n";
    } else {
        std::cout << "Imported " << name << " (" << report->record.driver_name
                  << "), not hardened: docker-machine's certificates still work with `berth env " << name
                  << "`; `berth provision " << name << "` gives it a CA of its own and hardens it\n";
    }
    return {};
}

}  // namespace

void add_import(CLI::App& app, Context& ctx) {
    auto flags = std::make_shared<ImportFlags>();
    auto* sub = app.add_subcommand("import", "Take over machines of a docker-machine store (generic, virtualbox)");
    sub->add_option("--from", flags->from,
                    "docker-machine's store (default: $MACHINE_STORAGE_PATH, else ~/.docker/machine); it is only read")
        ->type_name("DIR");
    sub->add_flag("--provision", flags->provision,
                  "Harden each machine at once: a CA of its own, then the plan `berth provision` runs");
    add_provision_options(sub, flags->plan);
    sub->add_option("names", flags->names, "Machines of that store (default: all)");
    sub->callback([&ctx, flags] {
        set_action(ctx, [&ctx, flags]() -> Result<void> {
            Services services(ctx);
            const std::filesystem::path from =
                flags->from.empty() ? docker_machine_default_store(services.machines().ports().env)
                                    : std::filesystem::path(flags->from);
            std::vector<std::string> names = flags->names;
            if (names.empty()) {
                auto all = docker_machine_names(from);
                if (!all) return std::unexpected(all.error());
                if (all->empty()) return fail("the docker-machine store " + from.string() + " has no machines");
                names = std::move(*all);
            }
            int failed = 0;
            for (const auto& name : names) {
                auto ok = import_one(services.machines(), from, name, *flags);
                if (ok) continue;
                if (names.size() == 1) return ok;  // main prints it, once
                spdlog::error("{}", ok.error().line());
                ++failed;
            }
            if (failed > 0)
                return fail(std::to_string(failed) + " of " + std::to_string(names.size()) +
                            " machines were not imported (see above)");
            return {};
        });
    });
}

}  // namespace berth::cli
