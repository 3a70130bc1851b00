// The virtualbox driver against the VBoxManage simulator (tests/fakes/VBoxManage): VirtualBox cannot
// be installed on the machines berth is built on. Every scenario checks the exact, ordered list of
// VBoxManage calls (the simulator's call log) and what is left in the simulator's state. qemu-img
// and genisoimage are the real ones, on a tiny qcow2.

#include <berth/drivers/virtualbox/virtualbox_driver.h>

#include <berth/store/atomic_file.h>
#include <berth/transport/known_hosts.h>

#include "call_log.h"
#include "../../../tests/fakes/fake_clock.h"
#include "../../../tests/fakes/scripted_session.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <fstream>
#include <sstream>

using namespace berth;
using namespace berth::virtualbox;
using berth::test::TempDir;
using berth::test::write_text;

namespace {

using berth::test::Call;

std::string read_all(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string fixture(const std::string& name) { return read_all(std::filesystem::path(BERTH_VBOXMANAGE_FIXTURES) / name); }

/// One simulated VirtualBox (its own state and call log) and machines made with the real driver.
struct Sim {
    TempDir dir;
    ProcessRunner runner;
    berth::test::FakeClock clock;  ///< the ACPI shutdown wait takes no real time
    VirtualBoxHooks hooks;
    bool with_kernel = false;
    SessionFactory ssh;  ///< what drivers get to reach a pinned machine over SSH (null: none)
    std::atomic<int> lock_waits{0};  ///< times a shared lock was waited for

    explicit Sim(const std::string& version = "7.0.20r163906") {
        ::setenv("VBOXMANAGE_SIM_STATE", (dir / "vbox.json").c_str(), 1);
        ::setenv("VBOXMANAGE_SIM_LOG", (dir / "calls.log").c_str(), 1);
        ::setenv("VBOXMANAGE_SIM_VERSION", version.c_str(), 1);
        ::setenv("VBOXMANAGE_SIM_NETWORKS_CONF", (dir / "networks.conf").c_str(), 1);
        ::setenv("VBOXMANAGE_SIM_MACHINE_FOLDER", (dir / "vms").c_str(), 1);
        ::setenv("VBOXMANAGE_SIM_ACPI_POLLS", "2", 1);
        ::unsetenv("VBOXMANAGE_SIM_FAIL");
        hooks.vboxmanage.program = BERTH_VBOXMANAGE_SIM;
        hooks.vboxmanage.retry_delay = std::chrono::milliseconds(1);
        hooks.cpuinfo = [] { return std::string("flags\t: fpu vmx sse2\n"); };
        hooks.networks_conf = dir / "networks.conf";
        hooks.shutdown_timeout = std::chrono::seconds(30);
        hooks.poll_interval = std::chrono::milliseconds(1);
        Command img{.argv = {"qemu-img", "create", "-q", "-f", "qcow2", (dir / "debian-12.qcow2").string(), "16M"},
                    .env_set = {}, .env_unset = {}, .stdin_data = {}, .cwd = {}, .timeout = std::chrono::seconds(30)};
        auto made = runner.run(img);
        REQUIRE(made);
        REQUIRE(made->exit_status == 0);
    }

    std::unique_ptr<Driver> make(const std::string& machine) {
        DriverContext ctx;
        ctx.machine = machine;
        ctx.machine_dir = dir / "machines" / machine;
        std::filesystem::create_directories(ctx.machine_dir);
        ctx.runner = &runner;
        ctx.clock = &clock;
        ctx.ssh = ssh;
        ctx.shared_lock = [this](std::string_view key, std::string_view what) {
            std::filesystem::create_directories(dir / "locks");
            return FileLock::acquire(dir / "locks" / (std::string(key) + ".lock"), what, std::chrono::minutes(5),
                                     [this](const std::string&) { ++lock_waits; });
        };
        ctx.image = [this](std::string_view name) -> Result<ImageFiles> {
            if (name != "debian-12") return fail_kind(ErrorKind::NotFound, "no image " + std::string(name));
            ImageFiles f{.name = "debian-12", .disk = dir / "debian-12.qcow2", .sha256 = std::string(64, 'a'),
                         .kernel = {}, .initrd = {}, .kernel_cmdline = {}};
            if (with_kernel) f.kernel = dir / "vmlinuz";
            return f;
        };
        return virtualbox_driver_info(hooks).make(ctx);
    }

    std::unique_ptr<Driver> configured(const std::string& machine, OptionValues values = {}) {
        auto d = make(machine);
        auto r = d->configure(values);
        INFO((r ? "" : r.error().message));
        REQUIRE(r);
        return d;
    }

    /// The same machine as a later berth process sees it: loaded from what save() wrote.
    std::unique_ptr<Driver> reopen(const std::string& machine, const Driver& from) {
        auto d = make(machine);
        REQUIRE(d->load(from.save()));
        return d;
    }

    /// The calls since the last take (and forgets them).
    std::vector<Call> take_calls() { return berth::test::take_call_log(dir / "calls.log"); }

    std::string vbox(const Call& args) {
        Command c;
        c.argv = {BERTH_VBOXMANAGE_SIM};
        c.argv.insert(c.argv.end(), args.begin(), args.end());
        auto r = runner.run(c);
        REQUIRE(r);
        return r->out;
    }

    nlohmann::json state() { return nlohmann::json::parse(vbox({"sim-dump"})); }
};

std::string sv(const nlohmann::json& j, const char* key) { return j.at(key).get<std::string>(); }

/// createvm ... startvm: the calls of a NAT-only create.
std::vector<Call> create_calls(const std::string& machine, const nlohmann::json& saved, const std::filesystem::path& dir) {
    const std::string uuid = sv(saved, "uuid");
    const std::string mdir = (dir / "machines" / machine).string();
    return {
        {"convertfromraw", mdir + "/disk.raw", mdir + "/disk.vdi", "--format", "VDI"},
        {"modifymedium", "disk", mdir + "/disk.vdi", "--resize", "20000"},
        {"createvm", "--name", machine, "--uuid", uuid, "--ostype", "Debian_64", "--basefolder", mdir, "--register"},
        {"modifyvm", uuid, "--firmware", "bios", "--memory", "2048", "--cpus", "2", "--acpi", "on", "--ioapic", "on",
         "--rtcuseutc", "on", "--pae", "on", "--longmode", "on", "--hpet", "on", "--hwvirtex", "on", "--nestedpaging",
         "on", "--largepages", "on", "--vtxvpid", "on", "--accelerate3d", "off", "--graphicscontroller", "vmsvga",
         "--vram", "16", "--usb", "off", "--boot1", "disk", "--boot2", "dvd", "--boot3", "none", "--boot4", "none",
         "--uart1", "0x3F8", "4", "--uartmode1", "file", mdir + "/console.log"},
        {"modifyvm", uuid, "--nic1", "nat", "--nictype1", "82540EM", "--cableconnected1", "on", "--macaddress1",
         sv(saved, "nat_mac"), "--natdnsproxy1", "on", "--natpf1",
         "ssh,tcp,127.0.0.1," + std::to_string(saved.at("ssh_port").get<int>()) + ",,22", "--natpf1",
         "docker,tcp,127.0.0.1," + std::to_string(saved.at("docker_port").get<int>()) + ",,2376"},
        {"storagectl", uuid, "--name", "SATA", "--add", "sata", "--hostiocache", "on"},
        {"storageattach", uuid, "--storagectl", "SATA", "--port", "0", "--device", "0", "--type", "hdd", "--medium",
         mdir + "/disk.vdi"},
        {"storageattach", uuid, "--storagectl", "SATA", "--port", "1", "--device", "0", "--type", "dvddrive",
         "--medium", mdir + "/seed.iso"},
        {"startvm", uuid, "--type", "headless"},
    };
}

Call showvminfo(const std::string& uuid) { return {"showvminfo", uuid, "--machinereadable"}; }

/// Holds 127.0.0.1:port open (listening), as another program would.
struct PortHolder {
    int fd = -1;
    explicit PortHolder(int port) {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(fd, 1) == 0);
    }
    ~PortHolder() { ::close(fd); }
};

}  // namespace

