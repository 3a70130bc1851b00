// berth provision: run the hardening plan again over one SSH connection. On a host that matches,
// nothing is uploaded and nothing restarts, and it says so. berth upgrade: the newest Docker
// package the host's sources have, then the same plan.

#include "app.h"
#include "completion_hint.h"

#include <berth/service/create_keys.h>

#include <berth/transport/known_hosts.h>

#include <iostream>

namespace berth::cli {

std::string describe_report(const std::string& name, const ProvisionReport& r) {
    std::string out = name + ": ";
    if (r.installed.empty() && r.changed.empty() && r.restarted.empty()) {
        out += "no changes; nothing uploaded, nothing restarted";
    } else {
        auto join = [](const std::vector<std::string>& v) {
            std::string s;
            for (const auto& i : v) s += (s.empty() ? "" : ", ") + i;
            return s;
        };
        std::vector<std::string> parts;
        if (!r.installed.empty()) parts.push_back("installed " + join(r.installed));
        if (!r.changed.empty()) parts.push_back("changed " + join(r.changed));
        parts.push_back(r.restarted.empty() ? "restarted nothing" : "restarted " + join(r.restarted));
        out += join(parts);
    }
    out += " (" + std::to_string(r.remote_commands) + " remote commands, 1 SSH connection; Docker " +
           r.docker_version + ")";
    return out;
}

void add_authz_options(CLI::App* sub, std::string& policy, std::string& owner_role) {
    // Help from create's key table (create_keys.h), which the fleet spec reads too.
    sub->add_option("--authz-policy", policy, create_key_help("authz-policy"))->type_name("FILE");
    sub->add_option("--authz-owner-role", owner_role, create_key_help("authz-owner-role"))
        ->check(CLI::IsMember({"restricted", "admin"}));
}

void add_provision_options(CLI::App* sub, std::shared_ptr<ProvisionFlags> flags) {
    sub->add_option("--replace-host-key", flags->replace_host_key,
                    "Pin the SSH host key whose fingerprint is SHA256:... (read it on the host's console with "
                    "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub); any other key is still refused")
        ->type_name("SHA256:FP")
        ->check(CLI::Validator(
            [](const std::string& fp) {
                return is_sha256_fingerprint(fp) ? std::string()
                                                 : "\"" + fp.substr(0, 60) +
                                                       "\" is not a host key fingerprint: give SHA256: and 43 "
                                                       "base64 characters, as ssh-keygen -l prints it";
            },
            "", "fingerprint"));
    sub->add_option("--templates-dir", flags->templates_dir, "Directory of templates that replace berth's own");
    sub->add_option("--ssh-timeout", flags->ssh_timeout, "Seconds to keep trying to reach the machine over SSH")
        ->capture_default_str();
}

ProvisionOptions to_options(const ProvisionFlags& flags) {
    ProvisionOptions o;
    o.replace_host_key = flags.replace_host_key;
    if (!flags.templates_dir.empty()) o.templates_dir = flags.templates_dir;
    o.ssh_timeout = std::chrono::seconds(flags.ssh_timeout);
    if (!flags.authz_policy.empty()) o.authz_policy = flags.authz_policy;
    o.authz_owner_role = flags.authz_owner_role;
    return o;
}

// provision and upgrade are one plan; upgrade first installs the newest Docker package.
void add_plan_verb(CLI::App& app, Context& ctx, const char* verb, const char* help, bool upgrade) {
    auto flags = std::make_shared<ProvisionFlags>();
    auto names = std::make_shared<std::vector<std::string>>();
    auto* sub = app.add_subcommand(verb, help);
    add_provision_options(sub, flags);
    add_authz_options(sub, flags->authz_policy, flags->authz_owner_role);
    sub->add_option("names", *names, "Machines (default: \"default\")")->check(completes_machines());
    sub->callback([&ctx, flags, names, upgrade] {
        set_action(ctx, [&ctx, flags, names, upgrade]() -> Result<void> {
            Services services(ctx);
            for (const auto& name : names->empty() ? std::vector<std::string>{k_default_machine} : *names) {
                auto report = services.machines().provision(name, to_options(*flags), upgrade);
                if (!report) return std::unexpected(report.error());
                std::cout << describe_report(name, *report) << "\n";
            }
            return {};
        });
    });
}

void add_provision(CLI::App& app, Context& ctx) {
    add_plan_verb(app, ctx, "provision", "Re-run the hardening of machines; a clean host changes nothing", false);
}

void add_upgrade(CLI::App& app, Context& ctx) {
    add_plan_verb(app, ctx, "upgrade", "Upgrade Docker on machines, keeping the hardening", true);
}

}  // namespace berth::cli
