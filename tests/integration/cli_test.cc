// The real berth binary, run as a user runs it: outputs, files and exit codes.

#include <berth/process/runner.h>
#include <berth/store/atomic_file.h>

#include "berth_cli.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

using namespace berth;
using berth::test::TempDir;

namespace {

struct Berth : test::BerthCli {
    void create_n1() {
        auto r = run({"create", "-d", "none", "--url", "tcp://10.1.2.3:2376", "n1"});
        INFO(r.err);
        REQUIRE(r.exit_status == 0);
    }
};

std::string golden(const std::string& name, const std::string& store) {
    std::ifstream in(std::string(BERTH_GOLDEN_DIR) + "/env/" + name);
    REQUIRE(in.good());
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    for (size_t p; (p = text.find("<store>")) != std::string::npos;) text.replace(p, 7, store);
    return text;
}

int count_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST_CASE("create -d none then env prints exactly the documented block", "[cli]") {
    Berth b;
    b.create_n1();
    auto r = b.run({"env", "--shell", "bash", "n1"});
    CHECK(r.exit_status == 0);
    CHECK(r.out == "export DOCKER_TLS_VERIFY=\"1\"\n"
                   "export DOCKER_HOST=\"tcp://10.1.2.3:2376\"\n"
                   "export DOCKER_CERT_PATH=\"" + (b.store() / "machines" / "n1" / "certs").string() + "\"\n"
                   "export DOCKER_MACHINE_NAME=\"n1\"\n"
                   "# Run this command to configure your shell:\n"
                   "# eval $(berth env --shell bash n1)\n");
    CHECK(r.err.empty());
    // DOCKER_CERT_PATH holds what the docker CLI needs and nothing else: no CA key, no SSH key.
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(b.store() / "machines" / "n1" / "certs"))
        files.push_back(e.path().filename().string());
    std::sort(files.begin(), files.end());
    CHECK(files == std::vector<std::string>{"ca.pem", "cert.pem", "key.pem"});
    CHECK(berth::test::file_mode(b.store() / "machines" / "n1" / "certs") == 0700);
    CHECK(berth::test::file_mode(b.store() / "machines" / "n1" / "certs" / "key.pem") == 0600);
    CHECK(std::filesystem::exists(b.store() / "machines" / "n1" / "ca-key.pem"));
}

TEST_CASE("a schema 1 store (client files beside the CA key) loads, migrates and env names certs/", "[cli]") {
    Berth b;
    b.create_n1();
    // Turn it into what berth with schema 1 left: every file in the machine's directory.
    const auto mdir = b.store() / "machines" / "n1";
    for (const char* f : {"ca.pem", "cert.pem", "key.pem"}) std::filesystem::rename(mdir / "certs" / f, mdir / f);
    std::filesystem::remove(mdir / "certs");
    auto record = nlohmann::json::parse(berth::read_file(mdir / "machine.json").value());
    record["schema_version"] = 1;
    berth::test::write_text(mdir / "machine.json", record.dump(2));

    auto r = b.run({"env", "--shell", "bash", "n1"});
    INFO(r.err);
    CHECK(r.exit_status == 0);
    CHECK(r.out.find("DOCKER_CERT_PATH=\"" + (mdir / "certs").string() + "\"") != std::string::npos);
    CHECK(nlohmann::json::parse(berth::read_file(mdir / "machine.json").value())["schema_version"] == 2);
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(mdir / "certs")) files.push_back(e.path().filename().string());
    std::sort(files.begin(), files.end());
    CHECK(files == std::vector<std::string>{"ca.pem", "cert.pem", "key.pem"});
    CHECK(berth::test::file_mode(mdir / "certs") == 0700);
    CHECK(berth::test::file_mode(mdir / "certs" / "key.pem") == 0600);
    CHECK(std::filesystem::exists(mdir / "ca-key.pem"));
    CHECK_FALSE(std::filesystem::exists(mdir / "key.pem"));
    CHECK(b.run({"config", "n1"}).out.find((mdir / "certs" / "ca.pem").string()) != std::string::npos);

    // A record of a newer schema is still refused.
    record["schema_version"] = 3;
    berth::test::write_text(mdir / "machine.json", record.dump(2));
    auto newer = b.run({"env", "n1"});
    CHECK(newer.exit_status == 1);
    CHECK(newer.err.find("newer berth") != std::string::npos);
}

