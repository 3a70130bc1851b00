// berth create: make a machine with a driver. Driver options are declared by each driver and
// appear here as --<driver>-<option> flags (and BERTH_<DRIVER>_<OPTION> variables).

#include "app.h"
#include "completion_hint.h"

#include <berth/service/create_keys.h>
#include <berth/service/driver_table.h>
#include <berth/service/user_certs.h>

#include <spdlog/spdlog.h>

#include <map>
#include <stdexcept>

namespace berth::cli {
namespace {

struct CreateOptions {
    CreateRequest request;
    // Every driver's flags, keyed by driver name then option name.
    std::map<std::string, OptionValues> driver_flags;
    std::vector<std::pair<const DriverInfo*, CLI::Option*>> flag_options;
    std::string templates_dir;
    int ssh_timeout = 120;
    std::string authz_policy;
    bool context = false;  ///< --context: write a docker CLI context after the create
};

/// One value per use of a repeatable flag, as in docker-machine.
void one_each(CLI::Option* o) {
    o->expected(1)->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

/// The flag of one key of create's table (create_keys.h, which the fleet spec reads too), with
/// its help from there; a name not in the table is a programming error caught by every test.
template <typename T>
CLI::Option* key_option(CLI::App* sub, std::string_view key, T& target) {
    const CreateKey* k = find_create_key(key);
    if (k == nullptr) throw std::logic_error("create flag --" + std::string(key) + " is not in create_keys()");
    return sub->add_option("--" + k->name, target, k->help);
}

void add_tls_and_engine_flags(CLI::App* sub, CreateOptions& opts) {
    one_each(key_option(sub, "engine-label", opts.request.engine.labels));
    one_each(key_option(sub, "tls-san", opts.request.tls_sans));
    key_option(sub, "tls-key-type", opts.request.tls_key_type)
        ->check(CLI::IsMember({"ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-4096"}))
        ->capture_default_str();
    key_option(sub, "tls-ca-days", opts.request.tls_ca_days)->capture_default_str();
    key_option(sub, "tls-cert-days", opts.request.tls_cert_days)->capture_default_str();
    auto& engine = opts.request.engine;
    key_option(sub, "engine-install", engine.install)
        ->check(CLI::IsMember({"docker.io", "docker-ce"}))
        ->capture_default_str();
    key_option(sub, "engine-version", engine.version);
    one_each(key_option(sub, "engine-opt", engine.opts));
    one_each(key_option(sub, "insecure-engine-opt", engine.insecure_opts));
    one_each(key_option(sub, "engine-insecure-registry", engine.insecure_registries));
    one_each(key_option(sub, "engine-registry-mirror", engine.registry_mirrors));
    key_option(sub, "engine-storage-driver", engine.storage_driver);
    one_each(key_option(sub, "engine-env", engine.env));
    key_option(sub, "engine-apt-proxy", engine.apt_proxy)->type_name("URL");
    key_option(sub, "templates-dir", opts.templates_dir);
    key_option(sub, "ssh-timeout", opts.ssh_timeout)->capture_default_str();
    add_authz_options(sub, opts.authz_policy, opts.request.provision.authz_owner_role);
}

/// Every driver's options as --<driver>-<option> flags, grouped by driver.
void add_driver_flags(CLI::App* sub, CreateOptions& opts) {
    for (const auto& info : driver_table()) {
        const std::string group = "Driver " + info.name;
        for (const auto& option : info.options) {
            std::string help = option.help + " [env " + option_env_var(info.name, option) + "]";
            if (!option.default_value.empty()) help += " (default " + option.default_value + ")";
            auto& slot = opts.driver_flags[info.name][option.name];
            CLI::Option* o = nullptr;
            if (option.type == OptionType::Bool) {
                o = sub->add_flag_callback(option_flag(info.name, option),
                                           [&slot] { slot = {"true"}; }, help);
            } else {
                o = sub->add_option(option_flag(info.name, option), slot, help);
                // One value per use; a list option is given once per value, as in docker-machine.
                o->expected(1)->allow_extra_args(false);
                if (option.type == OptionType::StringList)
                    o->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
            }
            if (option.name == "image") o->check(completes_images());
            o->group(group);
            opts.flag_options.emplace_back(&info, o);
        }
    }
}

/// The closing lines: how long each phase took, how the machine was provisioned, what to run.
void print_create_report(const CreateReport& report) {
    std::string timing;
    double total = 0;
    for (const auto& [phase, secs] : report.timings) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%s %.1f s", phase.c_str(), secs);
        timing += (timing.empty() ? "" : ", ") + std::string(buf);
        total += secs;
    }
    if (!timing.empty()) spdlog::info("Time: {:.1f} s ({})", total, timing);
    if (int n = report.remote_commands(); n > 0)
        spdlog::info("Provisioned over 1 SSH connection ({} remote commands)", n);
    spdlog::info("Machine {} is ready. To point your docker CLI at it, run: eval \"$(berth env {})\"",
                 report.record.name, report.record.name);
}

}  // namespace

void add_create(CLI::App& app, Context& ctx) {
    auto opts = std::make_shared<CreateOptions>();
    auto* sub = app.add_subcommand("create", "Create a machine");
    sub->add_option("-d,--driver", opts->request.driver, "Driver that makes the machine: libvirt, virtualbox, generic or none")
        ->required()
        ->check(completes_words(driver_names()));
    add_tls_and_engine_flags(sub, *opts);
    sub->add_option("name", opts->request.name, "Name of the machine")->required();
    sub->add_flag("--context", opts->context,
                  "Also write a docker CLI context named after the machine (as `berth context NAME`)");
    add_driver_flags(sub, *opts);

    sub->callback([&ctx, opts] {
        set_action(ctx, [&ctx, opts]() -> Result<void> {
            if (!opts->templates_dir.empty()) opts->request.provision.templates_dir = opts->templates_dir;
            opts->request.provision.ssh_timeout = std::chrono::seconds(opts->ssh_timeout);
            if (!opts->authz_policy.empty()) opts->request.provision.authz_policy = opts->authz_policy;
            // A flag of another driver is a mistake worth saying, not something to ignore.
            for (const auto& [info, option] : opts->flag_options) {
                if (option->count() > 0 && info->name != opts->request.driver)
                    return fail_usage(option->get_name() + " belongs to driver " + info->name +
                                          ", but the driver is " + opts->request.driver,
                                      "drop the flag or use -d " + info->name);
            }
            opts->request.driver_flags = opts->driver_flags[opts->request.driver];
            Services services(ctx);
            auto report = services.machines().create(opts->request);
            if (!report) return std::unexpected(report.error());
            print_create_report(*report);
            if (!opts->context) return {};
            if (auto written = write_docker_context(services.machines(), opts->request.name); !written) {
                Error e = written.error();
                e.message = "machine " + opts->request.name + " was created, but its docker context was not written: " +
                            e.message;
                return std::unexpected(e);
            }
            return {};
        });
    });
}

}  // namespace berth::cli
