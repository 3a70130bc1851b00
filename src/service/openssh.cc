// berth ssh and berth scp go through OpenSSH's own client, each machine reached with its own key
// and pinned host key (StrictHostKeyChecking=yes: a changed key is refused), looked up by the
// machine's alias (HostKeyAlias=berth-NAME), not by its address.

#include <berth/service/machine_service.h>

#include <berth/core/escape.h>
#include <berth/driver/user_name.h>
#include <berth/store/atomic_file.h>
#include <berth/transport/known_hosts.h>

#include <unistd.h>

namespace berth {
namespace {

std::vector<std::string> ssh_base_options(const SshTarget& t) {
    return {"-o", "UserKnownHostsFile=" + t.known_hosts.string(),
            "-o", "HostKeyAlias=" + host_key_alias(t.machine),
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "IdentitiesOnly=yes",
            "-o", "PasswordAuthentication=no",
            "-o", "KbdInteractiveAuthentication=no",
            "-o", "LogLevel=ERROR",
            "-F", "/dev/null"};
}

/// A path as one ssh_config argument: in double quotes with \\ and " escaped (OpenSSH's argv_split),
/// % doubled (IdentityFile and UserKnownHostsFile expand %-tokens). A control character would end
/// the line: refused.
Result<std::string> ssh_config_path(const std::filesystem::path& path) {
    std::string out = "\"";
    for (char c : path.string()) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            return fail("the path " + path.string() + " holds a control character; berth cannot write it in an ssh_config",
                        "use a store directory (-s) without control characters");
        if (c == '\\' || c == '"') out += '\\';
        if (c == '%') out += '%';
        out += c;
    }
    return out + "\"";
}

/// The ssh_config block that names a machine "berth-NAME" for scp. The host and user were
/// validated (validate_ssh_endpoint: no space, quote, '%' or control character), the alias is a
/// machine name; the paths are quoted.
Result<std::string> scp_host_block(const std::string& alias, const SshTarget& t) {
    if (auto ok = validate_ssh_endpoint(SshEndpoint{t.host, t.port, t.user, t.key}, t.machine); !ok)
        return std::unexpected(ok.error());
    auto key = ssh_config_path(t.key);
    if (!key) return std::unexpected(key.error());
    auto known_hosts = ssh_config_path(t.known_hosts);
    if (!known_hosts) return std::unexpected(known_hosts.error());
    return "Host " + alias + "\n  HostName " + t.host + "\n  Port " + std::to_string(t.port) + "\n  User " + t.user +
           "\n  IdentityFile " + *key + "\n  UserKnownHostsFile " + *known_hosts +
           "\n  HostKeyAlias " + host_key_alias(t.machine) +
           "\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n"
           "  IdentitiesOnly yes\n  PasswordAuthentication no\n  LogLevel ERROR\n";
}

}  // namespace

Result<std::vector<std::string>> MachineService::ssh_argv(std::string_view name,
                                                          const std::vector<std::string>& command) const {
    auto t = ssh_target(name);
    if (!t) return std::unexpected(t.error());
    if (auto ok = validate_ssh_endpoint(SshEndpoint{t->host, t->port, t->user, t->key}, t->machine); !ok)
        return std::unexpected(ok.error());
    std::vector<std::string> args = {"ssh"};
    auto base = ssh_base_options(*t);
    args.insert(args.end(), base.begin(), base.end());
    // The user as -l's argument and "--" before the host: neither can become an option of ssh.
    args.insert(args.end(), {"-i", t->key.string(), "-l", t->user, "-p", std::to_string(t->port), "--", t->host});
    args.insert(args.end(), command.begin(), command.end());
    return args;
}

Result<std::string> MachineService::ssh_config(std::string_view name) const {
    auto t = ssh_target(name);
    if (!t) return std::unexpected(t.error());
    return scp_host_block(t->machine, *t);
}

