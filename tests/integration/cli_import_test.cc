// berth import through the real binary: a docker-machine 0.16 store written in the test as
// docker-machine writes one (tests/fakes/docker_machine_store.h), its generic machine pointing at
// the loopback sshd, its virtualbox machine in the VBoxManage simulator. Checks ls, inspect, env,
// audit and that the source store is unchanged to the byte and the nanosecond.

#include <berth/process/runner.h>
#include <berth/store/store.h>

#include "../fakes/docker_machine_store.h"
#include "berth_cli.h"
#include "sshd_fixture.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

using namespace berth;
using berth::test::DockerMachineStore;

namespace {

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    REQUIRE(in.good());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// The berth binary with the VBoxManage simulator first on PATH, as cli_virtualbox_test.cc runs it.
struct ImportCli : test::BerthCli {
    ImportCli() {
        env["PATH"] = std::string(BERTH_TESTS_DIR) + "/fakes:" + env["PATH"];
        env["VBOXMANAGE_SIM_STATE"] = (dir / "vbox.json").string();
        env["VBOXMANAGE_SIM_MACHINE_FOLDER"] = (dir / "vms").string();
        env["VBOXMANAGE_SIM_GUEST_IP"] = "192.168.99.100";
        env["HOME"] = (dir / "home").string();
    }
    std::string vbox(std::vector<std::string> args) {
        Command c;
        c.argv = {std::string(BERTH_TESTS_DIR) + "/fakes/VBoxManage"};
        c.argv.insert(c.argv.end(), args.begin(), args.end());
        c.env_set = env;
        ProcessRunner runner;
        auto r = runner.run(c);
        REQUIRE(r);
        INFO(r->err);
        REQUIRE(r->exit_status == 0);
        return r->out;
    }
    nlohmann::json inspect(const std::string& name) {
        auto r = run({"inspect", name});
        INFO(r.err);
        REQUIRE(r.exit_status == 0);
        return nlohmann::json::parse(r.out);
    }
};

}  // namespace

TEST_CASE("import of a generic machine: ls - inspect - env as docker-machine's - audit fails - source unchanged",
          "[cli][import]") {
    test::SshdFixture sshd;
    ImportCli b;
    DockerMachineStore dm(b.dir / "machine");
    dm.add_generic("gen1", "127.0.0.1", sshd.port(), sshd.client_key());
    const std::string before = test::tree_snapshot(dm.root());

    auto r = b.run({"import", "--from", dm.root().string()});
    INFO(r.err);
    REQUIRE(r.exit_status == 0);
    CHECK(has(r.out, "Imported gen1 (generic), not hardened"));

    auto ls = b.run({"ls"});
    INFO(ls.out);
    CHECK(has(ls.out, "gen1"));
    CHECK(has(ls.out, "tcp://127.0.0.1:2376"));
    CHECK(has(ls.out, "not hardened (imported)"));

    auto record = b.inspect("gen1");
    CHECK(record["driver_name"] == "generic");
    CHECK(record["imported"]["tool"] == "docker-machine");
    CHECK(record["imported"]["hardened"] == false);
    CHECK(record["imported"]["from"] == (dm.root() / "machines/gen1").string());
    CHECK(record["driver"]["ip_address"] == "127.0.0.1");
    CHECK(record["driver"]["ssh_port"] == sshd.port());
    CHECK(record["driver"]["ssh_user"] == "root");
    CHECK(record["engine"]["install"] == "docker-ce");
    CHECK(record["tls"]["ca_fingerprint"] == test::openssl_fingerprint(dm.root() / "certs/ca.pem"));

    // env points the docker CLI at docker-machine's certificates, copied with berth's modes.
    auto env = b.run({"env", "gen1"});
    INFO(env.err);
    REQUIRE(env.exit_status == 0);
    Store store(b.store());
    CHECK(has(env.out, "export DOCKER_HOST=\"tcp://127.0.0.1:2376\""));
    CHECK(has(env.out, "export DOCKER_CERT_PATH=\"" + store.cert_dir("gen1").string() + "\""));
    for (const char* f : {"ca.pem", "cert.pem", "key.pem"})
        CHECK(slurp(store.cert_dir("gen1") / f) == slurp(dm.machine_dir("gen1") / f));
    CHECK(test::file_mode(store.machine_file("gen1", "key.pem")) == 0600);
    CHECK(slurp(store.machine_file("gen1", "server.pem")) == slurp(dm.machine_dir("gen1") / "server.pem"));
    CHECK(test::file_mode(store.machine_file("gen1", "server-key.pem")) == 0600);
    CHECK(slurp(store.machine_file("gen1", "ssh-key")) == slurp(dm.machine_dir("gen1") / "id_rsa"));
    CHECK(test::file_mode(store.machine_file("gen1", "ssh-key")) == 0600);
    // docker-machine's CA key is shared by all its machines: berth does not copy it.
    CHECK(!std::filesystem::exists(store.machine_file("gen1", "ca-key.pem")));

    auto audit = b.run({"audit", "gen1"});
    CHECK(audit.exit_status == 1);
    CHECK(has(audit.out + audit.err, "berth.imported"));
    CHECK(has(audit.out + audit.err, "imported from docker-machine, not hardened yet"));
    CHECK(has(audit.out + audit.err, "berth provision gen1"));
    auto regen = b.run({"regenerate-certs", "-f", "gen1"});
    CHECK(regen.exit_status == 1);
    CHECK(has(regen.err, "berth provision gen1"));

    // Again: the name is taken; nothing changes on either side.
    const std::string record_before = slurp(store.machine_file("gen1", "machine.json"));
    auto again = b.run({"import", "--from", dm.root().string(), "gen1"});
    CHECK(again.exit_status == 1);
    CHECK(has(again.err, "machine \"gen1\" already exists"));
    CHECK(slurp(store.machine_file("gen1", "machine.json")) == record_before);

    CHECK(test::tree_snapshot(dm.root()) == before);
}