TEST_CASE("env through the binary matches the golden output of every shell", "[cli]") {
    Berth b;
    b.create_n1();
    for (const char* shell : {"bash", "zsh", "fish", "powershell", "cmd", "tcsh", "emacs"}) {
        for (bool unset : {false, true}) {
            for (bool no_proxy : {false, true}) {
                std::vector<std::string> args = {"env", "--shell", shell};
                if (unset) args.push_back("-u");
                if (no_proxy) args.push_back("--no-proxy");
                if (!unset) args.push_back("n1");
                const std::string file = std::string(shell) + (unset ? "-unset" : "-set") +
                                         (no_proxy ? "-noproxy" : "") + ".txt";
                CAPTURE(file);
                b.env["NO_PROXY"] = "localhost,example.com";
                auto r = b.run(args);
                CHECK(r.exit_status == 0);
                CHECK(r.out == golden(file, b.store().string()));
            }
        }
    }
}

TEST_CASE("env finds the shell in $SHELL and says so when it cannot", "[cli]") {
    Berth b;
    b.create_n1();
    b.env["SHELL"] = "/usr/bin/fish";
    auto fish = b.run({"env", "n1"});
    CHECK(fish.exit_status == 0);
    CHECK(fish.out.starts_with("set -gx DOCKER_TLS_VERIFY \"1\";\n"));
    b.env["SHELL"] = "";
    auto none = b.run({"env", "n1"});
    CHECK(none.exit_status == 1);
    CHECK(none.out.empty());
    CHECK(none.err == "berth: error: cannot detect your shell: $SHELL is not set; pass --shell "
                      "bash|zsh|fish|powershell|cmd|tcsh|emacs\n");
}

TEST_CASE("env output works when evaled by a real shell", "[cli]") {
    Berth b;
    b.create_n1();
    Command c;
    c.argv = {"bash", "-c", "eval \"$(berth env --shell bash n1)\" && echo \"$DOCKER_HOST|$DOCKER_MACHINE_NAME|$DOCKER_TLS_VERIFY\""};
    c.env_set = b.env;
    ProcessRunner runner;
    auto r = runner.run(c);
    REQUIRE(r);
    CHECK(r->out == "tcp://10.1.2.3:2376|n1|1\n");
}

TEST_CASE("ls shows the table - filters - formats - names and JSON", "[cli]") {
    Berth b;
    b.create_n1();
    REQUIRE(b.run({"create", "-d", "none", "--url", "tcp://10.1.2.4:2376", "--engine-label", "team=b", "n2"})
                .exit_status == 0);

    auto table = b.run({"ls"});
    CHECK(table.exit_status == 0);
    CHECK(table.out ==
          "NAME   ACTIVE   DRIVER   STATE     URL                   DOCKER    ERRORS\n"
          "n1     -        none     Running   tcp://10.1.2.3:2376   Unknown   \n"
          "n2     -        none     Running   tcp://10.1.2.4:2376   Unknown   \n");

    b.env["DOCKER_HOST"] = "tcp://10.1.2.4:2376";
    auto active = b.run({"ls", "--format", "{{.Name}} {{.Active}}"});
    CHECK(active.out == "n1 -\nn2 *\n");
    CHECK(b.run({"active"}).out == "n2\n");
    b.env.erase("DOCKER_HOST");

    CHECK(b.run({"ls", "-q"}).out == "n1\nn2\n");
    CHECK(b.run({"ls", "-q", "--filter", "label=team=b"}).out == "n2\n");
    CHECK(b.run({"ls", "-q", "--filter", "name=^n1$"}).out == "n1\n");
    CHECK(b.run({"ls", "-q", "--filter", "name=1", "--filter", "name=2"}).out == "n1\nn2\n");
    CHECK(b.run({"ls", "-q", "--filter", "driver=none", "--filter", "state=stopped"}).out.empty());
    CHECK(b.run({"ls", "-q", "--filter", "state=Running"}).out == "n1\nn2\n");
    CHECK(b.run({"ls", "--format", "table {{.Name}}\\t{{.URL}}"}).out ==
          "NAME   URL\nn1     tcp://10.1.2.3:2376\nn2     tcp://10.1.2.4:2376\n");

    auto json = b.run({"ls", "--json"});
    CHECK(json.exit_status == 0);
    auto parsed = nlohmann::json::parse(json.out);
    REQUIRE(parsed.size() == 2);
    CHECK(parsed[1]["Name"] == "n2");
    CHECK(parsed[1]["Labels"] == "team=b");
    CHECK(parsed[0]["URL"] == "tcp://10.1.2.3:2376");

    auto bad = b.run({"ls", "--filter", "color=red"});
    CHECK(bad.exit_status == 2);
    CHECK(count_lines(bad.err) == 1);
    CHECK(bad.err.find("unsupported filter key \"color\"") != std::string::npos);
    auto badfmt = b.run({"ls", "--format", "{{.Nope}}"});
    CHECK(badfmt.exit_status == 2);
    CHECK(badfmt.err.find("Nope") != std::string::npos);
}