// --- parsers against recorded real outputs ---------------------------------------------------

TEST_CASE("virtualbox: a record written by an earlier berth loads and saves byte for byte", "[virtualbox]") {
    Sim sim;
    const std::string record =
        R"({"cpu_count":2,"disk_size_mb":20000,"docker_port":41001,"hostonly":true,"hostonly_cidr":"192.168.56.1/24",)"
        R"("hostonly_ip":"192.168.56.101","hostonly_mac":"080027AABBCC","hostonly_nictype":"virtio","image":"debian-12",)"
        R"("memory":4096,"nat_mac":"080027DDEEFF","nat_nictype":"82540EM","share_folder":"/srv:srv","ssh_port":41000,)"
        R"("ssh_user":"docker","ui_type":"headless","uuid":"6c1f0a3e-1b2c-4d5e-8f90-0123456789ab"})";
    auto d = sim.make("vb1");
    REQUIRE(d->load(nlohmann::json::parse(record)));
    CHECK(d->save().dump() == record);
    auto old = sim.make("vb2");
    REQUIRE(old->load(nlohmann::json::parse(R"({"uuid":"u-1","ssh_port":41002})")));
    CHECK(old->save().dump() ==
          R"({"cpu_count":2,"disk_size_mb":20000,"docker_port":0,"hostonly":false,"hostonly_cidr":"192.168.56.1/24",)"
          R"("hostonly_ip":"","hostonly_mac":"","hostonly_nictype":"82540EM","image":"debian-12","memory":2048,)"
          R"("nat_mac":"","nat_nictype":"82540EM","share_folder":"","ssh_port":41002,"ssh_user":"docker",)"
          R"("ui_type":"headless","uuid":"u-1"})");
}