TEST_CASE("import --provision pins the host key at first contact and puts docker-machine's CA back when it stops",
          "[cli][import]") {
    test::SshdFixture sshd;
    ImportCli b;
    DockerMachineStore dm(b.dir / "machine");
    dm.add_generic("gen1", "127.0.0.1", sshd.port(), sshd.client_key());
    const std::string before = test::tree_snapshot(dm.root());
    // The provision connects, pins the key and then stops at the missing templates: this host
    // (the test's own) is never provisioned, and no Docker is needed.
    auto r = b.run({"import", "--from", dm.root().string(), "--provision", "--ssh-timeout", "5", "--templates-dir",
                    (b.dir / "no-such-dir").string(), "gen1"});
    INFO(r.err);
    CHECK(r.exit_status == 2);
    CHECK(has(r.err, "imported gen1, but its provision failed"));
    CHECK(has(r.err, "is not a directory"));
    Store store(b.store());
    const auto known_hosts = slurp(store.machine_file("gen1", "known_hosts"));
    CHECK(has(known_hosts, sshd.host_key_line().substr(0, sshd.host_key_line().rfind(' '))));
    auto record = b.inspect("gen1");
    CHECK(record["imported"]["hardened"] == false);
    CHECK(record["tls"]["ca_fingerprint"] == test::openssl_fingerprint(dm.root() / "certs/ca.pem"));
    CHECK(slurp(store.machine_file("gen1", "ca.pem")) == slurp(dm.machine_dir("gen1") / "ca.pem"));
    CHECK(!std::filesystem::exists(store.machine_file("gen1", "ca-key.pem")));
    CHECK(b.run({"ssh", "gen1", "--", "true"}).exit_status == 0);  // the pinned key lets berth in
    CHECK(test::tree_snapshot(dm.root()) == before);
}