namespace {

/// The paths of a copy with each NAME:PATH rewritten to berth-NAME:PATH, and the private
/// ssh_config that names those hosts.
struct CopyPlan {
    std::string config;
    std::vector<std::string> paths;
    std::vector<std::string> remote_paths;  ///< the PATH of each NAME:PATH
};

Result<CopyPlan> plan_copy(const MachineService& service, const std::vector<std::string>& paths) {
    CopyPlan plan;
    for (const auto& p : paths) {
        auto colon = p.find(':');
        // "NAME:PATH" names a machine; "./a:b" or "/x:y" are local paths with a colon.
        if (colon == std::string::npos || colon == 0 || p.find('/') < colon) {
            plan.paths.push_back(p);
            continue;
        }
        const std::string name = p.substr(0, colon);
        auto t = service.ssh_target(name);
        if (!t) return std::unexpected(t.error());
        const std::string alias = "berth-" + name;
        if (plan.config.find("Host " + alias + "\n") == std::string::npos) {
            auto block = scp_host_block(alias, *t);
            if (!block) return std::unexpected(block.error());
            plan.config += *block;
        }
        plan.paths.push_back(alias + ":" + p.substr(colon + 1));
        plan.remote_paths.push_back(p.substr(colon + 1));
    }
    if (plan.remote_paths.empty())
        return fail_usage("neither path names a machine", "write NAME:PATH for a path on a machine");
    return plan;
}

std::vector<std::string> scp_argv(const CopyPlan& plan, const std::filesystem::path& config, bool recursive) {
    std::vector<std::string> args = {"scp", "-q"};
    if (recursive) args.push_back("-r");
    if (plan.remote_paths.size() > 1) args.push_back("-3");  // between two machines: through this host
    args.insert(args.end(), {"-F", config.string()});
    args.insert(args.end(), plan.paths.begin(), plan.paths.end());
    return args;
}

/// rsync over OpenSSH with the copy's ssh_config (docker-machine's `scp -d`): the config path as
/// one word of rsync's -e COMMAND; -s sends the paths through rsync's protocol, so the remote
/// shell never splits them; -t keeps modification times, so an unchanged file is skipped next
/// time; "--" ends the options.
Result<std::vector<std::string>> rsync_argv(const CopyPlan& plan, const std::filesystem::path& config, bool recursive) {
    if (plan.remote_paths.size() > 1)
        return fail_usage("scp -d copies between this host and one machine, not between two machines",
                          "copy between machines without -d");
    for (const auto& path : plan.remote_paths)
        if (path.starts_with(":"))  // rsync would read NAME::PATH as a daemon's module
            return fail_usage("the path \"" + path + "\" on a machine starts with a colon (rsync would read it as "
                              "a daemon's module)",
                              "write it as ./" + path);
    std::vector<std::string> args = {"rsync", "-e", "ssh -F " + rsync_rsh_word(config.string()), "-s", "-t"};
    if (recursive) args.push_back("-r");
    args.push_back("--");
    args.insert(args.end(), plan.paths.begin(), plan.paths.end());
    return args;
}

}  // namespace

Result<void> MachineService::copy(const std::vector<std::string>& paths, const CopyOptions& options) const {
    auto plan = plan_copy(*this, paths);
    if (!plan) return std::unexpected(plan.error());
    const auto config_path = m_ports.store->root() / ("scp-config." + std::to_string(::getpid()));
    auto argv = options.delta ? rsync_argv(*plan, config_path, options.recursive)
                              : Result<std::vector<std::string>>(scp_argv(*plan, config_path, options.recursive));
    if (!argv) return std::unexpected(argv.error());
    if (auto ok = write_file_atomic(config_path, plan->config, 0600); !ok) return ok;
    Command command;
    command.argv = std::move(*argv);
    command.interactive = true;  // the tool's progress and prompts reach the user's terminal
    command.timeout = std::chrono::milliseconds(0);
    auto result = m_ports.runner->run(command);
    std::error_code ec;
    std::filesystem::remove(config_path, ec);
    const std::string tool = options.delta ? "rsync" : "scp";
    if (!result) {
        Error e = result.error();
        e.hint = options.delta ? "install rsync here and on the machine (apt-get install rsync)"
                               : "install the OpenSSH client (apt-get install openssh-client)";
        return std::unexpected(e);
    }
    if (result->exit_status != 0)
        return fail(tool + " failed (exit " + std::to_string(result->exit_status) + ")",
                    options.delta ? "its message is above; the machine needs rsync too (apt-get install rsync there)"
                                  : "its message is above");
    return {};
}

}  // namespace berth