TEST_CASE("inspect - ip - url - config and status read the record", "[cli]") {
    Berth b;
    b.create_n1();
    auto inspect = b.run({"inspect", "n1"});
    CHECK(inspect.exit_status == 0);
    auto j = nlohmann::json::parse(inspect.out);
    CHECK(j["name"] == "n1");
    CHECK(j["driver_name"] == "none");
    CHECK(j["schema_version"] == 2);
    CHECK(inspect.out.find("PRIVATE KEY") == std::string::npos);
    CHECK(inspect.out.find("BEGIN") == std::string::npos);
    CHECK(b.run({"inspect", "--format", "{{.Driver.URL}}", "n1"}).out == "tcp://10.1.2.3:2376\n");

    CHECK(b.run({"ip", "n1"}).out == "10.1.2.3\n");
    CHECK(b.run({"url", "n1"}).out == "tcp://10.1.2.3:2376\n");
    CHECK(b.run({"status", "n1"}).out == "Running\n");
    const std::string dir = (b.store() / "machines" / "n1" / "certs").string();
    CHECK(b.run({"config", "n1"}).out == "--tlsverify\n--tlscacert=\"" + dir + "/ca.pem\"\n--tlscert=\"" + dir +
                                             "/cert.pem\"\n--tlskey=\"" + dir + "/key.pem\"\n-H=tcp://10.1.2.3:2376\n");
}

TEST_CASE("rm asks - -y does not - and the machine is gone", "[cli]") {
    Berth b;
    b.create_n1();
    auto no = b.run({"rm", "n1"}, "n\n");
    CHECK(no.exit_status == 1);
    CHECK(no.err.find("Are you sure? (y/n)") != std::string::npos);
    CHECK(std::filesystem::exists(b.store() / "machines" / "n1"));

    auto eof = b.run({"rm", "n1"}, "");
    CHECK(eof.exit_status == 1);
    CHECK(eof.err.find("pass -y") != std::string::npos);

    auto yes = b.run({"rm", "n1"}, "y\n");
    CHECK(yes.exit_status == 0);
    CHECK(yes.out == "Successfully removed n1\n");
    CHECK(yes.err.find("n1: the host 10.1.2.3 was not touched") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(b.store() / "machines" / "n1"));

    b.create_n1();
    CHECK(b.run({"rm", "-y", "n1"}).exit_status == 0);
    CHECK(b.run({"ls", "-q"}).out.empty());
}