TEST_CASE("import of a virtualbox machine from a moved store: its VM found by name - env on its host-only address",
          "[cli][import][virtualbox]") {
    ImportCli b;
    {
        DockerMachineStore dm(b.dir / "old-machine");
        dm.add_virtualbox("vb1", "192.168.99.100", 40123);
        dm.add_generic("gen2", "10.0.0.9", 22, dm.root() / "certs/key.pem");
        // The docker-machine VM: named as the machine, a NAT forward for SSH, a host-only NIC.
        b.vbox({"hostonlyif", "create"});
        b.vbox({"createvm", "--name", "vb1", "--basefolder", dm.machine_dir("vb1").string(), "--register"});
        b.vbox({"modifyvm", "vb1", "--nic1", "nat", "--nic2", "hostonly", "--hostonlyadapter2", "vboxnet0", "--natpf1",
                "ssh,tcp,127.0.0.1,40123,,22"});
        b.vbox({"startvm", "vb1", "--type", "headless"});
    }
    std::filesystem::rename(b.dir / "old-machine", b.dir / "machine");
    const auto from = b.dir / "machine";
    const std::string before = test::tree_snapshot(from);
    const std::string uuid = [&] {
        auto out = b.vbox({"showvminfo", "vb1", "--machinereadable"});
        auto at = out.find("UUID=\"");
        REQUIRE(at != std::string::npos);
        return out.substr(at + 6, 36);
    }();

    auto r = b.run({"import", "--from", from.string(), "vb1"});
    INFO(r.err);
    REQUIRE(r.exit_status == 0);
    CHECK(has(r.out, "Imported vb1 (virtualbox), not hardened"));
    CHECK(!std::filesystem::exists(Store(b.store()).machine_dir("gen2")));  // only the one named

    auto record = b.inspect("vb1");
    CHECK(record["driver"]["uuid"] == uuid);
    CHECK(record["driver"]["ssh_port"] == 40123);
    CHECK(record["driver"]["docker_port"] == 0);
    CHECK(record["driver"]["hostonly"] == true);
    CHECK(record["driver"]["memory"] == 2048);
    CHECK(record["driver"]["cpu_count"] == 2);
    CHECK(record["driver"]["ssh_user"] == "docker");
    CHECK(record["imported"]["from"] == (from / "machines/vb1").string());

    auto ls = b.run({"ls"});
    INFO(ls.out << ls.err);
    CHECK(has(ls.out, "Running"));
    CHECK(has(ls.out, "not hardened (imported)"));
    auto env = b.run({"env", "vb1"});
    INFO(env.err);
    REQUIRE(env.exit_status == 0);
    CHECK(has(env.out, "export DOCKER_HOST=\"tcp://192.168.99.100:2376\""));
    Store store(b.store());
    // The VM's key, where the virtualbox driver keeps it (the name it gives every VM's key).
    CHECK(slurp(store.machine_file("vb1", "id_ed25519")) == slurp(from / "machines/vb1/id_rsa"));
    CHECK(test::file_mode(store.machine_file("vb1", "id_ed25519")) == 0600);
    CHECK(test::tree_snapshot(from) == before);
}

TEST_CASE("import refuses what it cannot take - each machine's error names it - nothing is written",
          "[cli][import]") {
    ImportCli b;
    DockerMachineStore dm(b.dir / "machine");
    auto config = dm.add_generic("aws1", "10.0.0.7", 22, dm.root() / "certs/key.pem");
    config["DriverName"] = "amazonec2";
    dm.write_config("aws1", config);
    auto hostile = dm.add_generic("bad1", "10.0.0.8", 22, dm.root() / "certs/key.pem");
    hostile["Driver"]["SSHUser"] = "-oProxyCommand=touch /tmp/pwned";
    dm.write_config("bad1", hostile);
    dm.add_generic("ok1", "10.0.0.9", 22, dm.root() / "certs/key.pem");
    const std::string before = test::tree_snapshot(dm.root());

    auto r = b.run({"import", "--from", dm.root().string()});
    INFO(r.err);
    CHECK(r.exit_status == 1);
    CHECK(has(r.err, "machine aws1 uses docker-machine's \"amazonec2\" driver, which berth cannot import"));
    CHECK(has(r.err, "SSHUser"));
    CHECK(has(r.err, "2 of 3 machines were not imported"));
    Store store(b.store());
    CHECK(!std::filesystem::exists(store.machine_dir("aws1")));
    CHECK(!std::filesystem::exists(store.machine_dir("bad1")));
    CHECK(std::filesystem::exists(store.machine_file("ok1", "machine.json")));

    // A name berth's rules refuse, a machine that is not there, and a store that is not one.
    CHECK(b.run({"import", "--from", dm.root().string(), "Bad_Name!"}).exit_status == 2);
    auto ghost = b.run({"import", "--from", dm.root().string(), "ghost"});
    CHECK(ghost.exit_status == 1);
    CHECK(has(ghost.err, "no machine \"ghost\" in the docker-machine store"));
    auto nowhere = b.run({"import"});  // HOME has no .docker/machine
    CHECK(nowhere.exit_status == 1);
    CHECK(has(nowhere.err, (b.dir / "home/.docker/machine").string()));
    b.env["MACHINE_STORAGE_PATH"] = (b.dir / "elsewhere").string();
    auto via_env = b.run({"import"});
    CHECK(has(via_env.err, (b.dir / "elsewhere").string()));
    CHECK(test::tree_snapshot(dm.root()) == before);
}
