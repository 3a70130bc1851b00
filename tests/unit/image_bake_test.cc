// berth image bake as one unit: ImageBakeService over a MachineService of fakes (FakeDriver,
// ScriptedSession, FakeDocker, FakeClock) and a FakeRunner for qemu-img; what the temporary
// machine gets run (the cleanup, in order), what lands in the image cache, and that the
// temporary machine is removed whatever fails.

#include <berth/core/digest.h>
#include <berth/provision/desired_files.h>
#include <berth/service/image_bake.h>
#include <berth/service/real_ports.h>

#include "../fakes/borrowed.h"
#include "../fakes/fake_clock.h"
#include "../fakes/fake_docker.h"
#include "../fakes/fake_driver.h"
#include "../fakes/fake_elf.h"
#include "../fakes/managed_uploads.h"
#include "../fakes/fake_runner.h"
#include "../fakes/scripted_session.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace berth;
using berth::test::FakeDriverScript;
using berth::test::ScriptedSession;
using berth::test::TempDir;

namespace {

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// A Debian 12 host without Docker: the bake's first provision installs the packages.
std::string bare_debian_facts() {
    return "@os-release\n" + slurp(std::string(BERTH_TESTS_DIR) + "/fixtures/os-release/debian-12") +
           "@hostname\nlocalhost\n@packages\n@files\n@exists\n@units\n@sshd-ports\n22\n@subid\n@dockerd\n\n"
           "@selinux\n\n@nft\n\n@arch\nx86_64\n@dirs\n@end\n";
}

std::string installed_debian_facts() {
    return "@os-release\n" + slurp(std::string(BERTH_TESTS_DIR) + "/fixtures/os-release/debian-12") +
           "@hostname\nlocalhost\n"
           "@packages\ndocker.io 20.10.24+dfsg1-1+deb12u1\napparmor 3.0.8-3\nauditd 1:3.0.9-1\nnftables 1.0.6-2\n"
           "@files\n@exists\n/usr/sbin/dockerd\n/var/lib/docker\n/etc/docker\n"
           "@units\ndocker active enabled\nauditd active enabled\napparmor active enabled\n"
           "@sshd-ports\n22\n@subid\nsubuid\nsubgid\n@dockerd\n/usr/sbin/dockerd\n@selinux\n\n@nft\n/usr/sbin/nft\n"
           "@arch\nx86_64\n@dirs\n@end\n";
}

/// The facts after the install: apt's proxy file (a comment alone) is there, written before it.
std::string installed_with_apt_file() {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    auto files = render_pre_install_files(*templates, ProvisionRequest{}, OsFamily::Debian);
    REQUIRE(files);
    REQUIRE(files->size() == 1);
    std::string facts = installed_debian_facts();
    facts.replace(facts.find("@files\n"), 7, "@files\n" + files->front().path + " " +
                                                 sha256_hex(files->front().content) + " 644 root:root\n");
    return facts;
}

/// The first provision of the temporary machine: facts, apt's proxy file, the install, facts
/// again, the files.
void expect_bake_provision(ScriptedSession& s) {
    s.expect_run({"@os-release", "dpkg-query"}, {0, bare_debian_facts(), ""})
        .expect_upload("/etc/apt/apt.conf.d/90berth-proxy", 0644)
        .expect_run({"apt-get", "install -y -q --no-install-recommends 'docker.io' 'apparmor' 'auditd' 'nftables'"})
        .expect_run({"@os-release", "dpkg-query"}, {0, installed_with_apt_file(), ""})
        .expect_run({"hostnamectl set-hostname"});
    for (const auto& [path, mode] : berth::test::k_managed_uploads) s.expect_upload(path, mode);
    s.expect_run({"systemctl daemon-reload"});
}

/// A qcow2 v3 header without a backing file, as qemu-img convert writes.
std::string qcow2_bytes() {
    std::string bytes(1024, '\0');
    bytes.replace(0, 4, std::string("QFI\xfb", 4));
    bytes[7] = 3;      // version 3
    bytes[31] = 0x40;  // size 0x40 bytes (only the header is read)
    bytes[103] = 104;  // header_length
    return bytes;
}

struct Fixture {
    TempDir dir;
    Store store{dir / "berth"};
    ProcessRunner runner;
    test::FakeRunner tools;
    test::FakeClock clock;
    std::shared_ptr<FakeDriverScript> script = std::make_shared<FakeDriverScript>();
    std::vector<DriverInfo> table = {test::fake_driver_info(script)};
    ScriptedSession session;
    test::FakeDocker docker;
    ImageCache cache{ImageCache::images_dir(dir / "berth")};
    std::filesystem::path disk = dir / "pool" / "bake-gold.qcow2";
    std::vector<std::string> located;