TEST_CASE("errors are one clear line with a documented exit code", "[cli]") {
    Berth b;
    auto unknown = b.run({"env", "--shell", "bash", "ghost"});
    CHECK(unknown.exit_status == 1);
    CHECK(unknown.err == "berth: error: no machine named \"ghost\" in " + b.store().string() +
                             "; `berth ls` lists the machines\n");

    auto bad_name = b.run({"create", "-d", "none", "--url", "tcp://1.2.3.4:2376", "bad_name"});
    CHECK(bad_name.exit_status == 2);
    CHECK(count_lines(bad_name.err) == 1);
    CHECK(bad_name.err.find("invalid machine name \"bad_name\"") != std::string::npos);

    auto bad_flag = b.run({"ls", "--bogus"});
    CHECK(bad_flag.exit_status == 2);
    CHECK(count_lines(bad_flag.err) == 1);
    CHECK(bad_flag.err.find("--bogus") != std::string::npos);

    auto bad_verb = b.run({"frobnicate"});
    CHECK(bad_verb.exit_status == 2);
    CHECK(count_lines(bad_verb.err) == 1);
    CHECK(bad_verb.err.find("frobnicate") != std::string::npos);

    auto bad_url = b.run({"create", "-d", "none", "--url", "10.1.2.3:2376", "n1"});
    CHECK(bad_url.exit_status == 2);
    CHECK(bad_url.err.find("tcp://HOST:PORT") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(b.store() / "machines" / "n1"));

    // A typo in a --templates-dir is found before anything is made.
    std::filesystem::create_directories(b.dir / "tpl");
    berth::test::write_text(b.dir / "tpl" / "daemon.jsn.mustache", "{}");
    auto bad_templates = b.run({"create", "-d", "none", "--url", "tcp://1.2.3.4:2376", "--templates-dir",
                                (b.dir / "tpl").string(), "n1"});
    CHECK(bad_templates.exit_status == 2);
    CHECK(count_lines(bad_templates.err) == 1);
    CHECK(bad_templates.err.find("daemon.jsn.mustache") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(b.store() / "machines" / "n1"));

    auto other_driver_flag = b.run({"create", "-d", "none", "--url", "tcp://1.2.3.4:2376", "--shell", "x", "n1"});
    CHECK(other_driver_flag.exit_status == 2);

    b.create_n1();
    auto twice = b.run({"create", "-d", "none", "--url", "tcp://10.1.2.3:2376", "n1"});
    CHECK(twice.exit_status == 1);
    CHECK(twice.err.find("already exists") != std::string::npos);

    auto stop = b.run({"stop", "n1"});
    CHECK(stop.exit_status == 1);
    CHECK(stop.err.find("none driver") != std::string::npos);
}

TEST_CASE("image build refuses what it cannot build and says what to do instead", "[cli]") {
    Berth b;
    auto r = b.run({"image", "build", "ubuntu-24.04"});
    CHECK(r.exit_status == 2);
    CHECK(r.err.find("berth can build debian-11 and debian-12, not \"ubuntu-24.04\"") != std::string::npos);
    CHECK(r.err.find("pull their cloud image") != std::string::npos);
}

TEST_CASE("help lists every docker-machine verb - --version names the build", "[cli]") {
    Berth b;
    auto help = b.run({"--help"});
    CHECK(help.exit_status == 0);
    for (const char* verb : {"create", "ls", "env", "ssh", "ssh-config", "scp", "start", "stop", "restart", "kill", "rm",
                             "inspect", "ip", "url", "config", "status", "active", "provision",
                             "regenerate-certs", "upgrade", "version"}) {
        CAPTURE(verb);
        CHECK(help.out.find("\n  " + std::string(verb) + " ") != std::string::npos);
    }
    auto version = b.run({"--version"});
    CHECK(version.exit_status == 0);
    CHECK(version.out.starts_with("berth version 0.1.0, build "));
    CHECK(b.run({"version"}).out == version.out);
}

TEST_CASE("repeatable flags take one value each and never swallow the machine name", "[cli]") {
    Berth b;
    auto r = b.run({"create", "-d", "none", "--url", "tcp://10.1.2.3:2376", "--engine-label", "a=b",
                    "--engine-label", "c=d", "--tls-san", "x.example", "n5"});
    REQUIRE(r.exit_status == 0);
    CHECK(b.run({"inspect", "-f", "{{json .Engine.Labels}} {{json .Tls.Sans}}", "n5"}).out ==
          "[\"a=b\",\"c=d\"] [\"127.0.0.1\",\"localhost\",\"10.1.2.3\",\"x.example\"]\n");
    auto extra = b.run({"create", "-d", "none", "--url", "tcp://10.1.2.3:2376", "--engine-label", "a=b", "c=d", "n6"});
    CHECK(extra.exit_status == 2);
    CHECK_FALSE(std::filesystem::exists(b.store() / "machines" / "c=d"));
    CHECK_FALSE(std::filesystem::exists(b.store() / "machines" / "n6"));
}

