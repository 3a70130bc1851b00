// The SSH user and host of a machine: one validator for the drivers' flags and for every record
// berth loads; `berth ssh` passes the user with -l and "--" before the host; `berth scp`'s private
// ssh_config holds validated values and quoted paths. A record edited by hand is refused.

#include <berth/core/escape.h>
#include <berth/driver/user_name.h>
#include <berth/service/machine_service.h>
#include <berth/service/real_ports.h>
#include <berth/store/atomic_file.h>
#include <berth/store/store.h>

#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <unistd.h>

using namespace berth;

namespace {

/// Records each command and the -F ssh_config it names, and runs nothing.
struct RecordingRunner final : Runner {
    std::vector<Command> commands;
    std::vector<std::string> configs;
    Result<CommandResult> run(const Command& c) override {
        commands.push_back(c);
        for (std::size_t i = 0; i + 1 < c.argv.size(); ++i)
            if (c.argv[i] == "-F") configs.push_back(read_file(c.argv[i + 1]).value_or("<unreadable>"));
        return CommandResult{.exit_status = 0, .out = {}, .err = {}, .timed_out = false};
    }
};

struct Fixture {
    test::TempDir dir;
    Store store{dir / "store dir"};
    RecordingRunner runner;
    MachineService service{real_ports(store, runner)};

    void machine(const std::string& name, const std::string& host, const std::string& user) {
        REQUIRE(store.ensure_layout());
        MachineRecord r;
        r.name = name;
        r.driver_name = "generic";
        r.status = MachineStatus::Ready;
        r.created_at = "2026-01-01T00:00:00Z";
        r.driver = {{"ip_address", host}, {"ssh_user", user}, {"ssh_port", 2222}, {"engine_port", 2376}};
        REQUIRE(store.save(r));
        test::write_text(store.machine_file(name, k_known_hosts_file), "[127.0.0.1]:2222 ssh-ed25519 AAAA\n");
    }
};

}  // namespace

TEST_CASE("one rule for SSH users and hosts", "[ssh][security]") {
    for (const std::string good : {"root", "docker", "Admin", "svc.deploy", "_x", "a-b_c.d", "u1"}) {
        CAPTURE(good);
        CHECK(is_portable_user_name(good));
        CHECK(validate_ssh_user(good, "--generic-ssh-user"));
    }
    for (const std::string bad : {"", "-oProxyCommand=touch /tmp/x", "-l", "a b", "a\nb", "a@b", "a;b", "a$b",
                                  "a'b", "a/b", "123456789012345678901234567890123"}) {
        CAPTURE(bad);
        CHECK_FALSE(is_portable_user_name(bad));
        auto r = validate_ssh_user(bad, "--generic-ssh-user");
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::Usage);
        CHECK(r.error().message.find('\n') == std::string::npos);
    }
    // cloud-init's stricter rule is built on the same one.
    CHECK(is_user_name("docker"));
    CHECK_FALSE(is_user_name("Admin"));
    CHECK_FALSE(is_user_name("svc.deploy"));
    CHECK_FALSE(is_user_name("-x"));
    CHECK_FALSE(is_user_name("1abc"));

    for (const std::string good : {"127.0.0.1", "10.1.2.3", "::1", "2001:db8::10", "fe80::1", "host",
                                   "host.example.com", "host.example.com.", "a-b.c_d.example", "xn--bcher-kva.example"}) {
        CAPTURE(good);
        CHECK(is_host_address(good));
    }
    for (const std::string& bad : std::vector<std::string>{"", "-oProxyCommand=x", "127.0.0.1\n  ProxyCommand touch /tmp/x", "a b", "host;id",
                                  "-host", "host-.example", "a..b", ".", "h\"x", "h%h", "[::1]", "user@host",
                                  std::string(64, 'a') + ".example", "a/b"}) {
        CAPTURE(bad);
        CHECK_FALSE(is_host_address(bad));
        CHECK_FALSE(validate_ssh_host(bad, "--generic-ip-address"));
    }
}