TEST_CASE("virtualbox: VBoxManage outputs parse as recorded from the real tool", "[virtualbox]") {
    auto v = parse_version(fixture("version.txt"));
    REQUIRE(v);
    CHECK(v->major == 7);
    CHECK(v->minor == 0);
    CHECK(v->build == 20);
    CHECK(v->at_least(6, 1));
    CHECK(parse_version("6.1.38_Ubuntur153438\n").value().at_least(6, 1, 28));
    CHECK_FALSE(parse_version("5.2.44r139111").value().at_least(6, 1));
    CHECK_FALSE(parse_version("Oracle VM VirtualBox"));

    auto info = parse_machinereadable(fixture("showvminfo-machinereadable-running.txt"));
    CHECK(info.at("VMState") == "running");
    CHECK(info.at("Forwarding(0)") == "ssh,tcp,127.0.0.1,2201,,22");
    CHECK(info.at("nic2") == "hostonly");
    CHECK(parse_machinereadable(fixture("showvminfo-machinereadable-poweroff.txt")).at("VMState") == "poweroff");

    auto vms = parse_vm_list(fixture("list-vms.txt"));
    REQUIRE(vms.size() == 3);
    CHECK(vms[1].name == "server1.netology");
    CHECK(vms[1].uuid == "5885ac4f-9281-43aa-a41a-1ad3c5f8ffe5");
    CHECK(parse_vm_list("\"odd \"name\" {x}\" {11111111-2222-3333-4444-555555555555}\n").at(0).name == "odd \"name\" {x}");

    auto ifs = parse_blocks(fixture("list-hostonlyifs.txt"));
    REQUIRE_FALSE(ifs.empty());
    CHECK(ifs[0].at("Name") == "vboxnet0");
    CHECK(ifs[0].at("IPAddress") == "192.168.42.1");
    auto dhcp = parse_blocks(fixture("list-dhcpservers.txt"));
    REQUIRE_FALSE(dhcp.empty());
    CHECK(dhcp[0].at("NetworkName") == "HostInterfaceNetworking-vboxnet0");
    CHECK(dhcp[0].at("LowerIPAddress") == "192.168.56.101");
}

TEST_CASE("virtualbox: the host-only adapter for an address - a block without a Name is no adapter", "[virtualbox]") {
    const std::string ifs = fixture("list-hostonlyifs.txt");
    CHECK(find_hostonly_if(ifs, "192.168.42.1", "255.255.255.0") == "vboxnet0");
    CHECK(find_hostonly_if(ifs, "192.168.56.1", "255.255.255.0").empty());
    // Found by fuzz_vboxmanage: a matching block without "Name:" threw std::out_of_range out of create.
    const std::string nameless = "GUID:  x\nIPAddress:   192.168.56.1\nNetworkMask: 255.255.255.0\n\n" + ifs;
    CHECK(find_hostonly_if(nameless, "192.168.56.1", "255.255.255.0").empty());
    CHECK(find_hostonly_if(nameless, "192.168.42.1", "255.255.255.0") == "vboxnet0");
}

TEST_CASE("virtualbox: host-only CIDRs and VirtualBox's allowed ranges", "[virtualbox]") {
    auto cidr = parse_hostonly_cidr("192.168.56.1/24");
    REQUIRE(cidr);
    CHECK(ipv4_text(cidr->network()) == "192.168.56.0");
    CHECK(ipv4_text(cidr->mask()) == "255.255.255.0");
    for (const char* bad : {"192.168.56.1", "192.168.56.0/24", "192.168.56.255/24", "300.1.1.1/24", "10.0.0.1/30",
                            "10.0.0.1/x"}) {
        INFO(bad);
        auto r = parse_hostonly_cidr(bad);
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::Usage);
    }
    const auto v7 = parse_version("7.0.20r163906").value();
    const auto v6126 = parse_version("6.1.26r145957").value();
    const auto dm = parse_hostonly_cidr("192.168.99.1/24").value();  // docker-machine's default
    CHECK(hostonly_range_allowed(v7, *cidr, ""));
    CHECK(hostonly_range_allowed(v7, parse_hostonly_cidr("192.168.63.1/24").value(), ""));
    CHECK_FALSE(hostonly_range_allowed(v7, dm, ""));
    CHECK(hostonly_range_allowed(v6126, dm, ""));  // before 6.1.28 anything goes
    CHECK(hostonly_range_allowed(v7, dm, "# comment\n* 10.0.0.0/8 192.168.99.0/24\n"));
    CHECK_FALSE(hostonly_range_allowed(v7, dm, "* 192.168.99.0/25\n"));
}

// --- the lifecycle, call by call --------------------------------------------------------------