TEST_CASE("global option -s/--storage-path chooses the store", "[cli]") {
    Berth b;
    const std::string other = (b.dir / "elsewhere").string();
    REQUIRE(b.run({"-s", other, "create", "-d", "none", "--url", "tcp://10.1.2.3:2376", "x1"}).exit_status == 0);
    CHECK(std::filesystem::exists(std::filesystem::path(other) / "machines" / "x1" / "machine.json"));
    CHECK(b.run({"ls", "-q"}).out.empty());
    CHECK(b.run({"--storage-path", other, "ls", "-q"}).out == "x1\n");
}

// --- ssh and scp through the real binary, against a real sshd -------------------------------------
// The machine's record is written directly (create -d generic would provision this very host).

#include "generic_machine.h"

namespace {

void make_generic_machine(Berth& b, const berth::test::SshdFixture& sshd, const std::string& name) {
    berth::test::make_generic_machine(b.store(), sshd, name);
}

}  // namespace

TEST_CASE("ssh runs a command with the pinned host key and passes its exit status", "[cli][ssh]") {
    berth::test::SshdFixture sshd;
    Berth b;
    make_generic_machine(b, sshd, "g1");
    auto hi = b.run({"ssh", "g1", "--", "echo", "hello from", "$(hostname)"});
    CHECK(hi.exit_status == 0);
    CHECK(hi.out.starts_with("hello from "));
    CHECK(b.run({"ssh", "g1", "--", "exit", "7"}).exit_status == 7);

    sshd.restart_with_new_host_key();
    auto changed = b.run({"ssh", "g1", "--", "true"});
    CHECK(changed.exit_status != 0);
    CHECK(changed.err.find("REMOTE HOST IDENTIFICATION HAS CHANGED") != std::string::npos);

    auto none = b.run({"ssh", "ghost", "--", "true"});
    CHECK(none.exit_status == 1);
    CHECK(none.err.find("no machine named \"ghost\"") != std::string::npos);
}

TEST_CASE("ssh finds the machine's key at a new address: OpenSSH looks it up by HostKeyAlias", "[cli][ssh]") {
    berth::test::SshdFixture sshd;
    Berth b;
    make_generic_machine(b, sshd, "g1");
    Store store(b.store());
    auto record = store.load("g1").value();
    record.driver["ip_address"] = "127.0.0.2";
    REQUIRE(store.save(record));
    auto moved = b.run({"ssh", "g1", "--", "echo", "moved"});
    INFO(moved.err);
    CHECK(moved.exit_status == 0);
    CHECK(moved.out == "moved\n");

    // A file pinned by address (older berth) is moved to the alias, and still works.
    std::istringstream words(sshd.host_key_line());
    std::string type, blob;
    words >> type >> blob;
    berth::test::write_text(store.machine_file("g1", "known_hosts"),
                            "[127.0.0.2]:" + std::to_string(sshd.port()) + " " + type + " " + blob + "\n");
    CHECK(b.run({"ssh", "g1", "--", "true"}).exit_status == 0);
    CHECK(berth::read_file(store.machine_file("g1", "known_hosts")).value() == "berth-g1 " + type + " " + blob + "\n");
}

TEST_CASE("ssh-config prints a block plain ssh reaches the machine with - a changed host key is refused",
          "[cli][ssh]") {
    berth::test::SshdFixture sshd;
    Berth b;
    make_generic_machine(b, sshd, "g1");
    auto printed = b.run({"ssh-config", "g1"});
    INFO(printed.err);
    REQUIRE(printed.exit_status == 0);
    CHECK(printed.out.starts_with("Host g1\n  HostName 127.0.0.1\n  Port " + std::to_string(sshd.port()) +
                                  "\n  User root\n"));
    CHECK(printed.out.find("  HostKeyAlias berth-g1\n") != std::string::npos);
    CHECK(printed.out.find("  StrictHostKeyChecking yes\n") != std::string::npos);
    const auto config = b.dir / "ssh_config";
    berth::test::write_text(config, printed.out);
    ProcessRunner runner;
    Command ssh;
    ssh.argv = {"ssh", "-F", config.string(), "-o", "BatchMode=yes", "g1", "echo", "plain ssh"};
    ssh.timeout = std::chrono::seconds(30);
    auto r = runner.run(ssh);
    REQUIRE(r);
    INFO(r->err);
    CHECK(r->exit_status == 0);
    CHECK(r->out == "plain ssh\n");
    // The pinned key is the only one taken: a host that now shows another is refused.
    sshd.restart_with_new_host_key();
    auto changed = runner.run(ssh);
    REQUIRE(changed);
    CHECK(changed->exit_status == 255);
    CHECK(changed->err.find("HOST IDENTIFICATION HAS CHANGED") != std::string::npos);
    // A machine that does not exist: an error, and nothing printed for the ones before it.
    auto none = b.run({"ssh-config", "g1", "ghost"});
    CHECK(none.exit_status == 1);
    CHECK(none.out.empty());
    CHECK(none.err.find("ghost") != std::string::npos);
}

