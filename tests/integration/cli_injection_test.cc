// Hostile values on the user's own machine, through the real berth binary: a store path and
// NO_PROXY that hold shell code (berth env), a machine record edited by hand (berth ssh, scp,
// provision), hostile SSH flags at create and a hostile --mirror (berth image build). Each is
// refused or carried literally, and nothing of it runs.

#include <berth/process/runner.h>
#include <berth/store/store.h>

#include "berth_cli.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>

using namespace berth;
using berth::test::TempDir;

namespace {

struct Berth : test::BerthCli {
    explicit Berth(const std::string& store_name = "store") : BerthCli(store_name) { cwd = dir.path(); }

    /// No file whose name starts with "pwned" anywhere under the test's directory.
    bool nothing_ran() const {
        for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path()))
            if (e.path().filename().string().starts_with("pwned")) return false;
        return true;
    }

    /// A generic machine's record as a user could edit it by hand.
    void hand_edited_machine(const std::string& name, const std::string& host, const std::string& user) {
        Store store(store_path);
        REQUIRE(store.ensure_layout());
        MachineRecord r;
        r.name = name;
        r.driver_name = "generic";
        r.status = MachineStatus::Ready;
        r.created_at = "2026-01-01T00:00:00Z";
        r.driver = {{"ip_address", host}, {"ssh_user", user}, {"ssh_port", 22}, {"engine_port", 2376}};
        REQUIRE(store.save(r));
        test::write_text(store.machine_file(name, k_known_hosts_file), "127.0.0.1 ssh-ed25519 AAAA\n");
        test::write_text(store.machine_file(name, "ssh-key"), "not a key\n");
    }
};

std::map<std::string, std::string> env_after_eval(const std::string& dir, const std::string& script) {
    Command c;
    c.argv = {"bash", "-c", "eval \"$1\" && env -0", "bash", script};
    c.cwd = dir;
    c.env_unset = {"DOCKER_HOST", "NO_PROXY", "no_proxy", "DOCKER_CERT_PATH"};
    ProcessRunner runner;
    auto r = runner.run(c);
    REQUIRE(r);
    REQUIRE(r->exit_status == 0);
    std::map<std::string, std::string> vars;
    std::istringstream in(r->out);
    for (std::string entry; std::getline(in, entry, '\0');) {
        auto eq = entry.find('=');
        if (eq != std::string::npos) vars[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    return vars;
}

}  // namespace

TEST_CASE("env with a store path and NO_PROXY full of shell code: bash gets them literally", "[cli][security]") {
    const std::string store_name = "s $(touch pwned1) `touch pwned2` \"q\" 'a' ;touch pwned3; %PATH% \\ !x\nl2";
    Berth b(store_name);
    REQUIRE(b.run({"create", "-d", "none", "--url", "tcp://10.1.2.3:2376", "n1"}).exit_status == 0);
    const std::string no_proxy = "localhost,$(touch pwned4),`touch pwned5`;touch pwned6";
    b.env["NO_PROXY"] = no_proxy;
    auto out = b.run({"env", "--shell", "bash", "--no-proxy", "n1"});
    INFO(out.err);
    REQUIRE(out.exit_status == 0);
    auto vars = env_after_eval(b.dir.path().string(), out.out);
    CHECK(vars["DOCKER_CERT_PATH"] == (b.store_path / "machines" / "n1" / "certs").string());
    CHECK(vars["NO_PROXY"] == no_proxy + ",10.1.2.3");
    CHECK(vars["DOCKER_HOST"] == "tcp://10.1.2.3:2376");
    CHECK(b.nothing_ran());

    // tcsh cannot carry the newline: a clear refusal, exit 2, and nothing printed to evaluate.
    auto tcsh = b.run({"env", "--shell", "tcsh", "n1"});
    CHECK(tcsh.exit_status == 2);
    CHECK(tcsh.out.empty());
    CHECK(tcsh.err.find("cannot print DOCKER_CERT_PATH: tcsh cannot carry a newline") != std::string::npos);
    // cmd cannot carry '%' or '&' safely either.
    b.env["NO_PROXY"] = "a&calc";
    auto cmd = b.run({"env", "--shell", "cmd", "n1"});
    CHECK(cmd.exit_status == 2);
    CHECK(cmd.out.empty());
}

TEST_CASE("ssh - scp and provision refuse a record edited by hand - and run nothing", "[cli][ssh][security]") {
    Berth b;
    const std::string marker = (b.dir / "pwned").string();
    b.hand_edited_machine("u1", "127.0.0.1", "-oProxyCommand=touch " + marker);
    b.hand_edited_machine("h1", "127.0.0.1\n  ProxyCommand touch " + marker, "root");
    test::write_text(b.dir / "local.txt", "x\n");
    for (const std::string name : {"u1", "h1"}) {
        CAPTURE(name);
        for (const std::vector<std::string>& args :
             {std::vector<std::string>{"ssh", name, "--", "true"}, std::vector<std::string>{"ssh", name},
              std::vector<std::string>{"scp", (b.dir / "local.txt").string(), name + ":/tmp/x"},
              std::vector<std::string>{"provision", name}}) {
            auto r = b.run(args);
            CAPTURE(args[0], r.err);
            CHECK(r.exit_status == 1);
            CHECK(r.err.find("machine \"" + name + "\" has SSH " + (name == "u1" ? "user" : "host")) != std::string::npos);
            CHECK(r.err.find("changed by hand") != std::string::npos);
        }
    }
    CHECK(b.nothing_ran());
}

TEST_CASE("create -d generic refuses a hostile address or user before anything is made", "[cli][security]") {
    Berth b;
    test::write_text(b.dir / "id_ed25519", "not checked before the flags\n");
    const std::string key = (b.dir / "id_ed25519").string();
    auto host = b.run({"create", "-d", "generic", "--generic-ip-address", "127.0.0.1\n  ProxyCommand touch pwned",
                       "--generic-ssh-key", key, "g1"});
    CHECK(host.exit_status == 2);
    CHECK(host.err.find("--generic-ip-address must be an IP address or a DNS name") != std::string::npos);
    auto user = b.run({"create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--generic-ssh-user",
                       "-oProxyCommand=touch pwned", "--generic-ssh-key", key, "g2"});
    CHECK(user.exit_status == 2);
    CHECK(user.err.find("--generic-ssh-user must be a user name") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(b.store_path / "machines" / "g1"));
    CHECK_FALSE(std::filesystem::exists(b.store_path / "machines" / "g2"));
    CHECK(b.nothing_ran());
}

TEST_CASE("image build refuses a hostile mirror before anything is made", "[cli][image][security]") {
    Berth b;
    for (const std::string flag : {"--mirror", "--security-mirror"}) {
        auto r = b.run({"image", "build", "debian-12", flag, "http://x\";touch pwned;\""});
        CAPTURE(flag, r.err);
        CHECK(r.exit_status == 2);
        CHECK(r.err.find(flag + " must be an http:// or https:// URL") != std::string::npos);
    }
    CHECK_FALSE(std::filesystem::exists(b.store_path / "cache"));
    CHECK(b.nothing_ran());
}