TEST_CASE("ssh_argv passes the user with -l and puts -- before the host", "[ssh][security]") {
    Fixture f;
    f.machine("g1", "127.0.0.1", "root");
    auto args = f.service.ssh_argv("g1", {"-oProxyCommand=x", "ls"});
    REQUIRE(args);
    const auto& a = *args;
    auto dash = std::find(a.begin(), a.end(), "--");
    REQUIRE(dash != a.end());
    CHECK(std::vector<std::string>(dash - 6, a.end()) ==
          std::vector<std::string>{"-i", f.store.machine_file("g1", "ssh-key").string(), "-l", "root", "-p", "2222",
                                   "--", "127.0.0.1", "-oProxyCommand=x", "ls"});
    // Nothing before "--" comes from the record except the -l argument and paths of the store.
    for (auto it = a.begin(); it != dash; ++it) CHECK(it->find("ProxyCommand") == std::string::npos);
}

TEST_CASE("scp's ssh_config holds validated values and quoted paths", "[ssh][security]") {
    Fixture f;
    f.machine("g1", "10.1.2.3", "docker");
    REQUIRE(f.service.copy({"/tmp/a", "g1:/tmp/b"}, {}));
    REQUIRE(f.runner.configs.size() == 1);
    const std::string key = f.store.machine_file("g1", "ssh-key").string();
    const std::string known = f.store.machine_file("g1", k_known_hosts_file).string();
    REQUIRE(key.find(' ') != std::string::npos);  // the store path has a space: it must be quoted
    CHECK(f.runner.configs[0] == "Host berth-g1\n  HostName 10.1.2.3\n  Port 2222\n  User docker\n"
                                 "  IdentityFile \"" + key + "\"\n  UserKnownHostsFile \"" + known + "\"\n"
                                 "  HostKeyAlias berth-g1\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n"
                                 "  IdentitiesOnly yes\n  PasswordAuthentication no\n  LogLevel ERROR\n");
}

TEST_CASE("scp -d runs rsync over ssh -F the same config - one -e word, -s and --", "[ssh][security][scp]") {
    Fixture f;
    f.machine("g1", "10.1.2.3", "docker");
    f.machine("g2", "10.1.2.4", "docker");
    MachineService::CopyOptions delta;
    delta.delta = true;
    delta.recursive = true;
    REQUIRE(f.service.copy({"/tmp/a b", "-e x", "g1:/srv/it's here"}, delta));
    REQUIRE(f.runner.commands.size() == 1);
    const auto& argv = f.runner.commands[0].argv;
    const std::string config = (f.store.root() / ("scp-config." + std::to_string(::getpid()))).string();
    REQUIRE(config.find(' ') != std::string::npos);  // the store path has a space: one quoted word
    CHECK(argv == std::vector<std::string>{"rsync", "-e", "ssh -F '" + config + "'", "-s", "-t", "-r", "--", "/tmp/a b",
                                           "-e x", "berth-g1:/srv/it's here"});
    CHECK(argv[2] == "ssh -F " + rsync_rsh_word(config));
    CHECK_FALSE(std::filesystem::exists(config));  // removed after the copy

    // rsync cannot copy between two machines, and NAME::PATH would be a daemon's module.
    auto two = f.service.copy({"g1:/a", "g2:/b"}, delta);
    REQUIRE_FALSE(two);
    CHECK(two.error().kind == ErrorKind::Usage);
    auto module = f.service.copy({"/a", "g1::m"}, delta);
    REQUIRE_FALSE(module);
    CHECK(module.error().kind == ErrorKind::Usage);
    CHECK(f.runner.commands.size() == 1);
}

TEST_CASE("a record edited by hand is refused by ssh - scp and provision - and nothing runs", "[ssh][security]") {
    Fixture f;
    f.machine("u1", "127.0.0.1", "-oProxyCommand=touch /tmp/berth-pwned");
    f.machine("h1", "127.0.0.1\n  ProxyCommand touch /tmp/berth-pwned", "root");
    f.machine("h2", "-oProxyCommand=touch /tmp/berth-pwned", "root");
    for (const std::string name : {"u1", "h1", "h2"}) {
        CAPTURE(name);
        auto ssh = f.service.ssh_argv(name, {"true"});
        REQUIRE_FALSE(ssh);
        CHECK(ssh.error().message.starts_with("machine \"" + name + "\" has SSH "));
        CHECK(ssh.error().message.find('\n') == std::string::npos);
        CHECK(ssh.error().hint.find("changed by hand") != std::string::npos);
        auto scp = f.service.copy({"/tmp/a", name + ":/tmp/b"}, {});
        REQUIRE_FALSE(scp);
        CHECK(scp.error().message == ssh.error().message);
        auto provision = f.service.provision(name, {});
        REQUIRE_FALSE(provision);
        CHECK(provision.error().message == ssh.error().message);
    }
    CHECK(f.runner.commands.empty());
}