TEST_CASE("provision --replace-host-key takes the fingerprint and pins only a key that has it", "[cli][ssh]") {
    berth::test::SshdFixture sshd;
    Berth b;
    make_generic_machine(b, sshd, "g1");
    const std::string old_fp = sshd.host_key_fingerprint();
    sshd.restart_with_new_host_key();
    const std::string new_fp = sshd.host_key_fingerprint();

    auto malformed = b.run({"provision", "--replace-host-key", "yes", "g1"});
    CHECK(malformed.exit_status == 2);
    CHECK(malformed.err.find("is not a host key fingerprint") != std::string::npos);
    auto bare = b.run({"provision", "--replace-host-key", "g1"});
    CHECK(bare.exit_status == 2);  // the flag takes a value; it no longer accepts any key

    auto wrong = b.run({"provision", "--ssh-timeout", "5", "--replace-host-key", old_fp, "g1"});
    CHECK(wrong.exit_status == 1);
    CHECK(wrong.err.find(new_fp + ", not " + old_fp) != std::string::npos);
    CHECK(b.run({"ssh", "g1", "--", "true"}).exit_status != 0);

    // The right one pins the key; the plan then stops at the missing templates directory, so this
    // host is not provisioned.
    auto right = b.run({"provision", "--ssh-timeout", "5", "--replace-host-key", new_fp, "--templates-dir",
                        (b.dir / "no-such-dir").string(), "g1"});
    INFO(right.err);
    CHECK(right.exit_status == 2);
    CHECK(right.err.find("is not a directory") != std::string::npos);
    CHECK(b.run({"ssh", "g1", "--", "true"}).exit_status == 0);
}

TEST_CASE("scp copies to - from - and recursively with the machine's key", "[cli][ssh]") {
    berth::test::SshdFixture sshd;
    Berth b;
    make_generic_machine(b, sshd, "g1");
    const auto local = b.dir / "local.txt";
    berth::test::write_text(local, "payload\n");
    const auto remote_dir = b.dir / "remote";
    std::filesystem::create_directories(remote_dir);

    auto up = b.run({"scp", local.string(), "g1:" + (remote_dir / "copy.txt").string()});
    INFO(up.err);
    CHECK(up.exit_status == 0);
    CHECK(berth::read_file(remote_dir / "copy.txt").value() == "payload\n");

    auto down = b.run({"scp", "g1:" + (remote_dir / "copy.txt").string(), (b.dir / "back.txt").string()});
    CHECK(down.exit_status == 0);
    CHECK(berth::read_file(b.dir / "back.txt").value() == "payload\n");

    berth::test::write_text(b.dir / "tree" / "a" / "b.txt", "deep\n");
    auto tree = b.run({"scp", "-r", (b.dir / "tree").string(), "g1:" + (remote_dir / "tree").string()});
    CHECK(tree.exit_status == 0);
    CHECK(berth::read_file(remote_dir / "tree" / "a" / "b.txt").value() == "deep\n");

    auto local_only = b.run({"scp", local.string(), (b.dir / "x.txt").string()});
    CHECK(local_only.exit_status == 2);
    CHECK(local_only.err.find("neither path names a machine") != std::string::npos);
    // The private ssh_config is gone after the copy.
    for (const auto& e : std::filesystem::directory_iterator(b.store()))
        CHECK(e.path().filename().string().find("scp-config") == std::string::npos);
}

