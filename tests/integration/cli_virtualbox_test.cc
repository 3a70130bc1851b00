// The virtualbox driver through the real berth binary, with the VBoxManage simulator
// (tests/fakes/VBoxManage) first on PATH: VirtualBox cannot be installed here. create runs its whole
// VBoxManage sequence (no guest ever answers SSH, so it ends by rolling back); ls, status, stop,
// kill and rm need no guest. The simulator's call log is the exact transcript.

#include <berth/process/runner.h>
#include <berth/store/store.h>

#include "../fakes/fake_elf.h"
#include "call_log.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <sstream>

using namespace berth;
using berth::test::TempDir;

namespace {

using berth::test::Call;

struct VBoxCli {
    TempDir dir;
    std::map<std::string, std::string> env;

    VBoxCli() {
        const std::filesystem::path bin(BERTH_BINARY);
        const char* path = std::getenv("PATH");
        env["PATH"] = std::string(BERTH_TESTS_DIR) + "/fakes:" + bin.parent_path().string() + ":" +
                      (path ? path : "/usr/bin:/bin");
        env["BERTH_STORAGE_PATH"] = (dir / "store").string();
        env["VBOXMANAGE_SIM_STATE"] = (dir / "vbox.json").string();
        env["VBOXMANAGE_SIM_LOG"] = (dir / "calls.log").string();
        env["VBOXMANAGE_SIM_MACHINE_FOLDER"] = (dir / "vms").string();
        env["VBOXMANAGE_SIM_ACPI_POLLS"] = "1";
        // The guest never answers over SSH here, so berth-authz is never uploaded: a stand-in.
        berth::test::write_text(dir / "berth-authz", berth::test::fake_elf());
        env["BERTH_AUTHZ_BINARY"] = (dir / "berth-authz").string();
    }

    CommandResult run(const std::string& program, std::vector<std::string> args) {
        Command c;
        c.argv = {program};
        c.argv.insert(c.argv.end(), args.begin(), args.end());
        c.env_set = env;
        c.env_unset = {"DOCKER_HOST"};
        c.timeout = std::chrono::seconds(120);
        ProcessRunner runner;
        auto r = runner.run(c);
        REQUIRE(r);
        return *r;
    }
    CommandResult berth(std::vector<std::string> args) { return run("berth", std::move(args)); }
    std::string vbox(std::vector<std::string> args) {
        auto r = run("VBoxManage", std::move(args));
        INFO(r.err);
        REQUIRE(r.exit_status == 0);
        return r.out;
    }

    std::vector<Call> take_calls() { return berth::test::take_call_log(dir / "calls.log"); }

    /// A machine berth made earlier: its record, and its VM in the simulator (running or not).
    void add_machine(const std::string& name, const std::string& uuid, bool running, bool hostonly = false) {
        Store store(dir / "store");
        REQUIRE(store.ensure_layout());
        MachineRecord r;
        r.name = name;
        r.driver_name = "virtualbox";
        r.status = MachineStatus::Ready;
        r.created_at = "2026-11-23T10:00:00Z";
        r.driver = {{"uuid", uuid}, {"ssh_port", 41000}, {"docker_port", 41001}, {"ssh_user", "docker"},
                    {"hostonly", hostonly}};
        REQUIRE(store.save(r));
        vbox({"createvm", "--name", name, "--uuid", uuid, "--basefolder", (dir / "vms").string(), "--register"});
        if (running) vbox({"startvm", uuid, "--type", "headless"});
    }
};

std::string uuid_for(int i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", i);
    return buf;
}

std::vector<std::string> firsts(const std::vector<Call>& calls) {
    std::vector<std::string> out;
    for (const auto& c : calls) out.push_back(c.empty() ? "" : c[0] == "controlvm" ? "controlvm " + c[2] : c[0]);
    return out;
}

}  // namespace

