// berth inspect: the machine's record as JSON (no secrets: keys live in files), or a field of it
// through --format.

#include "app.h"
#include "completion_hint.h"
#include "output.h"

#include <berth/provision/engine_options.h>
#include <berth/service/cert_expiry.h>

namespace berth::cli {
namespace {

/// inspect's "certificates": each of the machine's certificates with its dates (RFC 3339) as its
/// file holds them, and its status against ls's 30 days; "problem" when the file cannot be read
/// (then not_after is the record's, if it has one).
nlohmann::json certificates_json(const Store& store, const MachineRecord& record) {
    const auto now = std::chrono::system_clock::now();
    nlohmann::json out = {{"users", nlohmann::json::array()}};
    for (const auto& cert : read_cert_dates(store, record)) {
        nlohmann::json j = {{"file", cert.file.string()},
                            {"not_before", cert.not_before ? rfc3339(*cert.not_before) : ""},
                            {"not_after", cert.not_after ? rfc3339(*cert.not_after) : ""},
                            {"status", std::string(to_string(classify(cert, now, k_expiry_warning_window)))}};
        if (!cert.problem.empty()) j["problem"] = cert.problem;
        if (cert.kind != CertDates::Kind::User) {
            out[cert_key(cert)] = j;
            continue;
        }
        j["cn"] = cert.user;
        out["users"].push_back(j);
    }
    return out;
}

}  // namespace

void add_inspect(CLI::App& app, Context& ctx) {
    struct Options {
        OutputFlags output;
        std::string name;
    };
    auto opts = std::make_shared<Options>();
    auto* sub = app.add_subcommand("inspect", "Show a machine's record as JSON");
    add_output_flags(sub, opts->output, "Print the record as JSON (the default)",
                     "Go-style template, e.g. '{{.Driver.URL}}' or '{{json .Tls}}'");
    sub->add_option("name", opts->name, "Machine (default: \"default\")")->check(completes_machines());
    sub->callback([&ctx, opts] {
        set_action(ctx, [&ctx, opts]() -> Result<void> {
            OutputOptions json_by_default;
            json_by_default.json_by_default = true;
            json_by_default.indent = 4;
            auto output = Output::choose(opts->output, json_by_default);
            if (!output) return std::unexpected(output.error());
            Services services(ctx);
            auto machine = services.machines().open(opts->name.empty() ? k_default_machine : opts->name);
            if (!machine) return std::unexpected(machine.error());
            nlohmann::json j = machine->record.to_json();
            j["store_path"] = services.store().machine_dir(machine->record.name).string();
            j["certificates"] = certificates_json(services.store(), machine->record);
            // What gives up part of the hardening, with why (only when something does).
            for (const auto& w : weakened_hardening(machine->record.engine, machine->record.authz)) {
                const std::string key = w.substr(0, w.find('='));
                const std::string why = weakening_reason(key == "insecure-registry" ? "insecure-registries" : key);
                j["weakened"].push_back(w + ": " + (why.empty() ? "the Docker API's own TLS settings" : why));
            }
            return output->print_one(j);
        });
    });
}

}  // namespace berth::cli