TEST_CASE("provision refuses a host whose SSH key changed - before it runs anything", "[cli][ssh]") {
    berth::test::SshdFixture sshd;
    Berth b;
    make_generic_machine(b, sshd, "g1");
    sshd.restart_with_new_host_key();
    auto r = b.run({"provision", "--ssh-timeout", "5", "g1"});
    CHECK(r.exit_status == 1);
    CHECK(r.err.find("has CHANGED") != std::string::npos);
    CHECK(r.err.find("--replace-host-key") != std::string::npos);

    b.create_n1();
    auto none = b.run({"provision", "n1"});
    CHECK(none.exit_status == 1);
    CHECK(none.err.find("cannot reach over SSH") != std::string::npos);
}

// --- hostile stores and -s (issue 10 items 12, 13, 15) -------------------------------------------

#include <sys/stat.h>

TEST_CASE("storage path: -s on a non-empty directory that is not a store is refused - its mode stays", "[cli]") {
    Berth b;
    const auto home = b.dir / "home";
    berth::test::write_text(home / "notes.txt", "mine");
    ::chmod(home.c_str(), 01777);  // as /tmp is
    auto r = b.run({"-s", home.string(), "create", "-d", "none", "--url", "tcp://10.1.2.3:2376", "x1"});
    CHECK(r.exit_status == 2);
    CHECK(count_lines(r.err) == 1);
    CHECK(r.err.find("is not empty and is not a berth store") != std::string::npos);
    CHECK(berth::test::file_mode(home) == 01777);
    CHECK_FALSE(std::filesystem::exists(home / "machines"));
    CHECK_FALSE(std::filesystem::exists(home / "locks"));
    // Readers leave it alone too.
    CHECK(b.run({"-s", home.string(), "ls", "-q"}).exit_status == 0);
    CHECK(berth::test::file_mode(home) == 01777);
}

TEST_CASE("storage path: -s on an empty directory or a new path makes a store - an old store keeps working", "[cli]") {
    Berth b;
    const auto empty = b.dir / "empty";
    std::filesystem::create_directory(empty);
    ::chmod(empty.c_str(), 0755);
    auto in_empty = b.run({"-s", empty.string(), "create", "-d", "none", "--url", "tcp://10.1.2.3:2376", "x1"});
    INFO(in_empty.err);
    CHECK(in_empty.exit_status == 0);
    CHECK(berth::test::file_mode(empty) == 0755);  // berth did not make it: not berth's to change
    CHECK(berth::test::file_mode(empty / "machines") == 0700);
    CHECK(b.run({"-s", empty.string(), "ls", "-q"}).out == "x1\n");

    const auto fresh = b.dir / "new" / "store";
    CHECK(b.run({"-s", fresh.string(), "create", "-d", "none", "--url", "tcp://10.1.2.3:2376", "x2"}).exit_status == 0);
    CHECK(berth::test::file_mode(fresh) == 0700);

    // A store as today's berth lays it out, with a stray file of its own at the top.
    b.create_n1();
    berth::test::write_text(b.store() / "scp-config.99999", "left over");
    auto second = b.run({"create", "-d", "none", "--url", "tcp://10.1.2.4:2376", "n2"});
    INFO(second.err);
    CHECK(second.exit_status == 0);
    CHECK(b.run({"ls", "-q"}).out == "n1\nn2\n");
}

TEST_CASE("ls lists past a symlink loop - a file and an unreadable directory in machines/", "[cli]") {
    Berth b;
    b.create_n1();
    const auto machines = b.store() / "machines";
    std::filesystem::create_directory_symlink(machines / "loop", machines / "loop");
    berth::test::write_text(machines / "n2", "not a machine");
    std::filesystem::create_directory(machines / "n3");
    ::chmod((machines / "n3").c_str(), 0);
    auto r = b.run({"ls", "-q"});
    ::chmod((machines / "n3").c_str(), 0700);
    INFO(r.err);
    CHECK(r.exit_status == 0);
    CHECK(r.out == "n1\nn3\n");
    CHECK(r.err.find("terminate") == std::string::npos);
    auto table = b.run({"ls"});
    CHECK(table.exit_status == 0);
    CHECK(table.out.find("n1") != std::string::npos);
}

