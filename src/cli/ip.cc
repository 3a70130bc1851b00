// berth ip: the address of one or more machines, one per line; --json an array of {"Name", "IP"},
// --format a template per machine.

#include "app.h"
#include "completion_hint.h"
#include "output.h"

#include <iostream>

namespace berth::cli {

void add_ip(CLI::App& app, Context& ctx) {
    struct Options {
        OutputFlags output;
        std::vector<std::string> names;
    };
    auto opts = std::make_shared<Options>();
    auto* sub = app.add_subcommand("ip", "Print the IP address (or host name) of machines");
    sub->add_option("names", opts->names, "Machines (default: \"default\")")->check(completes_machines());
    add_output_flags(sub, opts->output, "Print a JSON array of {\"Name\", \"IP\"}",
                     "Go-style template per machine, e.g. '{{.Name}} {{.IP}}'. Fields: Name, IP");
    sub->callback([&ctx, opts] {
        set_action(ctx, [&ctx, opts]() -> Result<void> {
            OutputOptions options;
            options.fields = {"Name", "IP"};
            auto output = Output::choose(opts->output, options);
            if (!output) return std::unexpected(output.error());
            Services services(ctx);
            const auto& names = opts->names.empty() ? std::vector<std::string>{k_default_machine} : opts->names;
            nlohmann::json items = nlohmann::json::array();
            for (const auto& name : names) {
                auto machine = services.machines().open(name);
                if (!machine) return std::unexpected(machine.error());
                auto ip = machine->driver->ip();
                if (!ip) return std::unexpected(ip.error());
                if (output->plain()) std::cout << *ip << "\n";  // as each is known, as before
                items.push_back({{"Name", machine->record.name}, {"IP", *ip}});
            }
            return output->print_list(items);
        });
    });
}

}  // namespace berth::cli