TEST_CASE("virtualbox: create runs the full sequence - then start, stop, restart, kill, rm", "[virtualbox]") {
    Sim sim;
    auto d = sim.configured("vb1");
    REQUIRE(d->precreate_check());
    CHECK(sim.take_calls() == std::vector<Call>{{"--version"}});

    REQUIRE(d->create());
    const auto saved = d->save();
    const std::string uuid = sv(saved, "uuid");
    CHECK(sim.take_calls() == create_calls("vb1", saved, sim.dir.path()));
    // The seed is a real ISO with the machine's key; the disk a VDI; the raw copy is gone.
    const auto mdir = sim.dir / "machines" / "vb1";
    CHECK(std::filesystem::exists(mdir / "seed.iso"));
    CHECK_FALSE(std::filesystem::exists(mdir / "disk.raw"));
    CHECK(read_all(mdir / "cloud-init" / "user-data").find("ssh-ed25519 ") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(mdir / "cloud-init" / "network-config"));  // one NIC: fallback DHCP

    auto ssh = d->ssh_endpoint();
    REQUIRE(ssh);
    CHECK(ssh->host == "127.0.0.1");
    CHECK(ssh->port == saved.at("ssh_port").get<int>());
    CHECK(ssh->user == "docker");
    CHECK(d->docker_url().value() == "tcp://127.0.0.1:" + std::to_string(saved.at("docker_port").get<int>()));
    CHECK(d->ip().value() == "127.0.0.1");
    // Inside, sshd and dockerd keep 22 and 2376: the host's firewall and daemon.json use those.
    REQUIRE(d->guest_ports());
    CHECK(d->guest_ports()->ssh == 22);
    CHECK(d->guest_ports()->engine == 2376);
    CHECK(d->state().value() == MachineState::Running);
    CHECK(sim.take_calls() == std::vector<Call>{showvminfo(uuid)});

    // A later berth process: loaded from the record.
    auto again = sim.reopen("vb1", *d);
    REQUIRE(again->stop());  // ACPI, then polls until the guest powers off (2 polls here)
    CHECK(sim.take_calls() == std::vector<Call>{showvminfo(uuid), {"controlvm", uuid, "acpipowerbutton"},
                                                showvminfo(uuid), showvminfo(uuid), showvminfo(uuid)});
    CHECK(again->state().value() == MachineState::Stopped);
    REQUIRE(again->stop());  // stopped already: one look, nothing else
    sim.take_calls();
    REQUIRE(again->start());
    CHECK(sim.take_calls() == std::vector<Call>{showvminfo(uuid), {"startvm", uuid, "--type", "headless"}});
    REQUIRE(again->restart());
    CHECK(sim.take_calls() == std::vector<Call>{showvminfo(uuid), {"controlvm", uuid, "acpipowerbutton"},
                                                showvminfo(uuid), showvminfo(uuid), showvminfo(uuid),
                                                showvminfo(uuid), {"startvm", uuid, "--type", "headless"}});
    REQUIRE(again->kill());
    CHECK(sim.take_calls() == std::vector<Call>{showvminfo(uuid), {"controlvm", uuid, "poweroff"}});
    CHECK(again->state().value() == MachineState::Stopped);
    REQUIRE(again->start());
    sim.take_calls();

    REQUIRE(again->remove());  // running: powered off, then unregistered with its disk
    CHECK(sim.take_calls() == std::vector<Call>{showvminfo(uuid), {"controlvm", uuid, "poweroff"},
                                                {"unregistervm", uuid, "--delete"}});
    auto st = sim.state();
    CHECK(st["vms"].empty());
    CHECK_FALSE(std::filesystem::exists(mdir / "disk.vdi"));
    CHECK(again->removal_note().empty());
    REQUIRE(again->remove());  // idempotent: the VM is gone, nothing else to do
    CHECK(sim.take_calls() == std::vector<Call>{showvminfo(uuid)});
    auto gone = again->state();
    REQUIRE_FALSE(gone);
    CHECK(gone.error().kind == ErrorKind::NotFound);
    CHECK(gone.error().message.find("no longer exists") != std::string::npos);
}

TEST_CASE("virtualbox: a qcow2 image with a backing file is refused before qemu-img converts it",
          "[virtualbox][trust]") {
    Sim sim;
    // The cached image becomes an overlay on a file of this host (what qemu-img would read).
    const auto disk = sim.dir / "debian-12.qcow2";
    std::filesystem::rename(disk, sim.dir / "host-file.qcow2");
    Command overlay;
    overlay.argv = {"qemu-img", "create", "-q", "-f", "qcow2", "-b", (sim.dir / "host-file.qcow2").string(), "-F",
                    "qcow2", disk.string()};
    auto made = sim.runner.run(overlay);
    REQUIRE(made);
    REQUIRE(made->exit_status == 0);

    auto d = sim.configured("vb1");
    auto created = d->create();
    REQUIRE_FALSE(created);
    CHECK(created.error().message.find("names a backing file") != std::string::npos);
    CHECK(created.error().hint.find("qemu-img convert") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(sim.dir / "machines" / "vb1" / "disk.raw"));
    for (const auto& call : sim.take_calls()) CHECK(call.front() != "convertfromraw");
}

TEST_CASE("virtualbox: the seed's host key is pinned - discard_seed empties the drive and deletes the seed", "[virtualbox]") {
    Sim sim;
    auto d = sim.configured("vb2");
    REQUIRE(d->create());
    const std::string uuid = sv(d->save(), "uuid");
    const auto mdir = sim.dir / "machines" / "vb2";
    const std::string user_data = read_all(mdir / "cloud-init" / "user-data");
    CHECK(user_data.find("ed25519_private: \"-----BEGIN OPENSSH PRIVATE KEY-----\\n") != std::string::npos);
    REQUIRE(pinned_keys(mdir / "known_hosts", "berth-vb2").size() == 1);
    CHECK(user_data.find(pinned_keys(mdir / "known_hosts", "berth-vb2")[0].base64) != std::string::npos);
    CHECK(berth::test::file_mode(mdir / "seed.iso") == 0600);
    sim.take_calls();

    REQUIRE(d->discard_seed());
    CHECK(sim.take_calls() ==
          std::vector<Call>{{"storageattach", uuid, "--storagectl", "SATA", "--port", "1", "--device", "0", "--type",
                             "dvddrive", "--medium", "emptydrive"},
                            {"closemedium", "dvd", (mdir / "seed.iso").string()}});
    CHECK_FALSE(std::filesystem::exists(mdir / "seed.iso"));
    CHECK_FALSE(std::filesystem::exists(mdir / "cloud-init"));
    REQUIRE(d->remove());
}