TEST_CASE("rm of one name that fails prints its error once", "[cli]") {
    Berth b;
    auto r = b.run({"rm", "-y", "ghost"});
    CHECK(r.exit_status == 1);
    CHECK(r.err == "berth: error: no machine named \"ghost\" in " + b.store().string() +
                       "; `berth ls` lists the machines\n");
    b.create_n1();
    auto two = b.run({"rm", "-y", "ghost", "n1"});
    CHECK(two.exit_status == 1);
    CHECK(two.out == "Successfully removed n1\n");
    CHECK(two.err.find("no machine named \"ghost\"") != std::string::npos);
    CHECK(two.err.find("some machines were not removed") != std::string::npos);
}

TEST_CASE("engine options berth owns and bad TLS flags are usage errors - nothing is made", "[cli][engine-opt]") {
    Berth b;
    auto refused = [&](std::vector<std::string> flags, const std::string& needle) {
        std::vector<std::string> args = {"create", "-d", "none", "--url", "tcp://10.1.2.3:2376"};
        args.insert(args.end(), flags.begin(), flags.end());
        args.push_back("n1");
        auto r = b.run(args);
        CAPTURE(flags, r.err);
        CHECK(r.exit_status == 2);
        CHECK(count_lines(r.err) == 1);
        CHECK(r.err.find(needle) != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(b.store() / "machines" / "n1"));
    };
    refused({"--engine-opt", "tlsverify=false"}, "berth sets the Docker API's listeners and TLS itself");
    refused({"--engine-opt", "tlscacert=/etc/ssl/certs/ca-certificates.crt"}, "is refused");
    refused({"--engine-opt", "hosts=tcp://0.0.0.0:2375"}, "is refused");
    refused({"--insecure-engine-opt", "tls=false"}, "is refused");
    refused({"--engine-opt", "icc=true"}, "--insecure-engine-opt icc=true");
    refused({"--insecure-engine-opt", "debug=true"}, "does not weaken the hardening");
    refused({"--engine-opt", "debug"}, "key=value");
    refused({"--engine-label", "team"}, "key=value");
    refused({"--tls-san", "*.example.com"}, "wildcard");
    refused({"--tls-san", "bad host"}, "neither an IP address nor a DNS name");
    refused({"--tls-ca-days", "3651"}, "more than 3650 days");
    refused({"--tls-cert-days", "826"}, "more than 825 days");
}

TEST_CASE("an --insecure-engine-opt machine is named as weakened by ls and inspect", "[cli][engine-opt]") {
    Berth b;
    b.create_n1();
    auto made = b.run({"create", "-d", "none", "--url", "tcp://10.1.2.4:2376", "--insecure-engine-opt", "icc=true",
                       "--engine-insecure-registry", "10.0.0.9:5000", "n2"});
    INFO(made.err);
    REQUIRE(made.exit_status == 0);

    auto table = b.run({"ls"});
    CHECK(table.out ==
          "NAME   ACTIVE   DRIVER   STATE     URL                   DOCKER    ERRORS\n"
          "n1     -        none     Running   tcp://10.1.2.3:2376   Unknown   \n"
          "n2     -        none     Running   tcp://10.1.2.4:2376   Unknown   weakened: icc=true, "
          "insecure-registry=10.0.0.9:5000\n");
    CHECK(b.run({"ls", "--format", "{{.Name}}:{{.Error}}:{{.Weakened}}"}).out ==
          "n1::\nn2::icc=true, insecure-registry=10.0.0.9:5000\n");

    auto inspect = b.run({"inspect", "n2"});
    REQUIRE(inspect.exit_status == 0);
    auto j = nlohmann::json::parse(inspect.out);
    CHECK(j["engine"]["insecure_opts"] == nlohmann::json{"icc=true"});
    REQUIRE(j["weakened"].size() == 2);
    CHECK(j["weakened"][0].get<std::string>().starts_with("icc=true: containers on the default bridge"));
    CHECK_FALSE(nlohmann::json::parse(b.run({"inspect", "n1"}).out).contains("weakened"));
}