    Fixture() {
        script->ssh = true;
        std::filesystem::create_directories(dir / "pool");
        std::filesystem::create_directories(dir / "src");
        write_bytes(dir / "src" / "disk.qcow2", qcow2_bytes());
        write_bytes(dir / "src" / "vmlinuz", "kernel");
        write_bytes(dir / "src" / "initrd.img", "initrd");
        PullOptions pull;
        pull.name = "debian-12";
        pull.replaces_known = true;
        pull.kernel = dir / "src" / "vmlinuz";
        pull.initrd = dir / "src" / "initrd.img";
        pull.kernel_cmdline = "root=/dev/vda rw";
        REQUIRE(cache.pull((dir / "src" / "disk.qcow2").string(), pull));
        tools.on({"qemu-img", "convert"}, [](const Command& c) -> Result<CommandResult> {
            write_bytes(c.argv.back(), qcow2_bytes() + "baked");
            return CommandResult{0, "", "", false};
        });
    }

    static void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
        std::ofstream out(p, std::ios::binary);
        out << bytes;
    }

    Ports ports() {
        Ports p = real_ports(store, runner);
        p.env = [](const std::string&) { return std::optional<std::string>(); };
        p.drivers = table;
        p.clock = &clock;
        p.ssh = [this](const SshTarget&, const SshOptions&) -> Result<std::unique_ptr<Session>> {
            return std::unique_ptr<Session>(std::make_unique<test::BorrowedSession>(session));
        };
        p.docker = [this](const std::string&, const DockerTls&) -> std::unique_ptr<DockerProbe> {
            return std::make_unique<test::BorrowedDocker>(docker);
        };
        p.images = [](std::string_view what) -> Result<ImageFiles> { return fail("no image " + std::string(what)); };
        p.authz_binary = []() -> Result<std::string> { return test::fake_elf(); };
        return p;
    }

    DiskLocator locator() {
        return [this](const Machine& m) -> Result<std::filesystem::path> {
            located.push_back(m.record.name);
            return disk;
        };
    }

    BakeRequest request() const {
        BakeRequest r;
        r.source = "debian-12";
        r.name = "gold";
        r.driver = "fake";
        return r;
    }
};

std::string transcript_of(const ScriptedSession& s) {
    std::string t;
    for (const auto& l : s.transcript()) t += "  " + l + "\n";
    for (const auto& f : s.failures()) t += "  FAILURE: " + f + "\n";
    return t;
}

/// Position of `needle` in `text`, failing the test when it is missing.
std::size_t at(const std::string& text, const std::string& needle) {
    const auto pos = text.find(needle);
    INFO(needle);
    REQUIRE(pos != std::string::npos);
    return pos;
}

}  // namespace

TEST_CASE("the bake's cleanup removes what is machine-specific, docker first and machine-id last", "[bake]") {
    const std::string s = bake_cleanup_script();
    const std::vector<std::string> order = {
        "systemctl disable --now docker.service docker.socket",
        "/var/lib/docker /var/lib/containerd",
        "'/etc/docker/tls/ca.pem' '/etc/docker/tls/server-cert.pem' '/etc/docker/tls/server-key.pem' "
        "'/etc/docker/berth-engine.env' '/etc/berth/authz.yaml' '/etc/berth/authz-revoked.yaml' "
        "'/etc/apt/apt.conf.d/90berth-proxy'",
        "rm -f /etc/ssh/ssh_host_*",
        "/home/*/.ssh/authorized_keys",
        "/root/.bash_history /home/*/.bash_history",
        "cloud-init clean --logs --seed",
        "rm -f /var/lib/berth/firstboot-done",
        "rm -rf /var/lib/apt/lists/*",
        "/var/lib/systemd/random-seed",
        "rm -rf /var/log/journal/*",
        "find /var/log -type f -exec truncate -s 0 {} +",
        "truncate -s 0 /etc/machine-id",
        "rm -f /var/lib/dbus/machine-id",
        "sync\n",
    };
    std::size_t last = 0;
    for (const auto& step : order) {
        const auto pos = at(s, step);
        INFO(step);
        CHECK(pos >= last);
        last = pos;
    }
    // The generic hardening stays in the image: a create rewrites only the machine's own files.
    for (const char* kept : {"daemon.json", "10-berth.conf", "firewall.nft", "berth-authz.socket", "00-berth.conf"})
        CHECK(s.find(kept) == std::string::npos);
    CHECK(s.find("rm -f /etc/machine-id") == std::string::npos);  // emptied, not deleted
}