TEST_CASE("virtualbox: options reach the VM - memory, CPUs, disk, NIC types, UI, shared folder", "[virtualbox]") {
    Sim sim;
    auto d = sim.configured("vb2", {{"memory", {"4096"}}, {"cpu-count", {"4"}}, {"disk-size", {"30000"}},
                                    {"nat-nictype", {"virtio"}}, {"ui-type", {"gui"}},
                                    {"share-folder", {"/srv/data:data"}}});
    REQUIRE(d->create());
    const auto saved = d->save();
    const std::string uuid = sv(saved, "uuid");
    auto calls = sim.take_calls();
    auto has = [&](const Call& want) { return std::find(calls.begin(), calls.end(), want) != calls.end(); };
    CHECK(has({"modifymedium", "disk", (sim.dir / "machines" / "vb2" / "disk.vdi").string(), "--resize", "30000"}));
    CHECK(has({"sharedfolder", "add", uuid, "--name", "data", "--hostpath", "/srv/data", "--automount"}));
    CHECK(calls.back() == Call{"startvm", uuid, "--type", "gui"});
    auto info = parse_machinereadable(sim.vbox({"showvminfo", uuid, "--machinereadable"}));
    CHECK(info.at("memory") == "4096");
    CHECK(info.at("cpus") == "4");
    CHECK(info.at("nictype1") == "virtio");
    REQUIRE(d->remove());
    sim.take_calls();

    auto bad = sim.make("vb3");
    for (const auto& [option, value] : std::vector<std::pair<std::string, std::string>>{
             {"memory", "lots"}, {"cpu-count", "0"}, {"disk-size", "10"}, {"nat-nictype", "e1000"},
             {"hostonly-nictype", "rtl"}, {"ui-type", "vnc"}, {"share-folder", "relative/path"},
             {"hostonly-cidr", "192.168.56.0/24"}, {"ssh-user", "-oProxyCommand=x"}, {"ssh-user", "1docker"},
             {"ssh-user", "root"}}) {
        INFO(option << "=" << value);
        auto r = bad->configure({{option, {value}}});
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::Usage);
        CHECK(r.error().message.find("--virtualbox-" + option) != std::string::npos);
    }
    CHECK(sim.take_calls().empty());
}

TEST_CASE("virtualbox: host-only adapters - made once, shared, removed with the last machine", "[virtualbox]") {
    Sim sim;
    auto d1 = sim.configured("ho1", {{"hostonly", {"true"}}});
    REQUIRE(d1->precreate_check());
    sim.take_calls();
    REQUIRE(d1->create());
    const auto s1 = d1->save();
    const std::string u1 = sv(s1, "uuid");
    auto calls = sim.take_calls();
    // After the NAT NIC: find or make the adapter and its DHCP server, then NIC 2.
    const std::vector<Call> hostonly = {
        {"list", "hostonlyifs"},
        {"hostonlyif", "create"},
        {"setextradata", "global", "berth/hostonlyif/vboxnet0", "made"},
        {"hostonlyif", "ipconfig", "vboxnet0", "--ip", "192.168.56.1", "--netmask", "255.255.255.0"},
        {"list", "dhcpservers"},
        {"dhcpserver", "add", "--ifname", "vboxnet0", "--ip", "192.168.56.100", "--netmask", "255.255.255.0",
         "--lowerip", "192.168.56.101", "--upperip", "192.168.56.254", "--enable"},
        {"setextradata", "global", "berth/dhcpserver/vboxnet0", "made"},
        {"modifyvm", u1, "--nic2", "hostonly", "--nictype2", "82540EM", "--hostonlyadapter2", "vboxnet0",
         "--cableconnected2", "on", "--macaddress2", sv(s1, "hostonly_mac")},
    };
    auto expected = create_calls("ho1", s1, sim.dir.path());
    expected.insert(expected.begin() + 5, hostonly.begin(), hostonly.end());
    CHECK(calls == expected);
    // Two NICs: cloud-init is told to DHCP both, by MAC.
    const std::string net = read_all(sim.dir / "machines" / "ho1" / "cloud-init" / "network-config");
    std::string mac = sv(s1, "hostonly_mac");
    std::string colon;
    for (std::size_t i = 0; i < mac.size(); ++i) colon += std::string(i > 0 && i % 2 == 0 ? ":" : "") + char(std::tolower(mac[i]));
    CHECK(net.find("mac_address: \"" + colon + "\"") != std::string::npos);
    // The guest reports its host-only address (Guest Additions): ip and the certificate use it.
    CHECK(d1->ip().value() == "192.168.56.101");
    CHECK(d1->cert_sans() == std::vector<std::string>{"192.168.56.101"});

    // A second machine finds the adapter and its DHCP server: makes neither.
    auto d2 = sim.configured("ho2", {{"hostonly", {"true"}}});
    REQUIRE(d2->create());
    calls = sim.take_calls();
    CHECK(std::count(calls.begin(), calls.end(), Call{"hostonlyif", "create"}) == 0);
    CHECK(std::find_if(calls.begin(), calls.end(), [](const Call& c) { return c[0] == "dhcpserver"; }) == calls.end());

    // rm of the first keeps the adapter (the second uses it), and says so.
    auto r1 = sim.reopen("ho1", *d1);
    REQUIRE(r1->remove());
    CHECK(r1->removal_note().find("kept host-only adapter vboxnet0") != std::string::npos);
    CHECK(sim.state()["hostonlyifs"].size() == 1);
    sim.take_calls();
    // rm of the second (which did not make it) removes it: berth made it and nothing uses it now.
    auto r2 = sim.reopen("ho2", *d2);
    REQUIRE(r2->remove());
    const std::string u2 = sv(d2->save(), "uuid");
    CHECK(sim.take_calls() == std::vector<Call>{
                                  showvminfo(u2),
                                  {"controlvm", u2, "poweroff"},
                                  {"unregistervm", u2, "--delete"},
                                  {"getextradata", "global", "berth/dhcpserver/vboxnet0"},
                                  {"getextradata", "global", "berth/hostonlyif/vboxnet0"},
                                  {"list", "vms"},
                                  {"list", "dhcpservers"},
                                  {"dhcpserver", "remove", "--ifname", "vboxnet0"},
                                  {"setextradata", "global", "berth/dhcpserver/vboxnet0"},
                                  {"list", "hostonlyifs"},
                                  {"hostonlyif", "remove", "vboxnet0"},
                                  {"setextradata", "global", "berth/hostonlyif/vboxnet0"},
                              });
    auto st = sim.state();
    CHECK(st["hostonlyifs"].empty());
    CHECK(st["dhcpservers"].empty());
    CHECK(st["vms"].empty());
}