TEST_CASE("cli virtualbox: create runs the whole VBoxManage sequence - a guest that never answers leaves nothing",
          "[cli][virtualbox]") {
    VBoxCli t;
    ProcessRunner runner;
    auto img = runner.run(Command{.argv = {"qemu-img", "create", "-q", "-f", "qcow2", (t.dir / "tiny.qcow2").string(), "16M"},
                                  .env_set = {}, .env_unset = {}, .stdin_data = {}, .cwd = {},
                                  .timeout = std::chrono::seconds(30)});
    REQUIRE(img);
    REQUIRE(img->exit_status == 0);
    auto pulled = t.berth({"image", "pull", (t.dir / "tiny.qcow2").string(), "--name", "tiny"});
    INFO(pulled.err);
    REQUIRE(pulled.exit_status == 0);

    auto created = t.berth({"create", "-d", "virtualbox", "--virtualbox-no-vtx-check", "--virtualbox-hostonly",
                            "--virtualbox-image", "tiny", "--ssh-timeout", "3", "vb1"});
    INFO(created.err);
    CHECK(created.exit_status == 1);
    CHECK(created.err.find("cannot create machine \"vb1\"") != std::string::npos);
    CHECK(created.err.find("over SSH within 3 s") != std::string::npos);
    // The full sequence, then the rollback (the VM, then the adapter and DHCP server it made).
    CHECK(firsts(t.take_calls()) ==
          std::vector<std::string>{"--version", "convertfromraw", "modifymedium", "createvm", "modifyvm", "modifyvm",
                                   "list", "hostonlyif", "setextradata", "hostonlyif", "list", "dhcpserver",
                                   "setextradata", "modifyvm", "storagectl", "storageattach", "storageattach",
                                   "startvm", "showvminfo", "controlvm poweroff", "unregistervm", "getextradata",
                                   "getextradata", "list", "list", "dhcpserver", "setextradata", "list",
                                   "hostonlyif", "setextradata"});
    auto state = nlohmann::json::parse(t.vbox({"sim-dump"}));
    CHECK(state["vms"].empty());
    CHECK(state["hostonlyifs"].empty());
    CHECK(state["dhcpservers"].empty());
    CHECK_FALSE(std::filesystem::exists(t.dir / "store" / "machines" / "vb1"));
    CHECK(t.berth({"ls", "-q"}).out.empty());
}

TEST_CASE("cli virtualbox: ls of 50 machines makes two VBoxManage calls - status, stop, kill and rm",
          "[cli][virtualbox]") {
    VBoxCli t;
    for (int i = 0; i < 50; ++i) t.add_machine("m" + std::to_string(i), uuid_for(i), i % 2 == 0);
    t.take_calls();

    auto ls = t.berth({"ls"});
    INFO(ls.err);
    REQUIRE(ls.exit_status == 0);
    CHECK(std::count(ls.out.begin(), ls.out.end(), '\n') == 51);
    CHECK(ls.out.find("m10 ") != std::string::npos);
    CHECK(t.take_calls() == std::vector<Call>{{"list", "vms"}, {"list", "runningvms"}});
    auto running = t.berth({"ls", "-q", "--filter", "state=Running"});
    CHECK(std::count(running.out.begin(), running.out.end(), '\n') == 25);
    CHECK(t.berth({"ls", "--format", "{{.Name}} {{.State}} {{.URL}}", "--filter", "name=^m2$"}).out ==
          "m2 Running tcp://127.0.0.1:41001\n");
    t.take_calls();

    CHECK(t.berth({"status", "m0"}).out == "Running\n");
    CHECK(t.take_calls() == std::vector<Call>{{"showvminfo", uuid_for(0), "--machinereadable"}});

    auto stop = t.berth({"stop", "m0"});
    INFO(stop.err);
    CHECK(stop.exit_status == 0);
    CHECK(firsts(t.take_calls()) ==
          std::vector<std::string>{"showvminfo", "controlvm acpipowerbutton", "showvminfo", "showvminfo"});
    CHECK(t.berth({"status", "m0"}).out == "Stopped\n");

    CHECK(t.berth({"kill", "m2"}).exit_status == 0);
    CHECK(t.berth({"status", "m2"}).out == "Stopped\n");

    auto rm = t.berth({"rm", "-y", "m4"});
    INFO(rm.err);
    CHECK(rm.exit_status == 0);
    t.take_calls();
    CHECK(t.berth({"status", "m4"}).exit_status == 1);
    auto state = nlohmann::json::parse(t.vbox({"sim-dump"}));
    CHECK(state["vms"].size() == 49);
    CHECK_FALSE(std::filesystem::exists(t.dir / "store" / "machines" / "m4"));
}