TEST_CASE("a bake provisions a temporary machine, cleans it, stops it, flattens its disk and removes it", "[bake]") {
    Fixture f;
    expect_bake_provision(f.session);
    f.session.expect_run({"cloud-init clean --logs --seed", "truncate -s 0 /etc/machine-id"});
    MachineService machines(f.ports());
    ImageBakeService baker(machines, f.cache, f.tools, f.locator());

    auto report = baker.bake(f.request());
    INFO(transcript_of(f.session));
    REQUIRE(report);
    CHECK(f.session.failures().empty());
    CHECK(f.session.unused().empty());
    CHECK(report->machine == "bake-gold");
    CHECK(f.script->calls ==
          std::vector<std::string>{"precreate bake-gold", "create bake-gold", "stop bake-gold", "remove bake-gold"});
    CHECK(f.located == std::vector<std::string>{"bake-gold"});
    REQUIRE(f.tools.calls().size() == 1);
    const auto convert = f.tools.calls()[0];
    REQUIRE(convert.size() == 6);
    CHECK(std::vector<std::string>(convert.begin(), convert.begin() + 5) ==
          std::vector<std::string>{"qemu-img", "convert", "-O", "qcow2", f.disk.string()});
    CHECK(!std::filesystem::exists(convert[5]));  // the flattened copy went into the cache
    CHECK(!f.store.exists("bake-gold"));

    // The cached image: a full qcow2 with the source's kernel, saying what it was baked from and holds.
    auto image = f.cache.find("gold");
    REQUIRE(image);
    CHECK(image->baked_from == "debian-12");
    CHECK(image->source == "baked from debian-12");
    CHECK(image->packages == std::vector<std::string>{"docker.io", "apparmor", "auditd", "nftables"});
    CHECK(image->packages == report->packages);
    CHECK(image->kernel == "vmlinuz");
    CHECK(image->kernel_cmdline == "root=/dev/vda rw");
    CHECK(slurp(image->disk_path()) == qcow2_bytes() + "baked");
    auto json = nlohmann::json::parse(slurp(image->dir / "image.json"));
    CHECK(json.at("baked_from") == "debian-12");
    CHECK(json.at("packages").size() == 4);
    std::vector<std::string> phases;
    for (const auto& [phase, secs] : report->timings) phases.push_back(phase);
    CHECK(phases == std::vector<std::string>{"create", "clean", "stop", "convert", "cache"});
}

TEST_CASE("a bake whose cleanup fails removes the temporary machine and caches nothing", "[bake]") {
    Fixture f;
    expect_bake_provision(f.session);
    f.session.expect_run({"cloud-init clean"}, {1, "", "cloud-init: No such file"});
    MachineService machines(f.ports());
    ImageBakeService baker(machines, f.cache, f.tools, f.locator());

    auto report = baker.bake(f.request());
    REQUIRE(!report);
    CHECK(report.error().message.find("cleaning the temporary machine bake-gold failed") != std::string::npos);
    CHECK(f.script->calls == std::vector<std::string>{"precreate bake-gold", "create bake-gold", "remove bake-gold"});
    CHECK(f.tools.calls().empty());
    CHECK(!f.store.exists("bake-gold"));
    CHECK(!f.cache.find("gold"));
}

TEST_CASE("a bake whose qemu-img fails removes the temporary machine and leaves no partial file", "[bake]") {
    Fixture f;
    expect_bake_provision(f.session);
    f.session.expect_run({"cloud-init clean"});
    // (a longer prefix than the fixture's, so this answer wins)
    f.tools.on({"qemu-img", "convert", "-O"}, [](const Command& c) -> Result<CommandResult> {
        Fixture::write_bytes(c.argv.back(), "half");
        return CommandResult{1, "", "qemu-img: No space left on device", false};
    });
    MachineService machines(f.ports());
    ImageBakeService baker(machines, f.cache, f.tools, f.locator());

    auto report = baker.bake(f.request());
    REQUIRE(!report);
    CHECK(report.error().message.find("No space left on device") != std::string::npos);
    CHECK(f.script->calls.back() == "remove bake-gold");
    CHECK(!f.store.exists("bake-gold"));
    CHECK(!f.cache.find("gold"));
    for (const auto& entry : std::filesystem::directory_iterator(f.cache.dir()))
        CHECK(entry.path().filename().string().rfind(".bake-", 0) != 0);
}

