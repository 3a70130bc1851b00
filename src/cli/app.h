#pragma once
// The CLI's shared context. Each verb lives in its own file and adds one subcommand with
// add_<verb>(); its CLI11 callback stores the work to do in Context::action, which main() runs
// after parsing, so that only main() turns errors into exit codes.

#include <berth/core/error.h>
#include <berth/process/runner.h>
#include <berth/service/connect.h>
#include <berth/service/machine_service.h>
#include <berth/service/real_ports.h>
#include <berth/store/store.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace berth::cli {

/// Machine-name arguments default to "default", as docker-machine's do.
inline constexpr const char* k_default_machine = "default";

struct Context {
    std::vector<std::string> argv;  ///< the command line as typed (echoed by `env`)
    std::string storage_path;       ///< -s/--storage-path or BERTH_STORAGE_PATH; "" = default
    bool debug = false;
    std::function<Result<int>()> action;

    [[nodiscard]] Store store() const;
};

/// A MachineService over the context's store, with the real parts (service/real_ports.h).
class Services {
public:
    explicit Services(const Context& ctx) : m_store(ctx.store()), m_service(real_ports(m_store, m_runner)) {}
    MachineService& machines() { return m_service; }
    const Store& store() const { return m_store; }

private:
    Store m_store;
    ProcessRunner m_runner;
    MachineService m_service;
};

/// What a one-machine verb prints: the text for an opened machine (config).
using MachineText = std::function<Result<std::string>(Services&, Machine&)>;
/// Adds `verb NAME`, which opens the machine and prints `text` of it and a newline.
void add_machine_text_verb(CLI::App& app, Context& ctx, const char* verb, const char* help, MachineText text);

/// A one-machine verb with --json and -f/--format (output.h): what it knows of a machine is one
/// JSON object (`item`); with neither flag it prints `text` of that object.
struct MachineItemVerb {
    const char* verb;
    const char* help;
    std::vector<std::string> fields;  ///< the object's fields, for --format's help and a table
    std::function<Result<nlohmann::json>(Services&, Machine&)> item;
    std::function<Result<std::string>(const nlohmann::json&)> text;
    std::function<nlohmann::json()> without_name = {};  ///< the object with no machine named; empty: "default"
};
/// Adds `verb [--json | -f FORMAT] NAME`.
void add_machine_item_verb(CLI::App& app, Context& ctx, MachineItemVerb verb);

/// Fails unless the machine's record is "ready" and its driver says it is running.
[[nodiscard]] Result<void> require_running(Machine& machine);

/// Sets the verb's action: runs `fn` and maps its Result<void> to exit code 0.
void set_action(Context& ctx, std::function<Result<void>()> fn);

void add_create(CLI::App& app, Context& ctx);
void add_env(CLI::App& app, Context& ctx);
void add_ls(CLI::App& app, Context& ctx);
void add_inspect(CLI::App& app, Context& ctx);
void add_ip(CLI::App& app, Context& ctx);
void add_url(CLI::App& app, Context& ctx);
void add_config(CLI::App& app, Context& ctx);
void add_status(CLI::App& app, Context& ctx);
void add_active(CLI::App& app, Context& ctx);
void add_rm(CLI::App& app, Context& ctx);
void add_version(CLI::App& app, Context& ctx);
void add_lifecycle(CLI::App& app, Context& ctx);  // start, stop, restart, kill
void add_provision(CLI::App& app, Context& ctx);
void add_set(CLI::App& app, Context& ctx);
void add_regenerate_certs(CLI::App& app, Context& ctx);
void add_upgrade(CLI::App& app, Context& ctx);
void add_ssh(CLI::App& app, Context& ctx);
void add_ssh_config(CLI::App& app, Context& ctx);
void add_scp(CLI::App& app, Context& ctx);
void add_image(CLI::App& app, Context& ctx);    // image ls, pull, rm
void add_audit(CLI::App& app, Context& ctx);
void add_apply(CLI::App& app, Context& ctx);
void add_certs(CLI::App& app, Context& ctx);    // certs issue, ls, revoke
void add_bundle(CLI::App& app, Context& ctx);
void add_context(CLI::App& app, Context& ctx);
/// `completion SHELL`: walks `app` (the root) when it runs, so it sees every verb.
void add_completion(CLI::App& app, Context& ctx);
void add_import(CLI::App& app, Context& ctx);     // berth import from a docker-machine store
/// `man` (hidden): berth(1) as roff, from `app` (the root) when it runs.
void add_man(CLI::App& app, Context& ctx);

/// Flags shared by the verbs that provision over SSH.
struct ProvisionFlags {
    std::string replace_host_key;  ///< "SHA256:..." (validated)
    std::string templates_dir;
    int ssh_timeout = 120;
    std::string authz_policy;      ///< --authz-policy FILE ("" = keep the machine's)
    std::string authz_owner_role;  ///< --authz-owner-role ("" = keep the machine's)
};
/// --authz-policy and --authz-owner-role (create, provision, upgrade).
void add_authz_options(CLI::App* sub, std::string& policy, std::string& owner_role);
void add_provision_options(CLI::App* sub, std::shared_ptr<ProvisionFlags> flags);
[[nodiscard]] ProvisionOptions to_options(const ProvisionFlags& flags);
/// "n1: no changes; nothing uploaded, nothing restarted (1 remote commands...)" and the like.
[[nodiscard]] std::string describe_report(const std::string& name, const ProvisionReport& report);

}  // namespace berth::cli