TEST_CASE("cli virtualbox: ls of 3 and of 12 machines make the same VBoxManage calls - status one",
          "[cli][virtualbox][ls-calls]") {
    // Every column of ls (URL, Active, the default table) and status: nothing is asked per machine.
    auto calls_of = [](int machines) {
        VBoxCli t;
        for (int i = 0; i < machines; ++i) t.add_machine("m" + std::to_string(i), uuid_for(i), i % 2 == 0, i == 2);
        t.take_calls();
        std::map<std::string, std::vector<Call>> out;
        const std::vector<std::pair<std::string, std::vector<std::string>>> runs = {
            {"ls", {"ls"}},
            {"ls --format", {"ls", "--format", "{{.Name}} {{.Active}} {{.State}} {{.URL}} {{.Errors}}"}},
            {"ls --json", {"ls", "--json"}},
            {"ls --filter", {"ls", "-q", "--filter", "state=Running"}},
            {"status", {"status", "m0"}}};
        for (const auto& [label, args] : runs) {
            auto r = t.berth(args);
            INFO(label << ": " << r.err);
            REQUIRE(r.exit_status == 0);
            out[label] = t.take_calls();
        }
        auto names = t.berth({"ls", "-q"}).out;
        CHECK(std::count(names.begin(), names.end(), '\n') == machines);
        return out;
    };
    auto few = calls_of(3);
    auto many = calls_of(12);
    CHECK(few.at("ls") == std::vector<Call>{{"list", "vms"}, {"list", "runningvms"}});
    CHECK(few.at("status") == std::vector<Call>{{"showvminfo", uuid_for(0), "--machinereadable"}});
    for (const auto& [label, calls] : few) {
        INFO(label);
        CHECK_FALSE(calls.empty());
        CHECK(many.at(label) == calls);
    }
}

TEST_CASE("cli virtualbox: a vanished VM, a missing VBoxManage and a failing one are clear errors",
          "[cli][virtualbox]") {
    VBoxCli t;
    t.add_machine("gone", uuid_for(1), true);
    t.add_machine("ok", uuid_for(2), false);
    t.vbox({"controlvm", uuid_for(1), "poweroff"});
    t.vbox({"unregistervm", uuid_for(1), "--delete"});

    // A host-only machine whose guest reports no address and whose host key was never pinned:
    // ip answers 127.0.0.1 at once (no SSH attempt), where its forwards are.
    t.add_machine("ho", uuid_for(3), true, true);
    auto ip = t.berth({"-D", "ip", "ho"});
    INFO(ip.err);
    CHECK(ip.exit_status == 0);
    CHECK(ip.out == "127.0.0.1\n");
    CHECK(ip.err.find("SSH host key of machine \"ho\" is not pinned yet") != std::string::npos);

    auto status = t.berth({"status", "gone"});
    CHECK(status.exit_status == 1);
    CHECK(status.err == "berth: error: VirtualBox VM gone (" + uuid_for(1) +
                            ") no longer exists; it was removed outside berth; `berth rm gone` removes the rest\n");
    auto ls = t.berth({"ls", "--format", "{{.Name}} {{.State}} {{.Error}}"});
    CHECK(ls.out.find("gone Error its VirtualBox VM (" + uuid_for(1) + ") no longer exists") != std::string::npos);
    CHECK(ls.out.find("ok Stopped") != std::string::npos);
    CHECK(t.berth({"rm", "-y", "gone"}).exit_status == 0);  // the rest goes
    CHECK_FALSE(std::filesystem::exists(t.dir / "store" / "machines" / "gone"));

    // VBoxManage not on PATH at all.
    const std::string saved_path = t.env["PATH"];
    t.env["PATH"] = std::filesystem::path(BERTH_BINARY).parent_path().string() + ":/usr/bin:/bin";
    auto missing = t.berth({"status", "ok"});
    CHECK(missing.exit_status == 1);
    CHECK(missing.err.find("VBoxManage was not found") != std::string::npos);
    CHECK(missing.err.find("install VirtualBox 6.1 or later") != std::string::npos);
    auto missing_create = t.berth({"create", "-d", "virtualbox", "vbx"});
    CHECK(missing_create.exit_status == 3);
    CHECK(missing_create.err.find("pre-create check failed: VBoxManage was not found") != std::string::npos);
    t.env["PATH"] = saved_path;

    // Too old.
    t.env["VBOXMANAGE_SIM_VERSION"] = "6.0.24r139119";
    auto old = t.berth({"create", "-d", "virtualbox", "vbx"});
    CHECK(old.exit_status == 3);
    CHECK(old.err.find("VirtualBox 6.0.24r139119 is too old: berth needs 6.1 or later") != std::string::npos);
    t.env.erase("VBOXMANAGE_SIM_VERSION");
    CHECK_FALSE(std::filesystem::exists(t.dir / "store" / "machines" / "vbx"));

    // A VBoxManage that fails (the VM is locked by another session) names the call and its error.
    t.env["VBOXMANAGE_SIM_FAIL"] = "startvm=locked";
    auto start = t.berth({"start", "ok"});
    CHECK(start.exit_status == 1);
    CHECK(start.err.find("VBoxManage startvm failed: ") != std::string::npos);
    CHECK(start.err.find("already locked") != std::string::npos);
}