TEST_CASE("virtualbox: without Guest Additions the host-only address is read over SSH", "[virtualbox]") {
    const std::string ip_addr =
        "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n"
        "2: eth0    inet 10.0.2.15/24 brd 10.0.2.255 scope global dynamic eth0\\       valid_lft 86391sec\n"
        "3: eth1    inet 192.168.56.103/24 brd 192.168.56.255 scope global dynamic eth1\\       valid_lft 591sec\n"
        "4: docker0    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0\\       valid_lft forever\n";
    auto cidr = parse_hostonly_cidr("192.168.56.1/24").value();
    CHECK(address_in(ip_addr, cidr) == "192.168.56.103");
    CHECK(address_in("2: eth0    inet 10.0.2.15/24 brd 10.0.2.255\n", cidr).empty());
    CHECK(address_in("3: eth1    inet 192.168.56.1/24\n", cidr).empty());  // the host's own

    Sim sim;
    int sessions = 0;
    sim.ssh = [&](const SshEndpoint& endpoint) -> Result<std::unique_ptr<Session>> {
        ++sessions;
        CHECK(endpoint.host == "127.0.0.1");
        auto s = std::make_unique<berth::test::ScriptedSession>();
        s->expect_run({"ip -4 -o addr show"}, {0, ip_addr, ""});
        return std::unique_ptr<Session>(std::move(s));
    };
    auto d = sim.configured("ga", {{"hostonly", {"true"}}});
    REQUIRE(d->create());
    const std::string uuid = sv(d->save(), "uuid");
    sim.vbox({"sim-set", uuid, "guest-ip", "none"});  // no Guest Additions: no guest property
    CHECK(d->ip().value() == "192.168.56.103");
    CHECK(sessions == 1);
    CHECK(d->cert_sans() == std::vector<std::string>{"192.168.56.103"});
    CHECK(d->save()["hostonly_ip"] == "192.168.56.103");

    // Not reachable over SSH (not pinned yet, guest down): 127.0.0.1, where the forwards are.
    sim.ssh = [&](const SshEndpoint&) -> Result<std::unique_ptr<Session>> { return fail("not pinned yet"); };
    auto later = sim.reopen("ga", *d);
    CHECK(later->ip().value() == "127.0.0.1");
    REQUIRE(later->remove());
}

TEST_CASE("virtualbox: an adapter berth did not make is never removed", "[virtualbox]") {
    Sim sim;
    sim.vbox({"hostonlyif", "create"});
    sim.vbox({"hostonlyif", "ipconfig", "vboxnet0", "--ip", "192.168.56.1", "--netmask", "255.255.255.0"});
    sim.take_calls();
    auto d = sim.configured("mine", {{"hostonly", {"true"}}});
    REQUIRE(d->create());
    auto calls = sim.take_calls();
    CHECK(std::count(calls.begin(), calls.end(), Call{"hostonlyif", "create"}) == 0);
    REQUIRE(d->remove());
    calls = sim.take_calls();
    CHECK(std::count(calls.begin(), calls.end(), Call{"hostonlyif", "remove", "vboxnet0"}) == 0);
    CHECK(std::count(calls.begin(), calls.end(), Call{"dhcpserver", "remove", "--ifname", "vboxnet0"}) == 1);
    CHECK(sim.state()["hostonlyifs"].size() == 1);
}