TEST_CASE("an interrupted bake stops at the next phase and removes the temporary machine", "[bake]") {
    Fixture f;
    expect_bake_provision(f.session);
    MachineService machines(f.ports());
    ImageBakeService baker(machines, f.cache, f.tools, f.locator());
    BakeRequest request = f.request();
    request.interrupted = [] { return true; };

    auto report = baker.bake(request);
    REQUIRE(!report);
    CHECK(report.error().message == "berth image bake was interrupted");
    CHECK(f.script->calls == std::vector<std::string>{"precreate bake-gold", "create bake-gold", "remove bake-gold"});
    CHECK(f.tools.calls().empty());
    CHECK(!f.store.exists("bake-gold"));
}

TEST_CASE("a bake is refused before anything is made: taken name, unknown source, flags it sets", "[bake]") {
    Fixture f;
    MachineService machines(f.ports());
    ImageBakeService baker(machines, f.cache, f.tools, f.locator());

    BakeRequest taken = f.request();
    taken.name = "debian-12";
    CHECK(baker.bake(taken).error().kind == ErrorKind::Conflict);

    BakeRequest unknown = f.request();
    unknown.source = "debian-13";
    CHECK(baker.bake(unknown).error().kind == ErrorKind::NotFound);

    BakeRequest image_flag = f.request();
    image_flag.driver_flags["image"] = {"ubuntu-24.04"};
    CHECK(baker.bake(image_flag).error().kind == ErrorKind::Usage);

    BakeRequest bad_name = f.request();
    bad_name.name = "gold;rm -rf /";
    CHECK(baker.bake(bad_name).error().kind == ErrorKind::Usage);

    CHECK(f.script->calls.empty());
    CHECK(f.tools.calls().empty());
    CHECK(f.session.transcript().empty());
}

TEST_CASE("image.json keeps what an image was baked from and holds - a bad packages list is refused", "[bake]") {
    CachedImage image;
    image.name = "gold";
    image.source = "baked from debian-12";
    image.disk_file = "disk.qcow2";
    image.format = "qcow2";
    image.sha256 = "ab";
    image.baked_from = "debian-12";
    image.packages = {"docker.io", "apparmor"};
    auto back = CachedImage::from_json(image.to_json(), "image.json");
    REQUIRE(back);
    CHECK(back->baked_from == "debian-12");
    CHECK(back->packages == image.packages);

    CachedImage pulled = image;
    pulled.baked_from.clear();
    pulled.packages.clear();
    CHECK(!pulled.to_json().contains("baked_from"));

    auto bad = image.to_json();
    bad["packages"] = "docker.io";
    CHECK(!CachedImage::from_json(bad, "image.json"));
}

TEST_CASE("the libvirt disk locator asks virsh for the machine's own volume, on this host only", "[bake]") {
    test::FakeRunner virsh;
    virsh.on({"virsh"}, 0, "/var/lib/libvirt/images/berth/bake-gold.qcow2\n");
    Machine machine;
    machine.record.name = "bake-gold";
    machine.record.driver = {{"uri", "qemu:///system"}, {"pool", "berth"},
                             {"volumes", {{"disk", "bake-gold.qcow2"}, {"seed", "bake-gold-seed.iso"}}}};
    auto path = libvirt_disk_locator(virsh)(machine);
    REQUIRE(path);
    CHECK(*path == "/var/lib/libvirt/images/berth/bake-gold.qcow2");
    REQUIRE(virsh.calls().size() == 1);
    CHECK(virsh.calls()[0] ==
          std::vector<std::string>{"virsh", "-c", "qemu:///system", "vol-path", "--pool", "berth", "bake-gold.qcow2"});

    machine.record.driver["uri"] = "qemu+ssh://root@hv1/system";
    auto remote = libvirt_disk_locator(virsh)(machine);
    REQUIRE(!remote);
    CHECK(remote.error().kind == ErrorKind::Usage);
    CHECK(virsh.calls().size() == 1);  // refused before virsh runs

    machine.record.driver = {{"size", "1"}};  // another driver's record
    CHECK(!libvirt_disk_locator(virsh)(machine));
}
