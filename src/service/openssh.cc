// berth ssh and berth scp go through OpenSSH's own client, each machine reached with its own key
// and pinned host key (StrictHostKeyChecking=yes: a changed key is refused), looked up by the
// machine's alias (HostKeyAlias=berth-NAME), not by its address.

#include <berth/service/machine_service.h>

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

/// The ssh_config block that names a machine "berth-NAME" for scp.
std::string scp_host_block(const std::string& alias, const SshTarget& t) {
    return "Host " + alias + "\n  HostName " + t.host + "\n  Port " + std::to_string(t.port) + "\n  User " + t.user +
           "\n  IdentityFile " + t.key.string() + "\n  UserKnownHostsFile " + t.known_hosts.string() +
           "\n  HostKeyAlias " + host_key_alias(t.machine) +
           "\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n"
           "  IdentitiesOnly yes\n  PasswordAuthentication no\n  LogLevel ERROR\n";
}

}  // namespace

Result<std::vector<std::string>> MachineService::ssh_argv(std::string_view name,
                                                          const std::vector<std::string>& command) const {
    auto t = ssh_target(name);
    if (!t) return std::unexpected(t.error());
    std::vector<std::string> args = {"ssh"};
    auto base = ssh_base_options(*t);
    args.insert(args.end(), base.begin(), base.end());
    args.insert(args.end(), {"-i", t->key.string(), "-p", std::to_string(t->port), t->user + "@" + t->host});
    if (!command.empty()) {
        args.push_back("--");
        args.insert(args.end(), command.begin(), command.end());
    }
    return args;
}

Result<void> MachineService::copy(const std::vector<std::string>& paths, bool recursive) const {
    std::string config;
    std::vector<std::string> args = {"scp", "-q"};
    if (recursive) args.push_back("-r");
    int remotes = 0;
    std::vector<std::string> rewritten;
    for (const auto& p : paths) {
        auto colon = p.find(':');
        // "NAME:PATH" names a machine; "./a:b" or "/x:y" are local paths with a colon.
        if (colon == std::string::npos || colon == 0 || p.find('/') < colon) {
            rewritten.push_back(p);
            continue;
        }
        const std::string name = p.substr(0, colon);
        auto t = ssh_target(name);
        if (!t) return std::unexpected(t.error());
        const std::string alias = "berth-" + name;
        if (config.find("Host " + alias + "\n") == std::string::npos) config += scp_host_block(alias, *t);
        rewritten.push_back(alias + ":" + p.substr(colon + 1));
        ++remotes;
    }
    if (remotes == 0) return fail_usage("neither path names a machine", "write NAME:PATH for a path on a machine");
    if (remotes > 1) args.push_back("-3");  // between two machines: through this host
    const auto config_path = m_ports.store->root() / ("scp-config." + std::to_string(::getpid()));
    if (auto ok = write_file_atomic(config_path, config, 0600); !ok) return ok;
    args.insert(args.end(), {"-F", config_path.string()});
    args.insert(args.end(), rewritten.begin(), rewritten.end());
    Command command;
    command.argv = std::move(args);
    command.interactive = true;  // scp's progress and prompts reach the user's terminal
    command.timeout = std::chrono::milliseconds(0);
    auto result = m_ports.runner->run(command);
    std::error_code ec;
    std::filesystem::remove(config_path, ec);
    if (!result) {
        Error e = result.error();
        e.hint = "install the OpenSSH client (apt-get install openssh-client)";
        return std::unexpected(e);
    }
    if (result->exit_status != 0)
        return fail("scp failed (exit " + std::to_string(result->exit_status) + ")", "its message is above");
    return {};
}

}  // namespace berth