TEST_CASE("virtualbox: ls states of 50 machines take two VBoxManage calls", "[virtualbox]") {
    Sim sim;
    std::vector<std::unique_ptr<Driver>> drivers;
    for (int i = 0; i < 50; ++i) {
        auto d = sim.configured("m" + std::to_string(i));
        const std::string uuid = sv(d->save(), "uuid");
        if (i < 48) sim.vbox({"createvm", "--name", "m" + std::to_string(i), "--uuid", uuid, "--register"});
        if (i % 2 == 0 && i < 48) sim.vbox({"startvm", uuid, "--type", "headless"});
        drivers.push_back(std::move(d));
    }
    sim.take_calls();
    std::vector<Driver*> raw;
    for (auto& d : drivers) raw.push_back(d.get());
    auto states = virtualbox_driver_info(sim.hooks).states(raw);
    CHECK(sim.take_calls() == std::vector<Call>{{"list", "vms"}, {"list", "runningvms"}});
    REQUIRE(states.size() == 50);
    CHECK(states[0].value() == MachineState::Running);
    CHECK(states[1].value() == MachineState::Stopped);
    REQUIRE_FALSE(states[49]);  // never made (or removed behind berth's back)
    CHECK(states[49].error().kind == ErrorKind::NotFound);
}

// --- failures -------------------------------------------------------------------------------

TEST_CASE("virtualbox: pre-create checks - VBoxManage missing or too old, no VT-x, a kernel-boot image, a forbidden range", "[virtualbox]") {
    {
        Sim sim;
        sim.hooks.vboxmanage.program = (sim.dir / "no-such-VBoxManage").string();
        auto d = sim.configured("x");
        auto r = d->precreate_check();
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::PrecreateCheck);
        CHECK(r.error().message.find("VBoxManage was not found") != std::string::npos);
        CHECK(r.error().hint.find("install VirtualBox 6.1 or later") != std::string::npos);
    }
    {
        Sim sim("5.2.44r139111");
        auto d = sim.configured("x");
        auto r = d->precreate_check();
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::PrecreateCheck);
        CHECK(r.error().message == "VirtualBox 5.2.44r139111 is too old: berth needs 6.1 or later");
    }
    {
        Sim sim;
        sim.hooks.cpuinfo = [] { return std::string("flags\t: fpu sse2\n"); };
        auto d = sim.configured("x");
        auto r = d->precreate_check();
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("no VT-x or AMD-V") != std::string::npos);
        CHECK(r.error().hint.find("--virtualbox-no-vtx-check") != std::string::npos);
        auto skip = sim.configured("y", {{"no-vtx-check", {"true"}}});
        CHECK(skip->precreate_check());
    }
    {
        Sim sim;
        sim.with_kernel = true;  // as `berth image build` makes them
        auto d = sim.configured("x");
        auto r = d->precreate_check();
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::PrecreateCheck);
        CHECK(r.error().message.find("direct kernel boot") != std::string::npos);
        CHECK(r.error().hint.find("berth image rm debian-12; berth image pull debian-12") != std::string::npos);
    }
    {
        Sim sim;
        auto d = sim.configured("x", {{"hostonly", {"true"}}, {"hostonly-cidr", {"192.168.99.1/24"}}});
        auto r = d->precreate_check();
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("only in 192.168.56.0/21") != std::string::npos);
        CHECK(r.error().hint.find("* 192.168.99.0/24") != std::string::npos);
        write_text(sim.dir / "networks.conf", "* 192.168.99.0/24\n");
        CHECK(d->precreate_check());
    }
}

TEST_CASE("virtualbox: 'object is not ready' is retried - errors with exit 0 are failures", "[virtualbox]") {
    Sim sim;
    ::setenv("VBOXMANAGE_SIM_FAIL", "startvm:1-2=not-ready", 1);
    auto d = sim.configured("nr");
    REQUIRE(d->create());
    auto calls = sim.take_calls();
    const std::string uuid = sv(d->save(), "uuid");
    CHECK(std::count(calls.begin(), calls.end(), Call{"startvm", uuid, "--type", "headless"}) == 3);
    CHECK(d->state().value() == MachineState::Running);
    REQUIRE(d->remove());

    // Exit status 0, but "error:" on stderr: VBoxManage failed (docker-machine's rule too).
    ::setenv("VBOXMANAGE_SIM_FAIL", "startvm=error-exit0", 1);
    auto e = sim.configured("e0");
    auto r = e->create();
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("VBoxManage startvm failed: ") != std::string::npos);
    CHECK(r.error().message.find("VT-x is not available") != std::string::npos);
    ::unsetenv("VBOXMANAGE_SIM_FAIL");
    REQUIRE(e->remove());  // the rollback leaves nothing
    CHECK(sim.state()["vms"].empty());

    // Not ready for ever: a clear error after the attempts.
    ::setenv("VBOXMANAGE_SIM_FAIL", "controlvm.poweroff=not-ready", 1);
    auto k = sim.configured("k");
    ::unsetenv("VBOXMANAGE_SIM_FAIL");
    REQUIRE(k->create());
    ::setenv("VBOXMANAGE_SIM_FAIL", "controlvm.poweroff=not-ready", 1);
    sim.take_calls();
    auto killed = k->kill();
    REQUIRE_FALSE(killed);
    CHECK(killed.error().message.find("The object is not ready") != std::string::npos);
    CHECK(killed.error().hint.find("5 attempts") != std::string::npos);
    const std::string ku = sv(k->save(), "uuid");
    auto calls2 = sim.take_calls();
    CHECK(std::count(calls2.begin(), calls2.end(), Call{"controlvm", ku, "poweroff"}) == 5);
    ::unsetenv("VBOXMANAGE_SIM_FAIL");
    REQUIRE(k->remove());
}