TEST_CASE("cli virtualbox: set changes a stopped VM's memory and CPUs - a running one only with --restart",
          "[cli][virtualbox][set]") {
    VBoxCli t;
    t.add_machine("vb1", uuid_for(1), false);
    t.add_machine("vb2", uuid_for(2), true);
    t.take_calls();
    auto vm_info = [&](int i) { return t.vbox({"showvminfo", uuid_for(i), "--machinereadable"}); };
    const std::string before = vm_info(2);

    auto set = t.berth({"set", "vb1", "--virtualbox-memory", "4096", "--virtualbox-cpu-count", "4"});
    INFO(set.err);
    REQUIRE(set.exit_status == 0);
    CHECK(set.out == "vb1: memory: 2048 -> 4096 MiB\nvb1: cpu-count: 2 -> 4\n"
                     "vb1: stopped; the new settings take effect when it starts\n");
    const auto calls = t.take_calls();
    REQUIRE_FALSE(calls.empty());
    CHECK(calls.back() == Call{"modifyvm", uuid_for(1), "--memory", "4096", "--cpus", "4"});
    CHECK(vm_info(1).find("memory=4096\n") != std::string::npos);
    CHECK(vm_info(1).find("cpus=4\n") != std::string::npos);
    Store store(t.dir / "store");
    CHECK(store.load("vb1")->driver["memory"] == 4096);
    CHECK(store.load("vb1")->driver["cpu_count"] == 4);

    // The same again, with a variable that set does not read: nothing to change.
    t.env["BERTH_VIRTUALBOX_MEMORY"] = "8192";
    auto same = t.berth({"set", "vb1", "--virtualbox-cpu-count", "4"});
    t.env.erase("BERTH_VIRTUALBOX_MEMORY");
    CHECK(same.exit_status == 0);
    CHECK(same.out == "vb1: nothing to change; it has these settings already\n");

    // Running: refused without --restart, and nothing changed.
    auto running = t.berth({"set", "vb2", "--virtualbox-memory", "4096"});
    CHECK(running.exit_status == 1);
    CHECK(running.err.find("changing vb2's memory needs a stop and a start, and it is running") != std::string::npos);
    CHECK(running.err.find("--restart") != std::string::npos);
    for (const auto& call : t.take_calls()) CHECK(call.front() != "modifyvm");
    CHECK(vm_info(2) == before);

    // Usage errors, before anything is asked: another driver's flag, a create-only one, nothing.
    auto other = t.berth({"set", "vb1", "--libvirt-memory", "4096"});
    CHECK(other.exit_status == 2);
    CHECK(other.err.find("--libvirt-memory is for the libvirt driver, and vb1 uses the virtualbox driver") !=
          std::string::npos);
    CHECK(t.berth({"set", "vb1", "--virtualbox-disk-size", "40000"}).exit_status == 2);
    CHECK(t.berth({"set", "vb1", "--virtualbox-memory", "12"}).exit_status == 2);
    auto nothing = t.berth({"set", "vb1"});
    CHECK(nothing.exit_status == 2);
    CHECK(nothing.err.find("was given nothing to change") != std::string::npos);
    for (const auto& call : t.take_calls()) CHECK(call.front() != "modifyvm");
}