TEST_CASE("virtualbox: a VM removed behind berth's back - verbs say so, rm cleans up", "[virtualbox]") {
    Sim sim;
    auto d = sim.configured("gone");
    REQUIRE(d->create());
    const std::string uuid = sv(d->save(), "uuid");
    sim.vbox({"controlvm", uuid, "poweroff"});
    sim.vbox({"unregistervm", uuid, "--delete"});
    for (auto* verb : {"start", "stop", "kill", "state"}) {
        INFO(verb);
        Result<void> r = std::string(verb) == "start"  ? d->start()
                         : std::string(verb) == "stop" ? d->stop()
                         : std::string(verb) == "kill" ? d->kill()
                                                       : (d->state() ? Result<void>{} : std::unexpected(d->state().error()));
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::NotFound);
        CHECK(r.error().message == "VirtualBox VM gone (" + uuid + ") no longer exists");
        CHECK(r.error().hint.find("berth rm gone") != std::string::npos);
    }
    CHECK(d->remove());
}

TEST_CASE("virtualbox: a forwarded port taken by another program is moved before start", "[virtualbox]") {
    Sim sim;
    auto d = sim.configured("pt");
    REQUIRE(d->create());
    REQUIRE(d->kill());
    const int old_port = d->save().at("ssh_port").get<int>();
    const std::string uuid = sv(d->save(), "uuid");
    sim.take_calls();
    PortHolder other(old_port);
    REQUIRE(d->start());
    const int new_port = d->save().at("ssh_port").get<int>();
    CHECK(new_port != old_port);
    CHECK(d->ssh_endpoint().value().port == new_port);
    CHECK(sim.take_calls() ==
          std::vector<Call>{showvminfo(uuid),
                            {"modifyvm", uuid, "--natpf1", "delete", "ssh"},
                            {"modifyvm", uuid, "--natpf1", "ssh,tcp,127.0.0.1," + std::to_string(new_port) + ",,22"},
                            {"startvm", uuid, "--type", "headless"}});
    auto info = parse_machinereadable(sim.vbox({"showvminfo", uuid, "--machinereadable"}));
    CHECK((info["Forwarding(0)"] + info["Forwarding(1)"]).find("127.0.0.1," + std::to_string(new_port) + ",,22") !=
          std::string::npos);
    REQUIRE(d->remove());
}

TEST_CASE("virtualbox: a failed step leaves a machine that remove takes away completely", "[virtualbox]") {
    Sim sim;
    ::setenv("VBOXMANAGE_SIM_FAIL", "storageattach:2", 1);  // the seed DVD
    auto d = sim.configured("half", {{"hostonly", {"true"}}});
    auto r = d->create();
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("VBoxManage storageattach failed: ") != std::string::npos);
    ::unsetenv("VBOXMANAGE_SIM_FAIL");
    // A later berth rm, from the record (saved before create began) and virtualbox-made.json.
    auto later = sim.reopen("half", *d);
    REQUIRE(later->remove());
    auto st = sim.state();
    CHECK(st["vms"].empty());
    CHECK(st["hostonlyifs"].empty());
    CHECK(st["dhcpservers"].empty());
    CHECK(st["media"].empty());
}

TEST_CASE("virtualbox: the host-only network and its DHCP server are made under a store-wide lock",
          "[virtualbox]") {
    Sim sim;
    auto d = sim.configured("ho1", {{"hostonly", {"true"}}});
    REQUIRE(d->precreate_check());
    // Another berth process is finding or making the host-only network: it holds the lock.
    std::filesystem::create_directories(sim.dir / "locks");
    std::optional<FileLock> other;
    {
        auto lock = FileLock::try_acquire(sim.dir / "locks" / "virtualbox-hostonly.lock", "the host-only network");
        REQUIRE(lock);
        other.emplace(std::move(*lock));
    }
    sim.take_calls();
    Result<void> created;
    std::atomic<bool> done{false};
    std::thread creating([&] {
        created = d->create();
        done = true;
    });
    while (sim.lock_waits == 0 && !done) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(sim.lock_waits == 1);
    other.reset();
    creating.join();
    REQUIRE(created);
    const auto calls = sim.take_calls();
    // Made once, after the other process let go.
    CHECK(std::count(calls.begin(), calls.end(), Call{"hostonlyif", "create"}) == 1);
    // rm takes it too: held by another process, the removal waits.
    auto lock = FileLock::try_acquire(sim.dir / "locks" / "virtualbox-hostonly.lock", "the host-only network");
    REQUIRE(lock);
    other.emplace(std::move(*lock));
    Result<void> removed;
    done = false;
    std::thread removing([&] {
        removed = d->remove();
        done = true;
    });
    while (sim.lock_waits == 1 && !done) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(sim.lock_waits == 2);
    other.reset();
    removing.join();
    REQUIRE(removed);
}
