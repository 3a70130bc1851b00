// The libvirt driver against libvirt's in-process test driver (test:///default: no daemon, no
// hypervisor). Its state lives as long as one connection to it is open, so every scenario holds a
// `keeper` connection. The test driver has no volume upload (virStorageVolUpload), so uploads go
// through a fake VolumeUploader; genisoimage runs through a fake Runner. One test at the end uses a
// real libvirtd at qemu:///system when one is reachable, and is skipped otherwise.

#include <berth/drivers/libvirt/libvirt_driver.h>
#include <berth/drivers/libvirt/shared_volume.h>
#include <berth/drivers/libvirt/volume_record.h>

#include <berth/core/digest.h>
#include <berth/core/escape.h>
#include <berth/store/atomic_file.h>
#include <berth/transport/known_hosts.h>
#include <berth/transport/ssh_key.h>

#include "../../../tests/fakes/fake_clock.h"
#include "../../../tests/fakes/fake_runner.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <map>
#include <mutex>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace berth;
using namespace berth::libvirt;
using berth::test::FakeClock;
using berth::test::FakeRunner;
using berth::test::TempDir;
using berth::test::write_text;

namespace {

constexpr const char* k_test_uri = "test:///default";

struct FakeUploader final : VolumeUploader {
    std::vector<std::pair<std::string, std::filesystem::path>> uploads;
    /// What each volume holds (size, sha256), as the real uploader would read it back.
    std::map<std::string, std::pair<std::uint64_t, std::string>> contents;
    /// Volumes read back whole (content_digest), by name.
    std::map<std::string, int> read_backs;
    /// With `stamped`, plays a file-backed pool (the hooks' volume_stamp): every write gives the
    /// volume a new ctime and mtime. Without, volumes have no stamp, like the test driver's.
    bool stamped = false;
    std::map<std::string, VolumeStamp> stamps;
    int writes = 0;
    std::mutex mutex;  ///< one uploader may serve several machines' threads
    Result<void> upload(StorageVolume& volume, const std::filesystem::path& file) override {
        std::lock_guard lock(mutex);
        uploads.emplace_back(volume.name(), file);
        auto digest = file_digest(file);
        if (!digest) return std::unexpected(digest.error());
        contents[volume.name()] = *digest;
        stamp_write(volume.name());
        return {};
    }
    /// Someone writes `bytes` (of the same size) into the volume behind berth's back.
    void overwrite(const std::string& name, const std::string& bytes) {
        std::lock_guard lock(mutex);
        contents.at(name).second = sha256_hex(bytes);
        stamp_write(name);
    }
    Result<std::optional<VolumeStamp>> stamp(StorageVolume& volume) {
        std::lock_guard lock(mutex);
        const auto it = stamps.find(volume.name());
        if (!stamped || it == stamps.end()) return std::optional<VolumeStamp>();
        return std::optional<VolumeStamp>(it->second);
    }
    int read_back_count(const std::string& name) {
        std::lock_guard lock(mutex);
        return read_backs[name];
    }
    Result<std::pair<std::uint64_t, std::string>> content_digest(StorageVolume& volume) override {
        std::lock_guard lock(mutex);
        ++read_backs[volume.name()];
        const auto it = contents.find(volume.name());
        if (it == contents.end()) return std::pair<std::uint64_t, std::string>{0, sha256_hex("")};
        return it->second;
    }

private:
    void stamp_write(const std::string& name) {
        const std::string now = "1796563804." + std::to_string(100000000 + ++writes);
        stamps[name] = VolumeStamp{.size = contents[name].first, .ctime = now, .mtime = now};
    }
};

/// Takes spdlog's default logger, at debug level, into `text` while it lives.
struct LogCapture {
    std::ostringstream text;
    std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
    LogCapture() {
        auto logger = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(text));
        logger->set_level(spdlog::level::debug);
        spdlog::set_default_logger(logger);
    }
    ~LogCapture() { spdlog::set_default_logger(previous); }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;
};

/// Plays genisoimage: answers -version, writes the -output file.
void script_genisoimage(FakeRunner& runner) {
    runner.on({"genisoimage"}, [](const Command& command) -> Result<CommandResult> {
        for (std::size_t i = 0; i + 1 < command.argv.size(); ++i)
            if (command.argv[i] == "-output") write_text(command.argv[i + 1], "ISO");
        CommandResult r;
        r.exit_status = 0;
        return r;
    });
}

/// The bytes of a file that looks like a qcow2 (header only) of `virtual_size` bytes.
std::string qcow2_header(std::uint64_t virtual_size) {
    std::string header(512, '\0');
    header[0] = 'Q';
    header[1] = 'F';
    header[2] = 'I';
    header[3] = static_cast<char>(0xfb);
    header[7] = 3;
    for (int i = 0; i < 8; ++i) header[31 - static_cast<std::size_t>(i)] = static_cast<char>((virtual_size >> (8 * i)) & 0xff);
    return header;
}

void write_qcow2_header(const std::filesystem::path& path, std::uint64_t virtual_size) {
    std::ofstream(path, std::ios::binary) << qcow2_header(virtual_size);
}

/// The harness's image: its disk's real sha256 (the image cache's record is trusted for it, so a
/// made-up digest would never match what is uploaded), and the stem of its shared volumes.
const std::string k_sha = sha256_hex(qcow2_header(4ULL << 30));
const std::string k_base = "base-" + k_sha.substr(0, 16);

std::string read_all(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// One machine's driver with fakes, plus what it needs on disk.
struct Harness {
    TempDir dir;
    std::shared_ptr<FakeUploader> uploader = std::make_shared<FakeUploader>();
    FakeRunner runner;
    FakeClock clock;  ///< waits (for an address, for a shutdown) take no real time
    LibvirtHooks hooks;
    bool with_kernel = true;
    std::optional<std::filesystem::path> templates_dir;
    std::atomic<int> lock_waits{0};
    std::filesystem::path locks_dir = dir / "locks";  ///< the store's locks (shared by harnesses that share a store)
    std::filesystem::path cache_dir = dir / "cache";  ///< the store's cache: records of verified volumes
    /// The records file of the harness's image.
    std::filesystem::path records() const { return cache_dir / "libvirt-volumes" / (k_base + ".json"); }

    Harness() {
        std::filesystem::create_directories(dir / "locks");
        write_qcow2_header(dir / "base.qcow2", 4ULL << 30);
        write_text(dir / "vmlinuz", "kernel");
        write_text(dir / "initrd.img", "initrd");
        hooks.uploader = uploader;
        hooks.volume_stamp = [this](StorageVolume& volume) { return uploader->stamp(volume); };
        script_genisoimage(runner);
        hooks.address_timeout = std::chrono::milliseconds(200);
        hooks.shutdown_timeout = std::chrono::milliseconds(200);
        hooks.poll_interval = std::chrono::milliseconds(10);
        hooks.dev_kvm_exists = [] { return true; };
        hooks.cpuinfo = [] { return std::string("flags\t: fpu sse2\n"); };  // no vmx/svm: like this CI host
    }

    std::unique_ptr<Driver> make(const std::string& machine) {
        DriverContext ctx;
        ctx.machine = machine;
        ctx.machine_dir = dir / machine;
        std::filesystem::create_directories(ctx.machine_dir);
        ctx.runner = &runner;
        ctx.clock = &clock;
        ctx.templates_dir = templates_dir;
        ctx.cache_dir = cache_dir;
        ctx.shared_lock = [this](std::string_view key, std::string_view what) {
            return FileLock::acquire(locks_dir / (std::string(key) + ".lock"), what, std::chrono::minutes(5),
                                     [this](const std::string&) { ++lock_waits; });
        };
        ctx.image = [this](std::string_view name) -> Result<ImageFiles> {
            if (name != "debian-12") return fail_kind(ErrorKind::NotFound, "no image " + std::string(name));
            ImageFiles f;
            f.name = "debian-12";
            f.disk = dir / "base.qcow2";
            f.sha256 = k_sha;
            if (with_kernel) {
                f.kernel = dir / "vmlinuz";
                f.initrd = dir / "initrd.img";
            }
            return f;
        };
        return libvirt_driver_info(hooks).make(ctx);
    }

    std::unique_ptr<Driver> configured(const std::string& machine, OptionValues extra = {}) {
        auto d = make(machine);
        extra["uri"] = {k_test_uri};
        auto r = d->configure(extra);
        REQUIRE(r);
        return d;
    }
};

std::vector<std::string> volume_names(const Connection& conn) {
    auto pool = conn.pool("berth");
    REQUIRE(pool);
    if (!*pool) return {};
    auto names = (*pool)->volume_names();
    REQUIRE(names);
    std::sort(names->begin(), names->end());
    return *names;
}

DomainSpec golden_spec() {
    DomainSpec spec;
    spec.name = "berth-web1";
    spec.virt_type = "qemu";
    spec.memory_mib = 1536;
    spec.cpus = 2;
    spec.disk_path = "/var/lib/libvirt/images/berth/web1.qcow2";
    spec.data_disk_path = "/var/lib/libvirt/images/berth/web1-data.qcow2";
    spec.seed_path = "/var/lib/libvirt/images/berth/web1-seed.iso";
    spec.kernel_path = "/var/lib/libvirt/images/berth/base-0123456789abcdef-kernel";
    spec.initrd_path = "/var/lib/libvirt/images/berth/base-0123456789abcdef-initrd";
    spec.kernel_cmdline = "root=/dev/vda rw console=ttyS0 net.ifnames=0";
    spec.network = "default";
    return spec;
}

void check_golden(const std::string& file, const std::string& actual) {
    const std::filesystem::path path = std::filesystem::path(BERTH_LIBVIRT_GOLDEN_DIR) / file;
    if (std::getenv("BERTH_UPDATE_GOLDEN") != nullptr) write_text(path, actual);
    INFO("golden file " << path << " (BERTH_UPDATE_GOLDEN=1 rewrites it)");
    CHECK(read_all(path) == actual);
}

}  // namespace

// --- options ----------------------------------------------------------------------------------

TEST_CASE("libvirt: flags, variables and defaults", "[libvirt]") {
    auto info = libvirt_driver_info();
    std::vector<std::string> flags;
    for (const auto& o : info.options) flags.push_back(option_flag(info.name, o));
    CHECK(flags == std::vector<std::string>{"--libvirt-uri", "--libvirt-cpu-count", "--libvirt-memory",
                                            "--libvirt-disk-size", "--libvirt-data-disk-size", "--libvirt-network",
                                            "--libvirt-image", "--libvirt-virt-type", "--libvirt-ssh-user"});
    CHECK(option_env_var(info.name, info.options[7]) == "BERTH_LIBVIRT_VIRT_TYPE");
    auto values = resolve_options(info, {}, [](const std::string&) { return std::nullopt; });
    REQUIRE(values);
    CHECK(values->at("uri") == std::vector<std::string>{"qemu:///system"});
    CHECK(values->at("memory") == std::vector<std::string>{"2048"});
    CHECK(values->at("data-disk-size") == std::vector<std::string>{"20"});
    CHECK(values->at("virt-type") == std::vector<std::string>{"auto"});
    CHECK(values->at("ssh-user") == std::vector<std::string>{"docker"});
}

TEST_CASE("libvirt: a record written by an earlier berth loads and saves byte for byte", "[libvirt]") {
    Harness h;
    const std::string record =
        R"({"base_volume":"base-0123456789abcdef.qcow2","chosen_virt_type":"qemu","cpu_count":4,"data_disk_size":30,)"
        R"("disk_size":40,"domain":"berth-web1","image":"debian-12","initrd_volume":"base-0123456789abcdef-initrd",)"
        R"("instance_id":"berth-web1-00112233","kernel_volume":"base-0123456789abcdef-kernel","memory":4096,)"
        R"("network":"default","pool":"berth","ssh_user":"admin","uri":"qemu+ssh://me@host/system",)"
        R"("virt_type":"auto","volumes":{"data_disk":"web1-data.qcow2","disk":"web1.qcow2","seed":"web1-seed.iso"}})";
    auto d = h.make("web1");
    REQUIRE(d->load(nlohmann::json::parse(record)));
    CHECK(d->save().dump() == record);

    // A record from before most settings existed: the option table's defaults fill the rest.
    auto old = h.make("web2");
    REQUIRE(old->load(nlohmann::json::parse(R"({"uri":"test:///default","data_disk_size":0})")));
    CHECK(old->save().dump() ==
          R"({"base_volume":"","chosen_virt_type":"","cpu_count":2,"data_disk_size":0,"disk_size":20,)"
          R"("domain":"berth-web2","image":"debian-12","initrd_volume":"","instance_id":"","kernel_volume":"",)"
          R"("memory":2048,"network":"default","pool":"berth","ssh_user":"docker","uri":"test:///default",)"
          R"("virt_type":"auto","volumes":{"disk":"web2.qcow2","seed":"web2-seed.iso"}})");
    auto damaged = h.make("web3")->load(nlohmann::json::parse(R"({"memory":"lots"})"));
    REQUIRE_FALSE(damaged);
    CHECK(damaged.error().message.starts_with("the libvirt driver's settings of \"web3\" are damaged: "));
}

TEST_CASE("libvirt: bad option values are usage errors naming the flag", "[libvirt]") {
    Harness h;
    auto d = h.make("o1");
    struct Case {
        OptionValues values;
        std::string flag;
    };
    std::vector<Case> cases = {
        {{{"memory", {"lots"}}}, "--libvirt-memory"},
        {{{"memory", {"100"}}}, "--libvirt-memory"},
        {{{"cpu-count", {"0"}}}, "--libvirt-cpu-count"},
        {{{"disk-size", {"-3"}}}, "--libvirt-disk-size"},
        {{{"data-disk-size", {"1x"}}}, "--libvirt-data-disk-size"},
        {{{"virt-type", {"xen"}}}, "--libvirt-virt-type"},
        {{{"ssh-user", {"root"}}}, "--libvirt-ssh-user"},
        {{{"ssh-user", {"Bad User"}}}, "--libvirt-ssh-user"},
        {{{"uri", {"system"}}}, "--libvirt-uri"},
    };
    for (const auto& c : cases) {
        auto r = d->configure(c.values);
        INFO(c.flag);
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::Usage);
        CHECK(r.error().message.find(c.flag) != std::string::npos);
    }
    CHECK(d->configure({{"data-disk-size", {"0"}}, {"memory", {"512"}}}));
}

TEST_CASE("libvirt: save names the domain and every volume before anything is made", "[libvirt]") {
    Harness h;
    auto d = h.configured("s1", {{"memory", {"1024"}}});
    auto saved = d->save();
    CHECK(saved["domain"] == "berth-s1");
    CHECK(saved["pool"] == "berth");
    CHECK(saved["volumes"]["disk"] == "s1.qcow2");
    CHECK(saved["volumes"]["data_disk"] == "s1-data.qcow2");
    CHECK(saved["volumes"]["seed"] == "s1-seed.iso");
    CHECK(saved["memory"] == 1024);
    CHECK(saved["uri"] == k_test_uri);

    auto again = h.make("s1");
    REQUIRE(again->load(saved));
    CHECK(again->save() == saved);
}

// --- virt-type --------------------------------------------------------------------------------

TEST_CASE("libvirt: virt-type auto picks kvm only where guests can run", "[libvirt]") {
    const std::string vmx = "processor\t: 0\nflags\t\t: fpu vme de pse vmx sse2\n";
    const std::string svm = "flags\t\t: fpu svm lm\n";
    const std::string none = "flags\t\t: fpu vme de pse sse2 hypervisor\n";  // e.g. kvm_pvm: /dev/kvm, no vmx/svm

    CHECK(decide_virt_type("auto", "qemu:///system", true, vmx).value() == "kvm");
    CHECK(decide_virt_type("auto", "qemu:///system", true, svm).value() == "kvm");
    CHECK(decide_virt_type("auto", "qemu:///system", true, none).value() == "qemu");
    CHECK(decide_virt_type("auto", "qemu:///system", false, vmx).value() == "qemu");
    CHECK(decide_virt_type("auto", "qemu+ssh://root@host/system", true, vmx).value() == "qemu");
    CHECK(decide_virt_type("qemu", "qemu:///system", true, vmx).value() == "qemu");
    CHECK(decide_virt_type("kvm", "qemu:///system", true, vmx).value() == "kvm");
    CHECK(decide_virt_type("kvm", "qemu+ssh://host/system", false, none).value() == "kvm");
    auto refused = decide_virt_type("kvm", "qemu:///system", true, none);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == ErrorKind::PrecreateCheck);
    CHECK(refused.error().hint.find("--libvirt-virt-type qemu") != std::string::npos);
    CHECK_FALSE(decide_virt_type("xen", "qemu:///system", true, vmx));
    CHECK_FALSE(cpu_has_hw_virt("model name\t: svm vmx in a name\nflags\t: fpu\n"));

    CHECK(uri_is_local("qemu:///system"));
    CHECK(uri_is_local("qemu+unix:///session"));
    CHECK_FALSE(uri_is_local("qemu+ssh://user@host/system"));
    CHECK_FALSE(uri_is_local("qemu://host/system"));
    CHECK_FALSE(uri_is_local("qemu+tcp://localhost/system"));
}

// --- rendering --------------------------------------------------------------------------------

TEST_CASE("libvirt: domain XML matches the golden files", "[libvirt]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    auto tcg = render_domain_xml(*templates, golden_spec());
    REQUIRE(tcg);
    check_golden("domain-tcg-kernel.xml", *tcg);
    CHECK(tcg->find("<model fallback='forbid'>qemu64</model>") != std::string::npos);

    DomainSpec kvm = golden_spec();
    kvm.virt_type = "kvm";
    kvm.kernel_path.clear();
    kvm.initrd_path.clear();
    kvm.kernel_cmdline.clear();
    kvm.data_disk_path.clear();
    kvm.network = "lan & <dmz>";
    auto rendered = render_domain_xml(*templates, kvm);
    REQUIRE(rendered);
    check_golden("domain-kvm-bootloader.xml", *rendered);
    CHECK(rendered->find("host-passthrough") != std::string::npos);
    CHECK(rendered->find("lan &amp; &lt;dmz&gt;") != std::string::npos);
}

TEST_CASE("libvirt: the golden domain defines, starts, reports state and addresses", "[libvirt]") {
    auto conn = Connection::open(k_test_uri);
    REQUIRE(conn);
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    auto xml = render_domain_xml(*templates, golden_spec());
    REQUIRE(xml);
    auto dom = conn->define_domain(*xml);
    REQUIRE(dom);
    CHECK(dom->name() == "berth-web1");
    CHECK(map_domain_state(dom->state().value()) == MachineState::Stopped);
    REQUIRE(dom->start());
    CHECK(map_domain_state(dom->state().value()) == MachineState::Running);
    auto addrs = dom->addresses(AddressSource::Lease);
    REQUIRE(addrs);
    REQUIRE_FALSE(addrs->empty());
    CHECK(addrs->front().address.starts_with("192.168.122."));
    auto back = dom->xml();
    REQUIRE(back);
    CHECK(back->find("<cmdline>root=/dev/vda rw console=ttyS0 net.ifnames=0</cmdline>") != std::string::npos);
    REQUIRE(dom->destroy());
    REQUIRE(dom->undefine(false));
    CHECK_FALSE(conn->domain("berth-web1").value().has_value());
}

TEST_CASE("libvirt: cloud-init user-data is YAML with the key and no password", "[libvirt]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    CloudInitSpec spec{.hostname = "web1",
                       .user = "docker",
                       .ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG berth-web1",
                       .host_key_private = {},
                       .host_key_public = {},
                       .instance_id = "berth-web1-00112233",
                       .data_disk = true,
                       .dhcp_macs = {}};
    auto files = render_cloud_init(*templates, spec);
    REQUIRE(files);
    CHECK(files->user_data.starts_with("#cloud-config\n"));
    YAML::Node doc = YAML::Load(files->user_data);
    CHECK(doc["hostname"].as<std::string>() == "web1");
    CHECK_FALSE(doc["ssh_pwauth"].as<bool>());
    const YAML::Node user = doc["users"][0];
    CHECK(user["name"].as<std::string>() == "docker");
    CHECK(user["lock_passwd"].as<bool>());
    CHECK(user["sudo"].as<std::string>() == "ALL=(ALL) NOPASSWD:ALL");
    CHECK(user["shell"].as<std::string>() == "/bin/bash");
    CHECK(user["ssh_authorized_keys"][0].as<std::string>() == spec.ssh_public_key);
    CHECK_FALSE(user["passwd"]);
    CHECK_FALSE(user["plain_text_passwd"]);
    CHECK_FALSE(user["hashed_passwd"]);
    CHECK_FALSE(doc["password"]);
    CHECK_FALSE(doc["chpasswd"]);
    CHECK(doc["growpart"]["mode"].as<std::string>() == "auto");
    CHECK(doc["resize_rootfs"].as<bool>());
    CHECK(doc["fs_setup"][0]["device"].as<std::string>() == "/dev/vdb");
    CHECK(doc["mounts"][0][1].as<std::string>() == "/var/lib/docker");

    YAML::Node meta = YAML::Load(files->meta_data);
    CHECK(meta["instance-id"].as<std::string>() == "berth-web1-00112233");
    CHECK(meta["local-hostname"].as<std::string>() == "web1");

    spec.data_disk = false;
    auto plain = render_cloud_init(*templates, spec);
    REQUIRE(plain);
    YAML::Node no_data = YAML::Load(plain->user_data);
    CHECK_FALSE(no_data["fs_setup"]);
    CHECK_FALSE(no_data["mounts"]);
}

TEST_CASE("libvirt: qcow2 virtual size comes from the header", "[libvirt]") {
    TempDir dir;
    write_qcow2_header(dir / "a.qcow2", 4ULL << 30);
    CHECK(qcow2_virtual_size(dir / "a.qcow2") == std::optional<std::uint64_t>(4ULL << 30));
    write_text(dir / "raw.img", std::string(64, 'x'));
    CHECK_FALSE(qcow2_virtual_size(dir / "raw.img"));
    CHECK(base_volume_name("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef") ==
          "base-0123456789abcdef.qcow2");
}

// --- records of verified volumes (volume_record.h) -----------------------------------------------

TEST_CASE("libvirt: a volume's stamp is read from the XML libvirt wrote", "[libvirt][trust]") {
    const std::filesystem::path fixtures = std::filesystem::path(BERTH_LIBVIRT_FIXTURES_DIR);
    // A base volume in a dir pool at qemu:///system (libvirt 9.0).
    auto base = parse_volume_stamp(read_all(fixtures / "volume-dir-pool-qcow2.xml"));
    REQUIRE(base);
    CHECK(*base == VolumeStamp{.size = 1412431872, .ctime = "1796563804.793597046", .mtime = "1796563803.625750857"});
    // An overlay: its own timestamps, not its backing store's.
    auto overlay = parse_volume_stamp(read_all(fixtures / "volume-dir-pool-overlay.xml"));
    REQUIRE(overlay);
    CHECK(*overlay == VolumeStamp{.size = 196624, .ctime = "1796598772.451053210", .mtime = "1796598771.257750857"});
    // The test driver reports no physical size and no timestamps: no stamp, never trusted.
    CHECK_FALSE(parse_volume_stamp(read_all(fixtures / "volume-test-driver.xml")));
    std::string no_ctime = read_all(fixtures / "volume-dir-pool-qcow2.xml");
    no_ctime.replace(no_ctime.find("<ctime>") + 7, 20, "0");
    CHECK_FALSE(parse_volume_stamp(no_ctime));
}

TEST_CASE("libvirt: volume records save, load, and are ignored when damaged or newer", "[libvirt][trust]") {
    TempDir dir;
    const auto file = dir / "cache" / "libvirt-volumes" / "base-x.json";
    auto empty = VolumeRecords::load(file);
    CHECK(empty.all().empty());
    VolumeRecord a{.uri = "qemu:///system", .pool = "berth", .volume = "base-x.qcow2", .sha256 = k_sha,
                         .stamp = {.size = 512, .ctime = "1.000000002", .mtime = "1.000000001"}};
    VolumeRecord b = a;
    b.uri = "qemu+ssh://h/system";
    empty.put(a);
    empty.put(b);
    a.stamp.size = 513;
    empty.put(a);  // replaces the first
    REQUIRE(empty.save());
    CHECK((std::filesystem::status(file.parent_path()).permissions() & std::filesystem::perms::all) ==
          std::filesystem::perms::owner_all);
    auto loaded = VolumeRecords::load(file);
    CHECK(loaded.all() == std::vector<VolumeRecord>{b, a});
    CHECK(loaded.find("qemu:///system", "berth", "base-x.qcow2") == a);
    CHECK_FALSE(loaded.find("qemu:///system", "other", "base-x.qcow2"));
    write_text(file, read_all(file).replace(read_all(file).find("\"version\": 1"), 12, "\"version\": 2"));
    CHECK(VolumeRecords::load(file).all().empty());
    write_text(file, "{\"version\": 1, \"volumes\": [");
    CHECK(VolumeRecords::load(file).all().empty());
}

// --- the lifecycle against test:///default ------------------------------------------------------

TEST_CASE("libvirt: create, lifecycle and remove against the test driver", "[libvirt]") {
    auto keeper = Connection::open(k_test_uri);
    REQUIRE(keeper);
    Harness h;
    auto d = h.configured("web1");
    REQUIRE(d->precreate_check());

    REQUIRE(d->create());
    // The pool was made; shared and per-machine volumes are in it.
    CHECK(volume_names(*keeper) == std::vector<std::string>{k_base + "-initrd",
                                                            k_base + "-kernel",
                                                            k_base + ".qcow2", "web1-data.qcow2",
                                                            "web1-seed.iso", "web1.qcow2"});
    REQUIRE(h.uploader->uploads.size() == 4);
    CHECK(h.uploader->uploads[0].first == k_base + ".qcow2");
    CHECK(h.uploader->uploads[3].first == "web1-seed.iso");
    // genisoimage ran as an argv, with the NoCloud label and the three files.
    const auto calls = h.runner.calls();
    REQUIRE_FALSE(calls.empty());
    const auto& iso = calls.back();
    CHECK(iso[0] == "genisoimage");
    CHECK(std::find(iso.begin(), iso.end(), "cidata") != iso.end());
    CHECK(std::count_if(iso.begin(), iso.end(), [](const std::string& a) {
              return a.ends_with("/user-data") || a.ends_with("/meta-data");
          }) == 2);
    CHECK(std::filesystem::exists(h.dir / "web1" / "id_ed25519"));
    const std::string user_data = read_all(h.dir / "web1" / "cloud-init" / "user-data");
    CHECK(user_data.find(public_key_line(h.dir / "web1" / "id_ed25519").value()) != std::string::npos);

    auto dom = keeper->domain("berth-web1");
    REQUIRE(dom);
    REQUIRE(dom->has_value());
    const std::string xml = (*dom)->xml().value();
    CHECK(xml.find("<domain type='qemu'") != std::string::npos);  // no vmx/svm: TCG although /dev/kvm exists
    CHECK(xml.find("/var/lib/libvirt/images/berth/web1.qcow2") != std::string::npos);
    CHECK(xml.find(k_base + "-kernel") != std::string::npos);

    CHECK(d->state().value() == MachineState::Running);
    const std::string ip = d->ip().value();
    CHECK(ip.starts_with("192.168.122."));
    CHECK(d->docker_url().value() == "tcp://" + ip + ":2376");
    auto ssh = d->ssh_endpoint();
    REQUIRE(ssh);
    CHECK(ssh->user == "docker");
    CHECK(ssh->port == 22);
    CHECK(ssh->key_path == h.dir / "web1" / "id_ed25519");
    CHECK(d->cert_sans() == std::vector<std::string>{ip});
    CHECK(d->save()["chosen_virt_type"] == "qemu");
    CHECK(d->removal_note().empty());

    REQUIRE(d->stop());
    CHECK(d->state().value() == MachineState::Stopped);
    CHECK(d->stop());  // stopped already: fine
    auto no_ip = d->ip();
    REQUIRE_FALSE(no_ip);
    CHECK(no_ip.error().hint.find("berth start web1") != std::string::npos);
    REQUIRE(d->start());
    CHECK(d->state().value() == MachineState::Running);
    REQUIRE(d->restart());
    CHECK(d->state().value() == MachineState::Running);
    REQUIRE(d->kill());
    CHECK(d->state().value() == MachineState::Stopped);
    REQUIRE(d->start());

    // A second create of a different machine reuses the base volume: only its seed is uploaded.
    auto d2 = h.configured("web2", {{"data-disk-size", {"0"}}});
    REQUIRE(d2->create());
    REQUIRE(h.uploader->uploads.size() == 5);
    CHECK(h.uploader->uploads[4].first == "web2-seed.iso");

    REQUIRE(d->remove());  // running: destroyed, undefined, its volumes deleted
    CHECK_FALSE(keeper->domain("berth-web1").value().has_value());
    CHECK(volume_names(*keeper) == std::vector<std::string>{k_base + "-initrd",
                                                            k_base + "-kernel",
                                                            k_base + ".qcow2", "web2-seed.iso",
                                                            "web2.qcow2"});
    REQUIRE(d->remove());  // idempotent
    auto gone = d->state();
    REQUIRE_FALSE(gone);
    CHECK(gone.error().kind == ErrorKind::NotFound);

    REQUIRE(d2->remove());
    CHECK(volume_names(*keeper) == std::vector<std::string>{k_base + "-initrd",
                                                            k_base + "-kernel",
                                                            k_base + ".qcow2"});
}

TEST_CASE("libvirt: the seed carries a host key berth pinned - discard_seed ejects and deletes it", "[libvirt]") {
    auto keeper = Connection::open(k_test_uri);
    REQUIRE(keeper);
    Harness h;
    auto d = h.configured("hk1");
    REQUIRE(d->create());
    const auto mdir = h.dir / "hk1";
    // The VM's host key is in the seed, and its public half is pinned before the first boot.
    YAML::Node doc = YAML::Load(read_all(mdir / "cloud-init" / "user-data"));
    CHECK(doc["ssh_deletekeys"].as<bool>());
    CHECK(doc["ssh_genkeytypes"].size() == 0);  // no other key types
    const std::string priv = doc["ssh_keys"]["ed25519_private"].as<std::string>();
    const std::string pub = doc["ssh_keys"]["ed25519_public"].as<std::string>();
    CHECK(priv.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
    write_text(h.dir / "host_key", priv);
    std::filesystem::permissions(h.dir / "host_key", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    const std::string derived = public_key_line(h.dir / "host_key").value();
    CHECK(pub.starts_with(derived + " "));  // the pair matches
    const auto pins = pinned_keys(mdir / "known_hosts", "berth-hk1");
    REQUIRE(pins.size() == 1);
    CHECK(pins[0].type + " " + pins[0].base64 == derived);
    // Root-only until it is gone.
    CHECK(berth::test::file_mode(mdir / "seed.iso") == 0600);
    CHECK(berth::test::file_mode(mdir / "cloud-init" / "user-data") == 0600);
    CHECK(berth::test::file_mode(mdir / "known_hosts") == 0600);
    auto pool = keeper->pool("berth").value();
    REQUIRE(pool);
    REQUIRE(pool->volume("hk1-seed.iso").value());

    REQUIRE(d->discard_seed());
    REQUIRE(d->kill());  // the test driver cannot eject live: its definition has no CD-ROM any more
    auto dom = keeper->domain("berth-hk1").value();
    REQUIRE(dom);
    CHECK(dom->xml().value().find("device='cdrom'") == std::string::npos);
    CHECK_FALSE(pool->volume("hk1-seed.iso").value());
    CHECK_FALSE(std::filesystem::exists(mdir / "seed.iso"));
    CHECK_FALSE(std::filesystem::exists(mdir / "cloud-init"));
    CHECK(pinned_keys(mdir / "known_hosts", "berth-hk1").size() == 1);  // the pin stays
    REQUIRE(d->discard_seed());  // gone already: fine
    REQUIRE(d->remove());
}

TEST_CASE("libvirt: a create waits while another berth process uploads the same base image", "[libvirt]") {
    auto keeper = Connection::open(k_test_uri);
    REQUIRE(keeper);
    Harness h;
    // Another process is uploading this image: it holds the image's shared lock.
    std::optional<FileLock> other;
    {
        auto lock = FileLock::try_acquire(h.dir / "locks" / ("libvirt-" + k_base + ".lock"), "the base image");
        REQUIRE(lock);
        other.emplace(std::move(*lock));
    }
    auto d = h.configured("web1");
    Result<void> created;
    std::atomic<bool> done{false};
    std::thread creating([&] {
        created = d->create();
        done = true;
    });
    while (h.lock_waits == 0 && !done) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(h.lock_waits == 1);
    CHECK(h.uploader->uploads.empty());  // waiting: nothing uploaded, not even this machine's seed
    CHECK(volume_names(*keeper) == std::vector<std::string>{});
    other.reset();  // the other process finishes
    creating.join();
    REQUIRE(created);
    CHECK(h.uploader->uploads.size() == 4);
    REQUIRE(d->remove());
}

TEST_CASE("libvirt: the network and the storage pool are set up under a store-wide lock", "[libvirt]") {
    auto keeper = Connection::open(k_test_uri);
    REQUIRE(keeper);
    Harness h;
    // Another berth process is defining libvirt's network and pool: it holds the setup lock.
    std::optional<FileLock> other;
    {
        auto lock = FileLock::try_acquire(h.dir / "locks" / "libvirt-setup.lock", "libvirt's network and pool");
        REQUIRE(lock);
        other.emplace(std::move(*lock));
    }
    auto d = h.configured("web1");
    Result<void> created;
    std::atomic<bool> done{false};
    std::thread creating([&] {
        created = d->create();
        done = true;
    });
    while (h.lock_waits == 0 && !done) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(h.lock_waits == 1);
    auto pool = keeper->pool("berth");
    REQUIRE(pool);
    CHECK_FALSE(pool->has_value());  // waiting: the pool is not made twice
    other.reset();
    creating.join();
    REQUIRE(created);
    pool = keeper->pool("berth");
    REQUIRE(pool);
    CHECK(pool->has_value());
    REQUIRE(d->remove());
}

TEST_CASE("libvirt: 8 creates at once on one store share one base upload, one pool and one network",
          "[libvirt][stress]") {
    auto keeper = Connection::open(k_test_uri);
    REQUIRE(keeper);
    TempDir store;
    std::filesystem::create_directories(store / "locks");
    auto uploader = std::make_shared<FakeUploader>();
    constexpr int n = 8;
    std::vector<std::unique_ptr<Harness>> harnesses;
    std::vector<std::unique_ptr<Driver>> drivers;
    for (int i = 0; i < n; ++i) {
        harnesses.push_back(std::make_unique<Harness>());
        Harness& h = *harnesses.back();
        h.uploader = uploader;
        h.hooks.uploader = uploader;
        h.locks_dir = store / "locks";
        drivers.push_back(h.configured("web" + std::to_string(i)));
    }
    std::vector<Result<void>> created(n);
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < n; ++i) threads.emplace_back([&, i] { created[static_cast<std::size_t>(i)] = drivers[static_cast<std::size_t>(i)]->create(); });
    }
    for (const auto& r : created) {
        INFO((r ? std::string() : r.error().message));
        CHECK(r);
    }
    std::map<std::string, int> uploads;
    for (const auto& [volume, file] : uploader->uploads) ++uploads[volume];
    CHECK(uploads[k_base + ".qcow2"] == 1);
    CHECK(uploads[k_base + "-kernel"] == 1);
    CHECK(uploads[k_base + "-initrd"] == 1);
    const auto volumes = volume_names(*keeper);
    CHECK(volumes.size() == 3 + 3 * n);  // the shared pieces, then each machine's disk, data disk and seed
    for (auto& d : drivers) CHECK(d->remove());
    CHECK(volume_names(*keeper).size() == 3);  // the shared pieces stay for the next machine
}

TEST_CASE("libvirt: a base volume is reused only when its content matches the image's digest",
          "[libvirt][trust]") {
    auto keeper = Connection::open(k_test_uri);
    REQUIRE(keeper);
    Harness h;
    auto d = h.configured("web1");
    REQUIRE(d->create());
    REQUIRE(h.uploader->uploads.size() == 4);

    // Someone puts other bytes of the same size under the base volume's name.
    const std::string base = k_base + ".qcow2";
    auto& held = h.uploader->contents.at(base);
    held.second = sha256_hex("not the image");
    auto d2 = h.configured("web2", {{"data-disk-size", {"0"}}});
    REQUIRE(d2->create());
    REQUIRE(h.uploader->uploads.size() == 6);
    CHECK(h.uploader->uploads[4].first == base);  // refused and uploaded again
    CHECK(h.uploader->uploads[4].second == h.dir / "base.qcow2");
    CHECK(h.uploader->uploads[5].first == "web2-seed.iso");
    CHECK(h.uploader->contents.at(base) == file_digest(h.dir / "base.qcow2").value());

    // Intact: reused as it is.
    auto d3 = h.configured("web3", {{"data-disk-size", {"0"}}});
    REQUIRE(d3->create());
    REQUIRE(h.uploader->uploads.size() == 7);
    CHECK(h.uploader->uploads[6].first == "web3-seed.iso");
    for (auto* m : {&d, &d2, &d3}) REQUIRE((*m)->remove());
}

TEST_CASE("libvirt: an unchanged shared volume is trusted on berth's record, a changed one is read back",
          "[libvirt][trust]") {
    auto keeper = Connection::open(k_test_uri);
    REQUIRE(keeper);
    Harness h;
    h.uploader->stamped = true;  // a file-backed pool: libvirt reports size, ctime and mtime
    const std::string base = k_base + ".qcow2";
    auto d = h.configured("web1");
    REQUIRE(d->create());
    REQUIRE(h.uploader->uploads.size() == 4);
    // Uploaded: recorded with the image record's sha256 and the volume's stamp, nothing read back.
    auto records = VolumeRecords::load(h.records());
    REQUIRE(records.all().size() == 3);
    auto record = records.find(k_test_uri, "berth", base);
    REQUIRE(record);
    CHECK(record->sha256 == k_sha);
    CHECK(record->stamp == h.uploader->stamps.at(base));
    CHECK(h.uploader->read_backs.empty());
    CHECK((std::filesystem::status(h.records()).permissions() & std::filesystem::perms::all) ==
          (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));

    // Unchanged: reused without reading it back.
    auto d2 = h.configured("web2", {{"data-disk-size", {"0"}}});
    {
        LogCapture log;
        REQUIRE(d2->create());
        CHECK(log.text.str().find("volume " + base + " trusted without reading it back") != std::string::npos);
    }
    CHECK(h.uploader->read_backs.empty());
    REQUIRE(h.uploader->uploads.size() == 5);
    CHECK(h.uploader->uploads[4].first == "web2-seed.iso");

    // Other bytes written into the base volume behind berth's back: new timestamps, read back,
    // found different, uploaded again, and recorded anew.
    h.uploader->overwrite(base, std::string(512, 'x'));
    auto d3 = h.configured("web3", {{"data-disk-size", {"0"}}});
    {
        LogCapture log;
        REQUIRE(d3->create());
        CHECK(log.text.str().find("reading volume " + base + " back to check it: its size or timestamps changed") !=
              std::string::npos);
    }
    CHECK(h.uploader->read_back_count(base) == 1);
    CHECK(h.uploader->read_back_count(k_base + "-kernel") == 0);
    REQUIRE(h.uploader->uploads.size() == 7);
    CHECK(h.uploader->uploads[5].first == base);
    CHECK(h.uploader->contents.at(base).second == k_sha);
    CHECK(VolumeRecords::load(h.records()).find(k_test_uri, "berth", base)->stamp == h.uploader->stamps.at(base));

    auto d4 = h.configured("web4", {{"data-disk-size", {"0"}}});
    REQUIRE(d4->create());
    CHECK(h.uploader->read_back_count(base) == 1);  // the new copy is trusted again
    for (auto* m : {&d, &d2, &d3, &d4}) REQUIRE((*m)->remove());
}

TEST_CASE("libvirt: a shared volume is read back without a stamp, without a record or with another sha256",
          "[libvirt][trust]") {
    auto keeper = Connection::open(k_test_uri);
    REQUIRE(keeper);
    Harness h;
    const std::string base = k_base + ".qcow2";
    auto d = h.configured("web1");
    REQUIRE(d->create());

    // No stamp (the test driver reports no timestamps): read back on every create.
    std::vector<std::unique_ptr<Driver>> more;
    for (int i = 2; i <= 3; ++i) {
        more.push_back(h.configured("web" + std::to_string(i), {{"data-disk-size", {"0"}}}));
        REQUIRE(more.back()->create());
        CHECK(h.uploader->read_back_count(base) == i - 1);
    }

    // Stamped now, but no record of a verified copy: read back once, then recorded and trusted.
    h.uploader->stamped = true;
    h.uploader->overwrite(k_base + "-kernel", "kernel");  // same bytes, new stamp
    h.uploader->overwrite(k_base + "-initrd", "initrd");
    h.uploader->overwrite(base, qcow2_header(4ULL << 30));
    for (int i = 4; i <= 5; ++i) {
        more.push_back(h.configured("web" + std::to_string(i), {{"data-disk-size", {"0"}}}));
        REQUIRE(more.back()->create());
        CHECK(h.uploader->read_back_count(base) == 3);
        CHECK(h.uploader->read_back_count(k_base + "-kernel") == 3);
    }

    // A record whose sha256 is not the wanted one vouches for nothing; a damaged file for nothing.
    auto records = VolumeRecords::load(h.records());
    auto record = records.find(k_test_uri, "berth", base);
    REQUIRE(record);
    record->sha256 = sha256_hex("another image");
    records.put(*record);
    REQUIRE(records.save());
    more.push_back(h.configured("web6", {{"data-disk-size", {"0"}}}));
    REQUIRE(more.back()->create());
    CHECK(h.uploader->read_back_count(base) == 4);
    CHECK(h.uploader->read_back_count(k_base + "-kernel") == 3);
    CHECK(VolumeRecords::load(h.records()).find(k_test_uri, "berth", base)->sha256 == k_sha);
    write_text(h.records(), "{\"version\": 1, \"volumes\": [{\"uri\": 7}]}");
    more.push_back(h.configured("web7", {{"data-disk-size", {"0"}}}));
    REQUIRE(more.back()->create());
    CHECK(h.uploader->read_back_count(base) == 5);
    CHECK(h.uploader->read_back_count(k_base + "-kernel") == 4);
    CHECK(h.uploader->uploads.size() == 4 + 6);  // never uploaded again: only the seeds
    REQUIRE(d->remove());
    for (auto& m : more) REQUIRE(m->remove());
}

TEST_CASE("libvirt: the base disk's sha256 comes from the image record - the kernel and initrd are hashed",
          "[libvirt][trust]") {
    auto keeper = Connection::open(k_test_uri);
    REQUIRE(keeper);
    Harness h;
    auto d = h.configured("web1");
    REQUIRE(d->create());
    REQUIRE(h.uploader->uploads.size() == 4);
    // The cached files change (same sizes). The disk is not hashed again: the volume is checked
    // against the image record's sha256, which it still holds. The kernel is hashed: it differs.
    std::string disk = qcow2_header(4ULL << 30);
    disk.back() = 'x';
    write_text(h.dir / "base.qcow2", disk);
    write_text(h.dir / "vmlinuz", "kernal");
    auto d2 = h.configured("web2", {{"data-disk-size", {"0"}}});
    REQUIRE(d2->create());
    REQUIRE(h.uploader->uploads.size() == 6);
    CHECK(h.uploader->uploads[4].first == k_base + "-kernel");
    CHECK(h.uploader->uploads[5].first == "web2-seed.iso");
    CHECK(h.uploader->read_back_count(k_base + ".qcow2") == 1);
    REQUIRE(d->remove());
    REQUIRE(d2->remove());
}

TEST_CASE("libvirt: a qcow2 image with a backing file is refused before anything is uploaded",
          "[libvirt][trust]") {
    auto keeper = Connection::open(k_test_uri);
    REQUIRE(keeper);
    Harness h;
    std::string header = read_all(h.dir / "base.qcow2");
    header[15] = static_cast<char>(0xc0);  // backing_file_offset = 0xc0
    header[19] = 10;                       // backing_file_size = 10
    header.replace(0xc0, 10, "/etc/passw");
    write_text(h.dir / "base.qcow2", header);
    auto d = h.configured("web1");
    auto created = d->create();
    REQUIRE_FALSE(created);
    CHECK(created.error().message.find("names a backing file") != std::string::npos);
    CHECK(h.uploader->uploads.empty());
    (void)d->remove();
}

TEST_CASE("libvirt: --templates-dir replaces the domain XML and cloud-init templates", "[libvirt]") {
    auto keeper = Connection::open(k_test_uri);
    REQUIRE(keeper);
    Harness h;
    h.templates_dir = h.dir / "templates";
    std::filesystem::create_directories(*h.templates_dir);
    for (const auto& t : embedded_templates()) {
        std::string text(t.content);
        if (t.name == "libvirt-domain.xml") {
            const auto at = text.find("</name>");
            REQUIRE(at != std::string::npos);
            text.insert(at + 7, "\n  <description>reviewed by ops</description>");
        } else if (t.name == "cloud-init-user-data") {
            text += "\nwrite_files:\n  - path: /etc/motd\n    content: reviewed by ops\n";
        } else {
            continue;
        }
        write_text(*h.templates_dir / (std::string(t.name) + ".mustache"), text);
    }
    auto d = h.configured("ops1");
    REQUIRE(d->create());
    auto dom = keeper->domain("berth-ops1");
    REQUIRE(dom);
    REQUIRE(dom->has_value());
    CHECK((*dom)->xml().value().find("<description>reviewed by ops</description>") != std::string::npos);
    const std::string user_data = read_all(h.dir / "ops1" / "cloud-init" / "user-data");
    CHECK(user_data.find("content: reviewed by ops") != std::string::npos);
    CHECK_NOTHROW(YAML::Load(user_data));
    REQUIRE(d->remove());
}

TEST_CASE("libvirt: a half-made machine is removable", "[libvirt]") {
    auto keeper = Connection::open(k_test_uri);
    REQUIRE(keeper);
    Harness h;
    auto never = h.configured("ghost");
    CHECK(never->remove());  // nothing made, not even the pool

    // A create that stopped after the overlay: the pool, the overlay and a defined domain.
    auto d = h.configured("half");
    h.with_kernel = false;
    REQUIRE(d->create());
    auto pool = keeper->pool("berth").value();
    REQUIRE(pool);
    REQUIRE(pool->volume("half-seed.iso").value()->remove());
    REQUIRE(pool->volume("half-data.qcow2").value()->remove());
    REQUIRE(d->remove());
    CHECK_FALSE(keeper->domain("berth-half").value().has_value());
    CHECK(volume_names(*keeper) == std::vector<std::string>{k_base + ".qcow2"});
}

TEST_CASE("libvirt: states of several machines in one call", "[libvirt]") {
    auto keeper = Connection::open(k_test_uri);
    REQUIRE(keeper);
    Harness h;
    auto a = h.configured("a");
    auto b = h.configured("b", {{"data-disk-size", {"0"}}});
    auto missing = h.configured("never-made");
    REQUIRE(a->create());
    REQUIRE(b->create());
    REQUIRE(b->stop());
    auto info = libvirt_driver_info(h.hooks);
    auto states = info.states({a.get(), b.get(), missing.get()});
    REQUIRE(states.size() == 3);
    CHECK(states[0].value() == MachineState::Running);
    CHECK(states[1].value() == MachineState::Stopped);
    REQUIRE_FALSE(states[2]);
    CHECK(states[2].error().kind == ErrorKind::NotFound);
    CHECK(a->remove());
    CHECK(b->remove());
}

TEST_CASE("libvirt: pre-create check errors", "[libvirt]") {
    auto keeper = Connection::open(k_test_uri);
    REQUIRE(keeper);
    Harness h;
    auto no_net = h.configured("n1", {{"network", {"dmz"}}});
    auto r = no_net->precreate_check();
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::PrecreateCheck);
    CHECK(r.error().message.find("\"dmz\" does not exist") != std::string::npos);

    auto kvm = h.configured("n2", {{"virt-type", {"kvm"}}});
    auto refused = kvm->precreate_check();
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == ErrorKind::PrecreateCheck);

    auto bad_image = h.configured("n3", {{"image", {"plan9"}}});
    auto no_image = bad_image->precreate_check();
    REQUIRE_FALSE(no_image);
    CHECK(no_image.error().kind == ErrorKind::PrecreateCheck);

    auto down = h.make("n4");
    REQUIRE(down->configure({{"uri", {"qemu+unix:///system?socket=/nonexistent/libvirt-sock"}}}));
    auto unreachable = down->precreate_check();
    REQUIRE_FALSE(unreachable);
    CHECK(unreachable.error().kind == ErrorKind::PrecreateCheck);
    CHECK(unreachable.error().hint.find("libvirtd -d") != std::string::npos);
}

TEST_CASE("libvirt: verbs on a machine whose domain is gone name the domain", "[libvirt]") {
    auto keeper = Connection::open(k_test_uri);
    REQUIRE(keeper);
    // (The address timeout itself is checked against a real libvirtd below: the test driver
    // reports a lease for every running domain.)
    Harness h;
    auto d = h.configured("t1");
    for (auto r : {d->ip(), d->docker_url()}) {
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::NotFound);
        CHECK(r.error().message.find("berth-t1") != std::string::npos);
        CHECK(r.error().hint.find("berth rm t1") != std::string::npos);
    }
    CHECK_FALSE(d->start());
    CHECK_FALSE(d->stop());
    CHECK(d->cert_sans().empty());
}

// --- a real libvirtd, when there is one -------------------------------------------------------

TEST_CASE("libvirt: real libvirtd - makes the pool and uploads a volume", "[libvirt][system]") {
    auto conn = Connection::open("qemu:///system");
    if (!conn) {
        WARN("skipped: no libvirtd at qemu:///system (" + conn.error().message + ")");
        return;
    }
    TempDir dir;
    write_text(dir / "payload.bin", std::string(3 * 1024 * 1024 + 17, 'b'));  // several 1 MiB chunks

    auto pool = conn->pool("berth");
    REQUIRE(pool);
    bool made_pool = false;
    if (!*pool) {
        auto defined = conn->define_pool(
            "<pool type='dir'><name>berth</name><target><path>/var/lib/libvirt/images/berth</path></target></pool>");
        REQUIRE(defined);
        REQUIRE(defined->build());
        made_pool = true;
        pool = std::optional<StoragePool>(std::move(*defined));
    }
    if (!(*pool)->is_active().value()) REQUIRE((*pool)->start());
    const std::string name = "berth-test-upload-" + std::to_string(::getpid()) + ".raw";
    auto vol = (*pool)->create_volume("<volume><name>" + name + "</name><capacity unit='bytes'>" +
                                      std::to_string(3 * 1024 * 1024 + 17) +
                                      "</capacity><target><format type='raw'/></target></volume>");
    REQUIRE(vol);
    StreamUploader uploader;
    auto up = uploader.upload(*vol, dir / "payload.bin");
    CHECK(up);
    auto held = uploader.content_digest(*vol);  // read back through the stream API
    REQUIRE(held);
    CHECK(*held == file_digest(dir / "payload.bin").value());
    auto path = vol->path();
    REQUIRE(path);
    if (std::filesystem::exists(*path)) CHECK(std::filesystem::file_size(*path) == 3 * 1024 * 1024 + 17);
    CHECK(vol->remove());
    (void)made_pool;  // the pool stays: berth keeps it for its machines
}

namespace {

/// The real uploader, counting what it does.
struct CountingUploader final : VolumeUploader {
    StreamUploader real;
    int uploads = 0;
    int read_backs = 0;
    Result<void> upload(StorageVolume& volume, const std::filesystem::path& file) override {
        ++uploads;
        return real.upload(volume, file);
    }
    Result<std::pair<std::uint64_t, std::string>> content_digest(StorageVolume& volume) override {
        ++read_backs;
        return real.content_digest(volume);
    }
};

/// Writes `bytes` at the start of `path` in place, then sets its mtime back to what it was: what
/// someone who can write the pool could do. Only ctime tells.
void overwrite_keeping_mtime(const std::filesystem::path& path, const std::string& bytes) {
    struct stat before {};
    REQUIRE(::stat(path.c_str(), &before) == 0);
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        REQUIRE(f);
        f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    const struct timespec times[2] = {before.st_atim, before.st_mtim};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

}  // namespace

TEST_CASE("libvirt: real libvirtd - a shared volume is trusted on its timestamps until it is written",
          "[libvirt][system]") {
    auto conn = Connection::open("qemu:///system");
    if (!conn) {
        WARN("skipped: no libvirtd at qemu:///system (" + conn.error().message + ")");
        return;
    }
    auto pool = conn->pool("berth");
    REQUIRE(pool);
    if (!*pool) {
        WARN("skipped: no libvirtd pool \"berth\" (the test above makes it)");
        return;
    }
    if (!(*pool)->is_active().value()) REQUIRE((*pool)->start());
    TempDir dir;
    std::string payload(2 * 1024 * 1024 + 5, 'p');
    for (std::size_t i = 0; i < payload.size(); i += 4096) payload[i] = static_cast<char>(i / 4096);
    write_text(dir / "payload.img", payload);
    const std::string sha = file_digest(dir / "payload.img").value().second;
    CountingUploader uploader;
    const SharedVolumePlace place{.uri = "qemu:///system", .uploader = &uploader,
                                  .records = dir / "cache" / "libvirt-volumes" / "test.json", .stamp = {}};
    const SharedVolume volume{.name = "berth-test-shared-" + std::to_string(::getpid()) + ".img",
                              .file = dir / "payload.img", .sha256 = sha, .format = "raw", .capacity = 0};

    // Uploaded, and recorded with the timestamps libvirt reports.
    auto path = ensure_shared_volume(**pool, place, volume);
    REQUIRE(path);
    CHECK(uploader.uploads == 1);
    auto record = VolumeRecords::load(place.records).find(place.uri, "berth", volume.name);
    REQUIRE(record);
    CHECK(record->sha256 == sha);
    CHECK(record->stamp.size == payload.size());
    CHECK(record->stamp.ctime.find('.') != std::string::npos);

    // Unchanged: trusted without reading it back, again and again.
    for (int i = 0; i < 2; ++i) {
        auto again = ensure_shared_volume(**pool, place, volume);
        REQUIRE(again);
        CHECK(*again == *path);
    }
    CHECK(uploader.read_backs == 0);
    CHECK(uploader.uploads == 1);

    // Written behind berth's back (its mtime set back): read back, found different, uploaded again.
    overwrite_keeping_mtime(*path, "not the payload");
    auto checked = ensure_shared_volume(**pool, place, volume);
    REQUIRE(checked);
    CHECK(uploader.read_backs == 1);
    CHECK(uploader.uploads == 2);
    auto vol = (*pool)->volume(volume.name).value();
    REQUIRE(vol);
    CHECK(uploader.real.content_digest(*vol).value() == file_digest(dir / "payload.img").value());

    // The new copy is trusted again.
    REQUIRE(ensure_shared_volume(**pool, place, volume));
    CHECK(uploader.read_backs == 1);
    CHECK(uploader.uploads == 2);
    CHECK(vol->remove());
}

TEST_CASE("libvirt: real libvirtd - create and remove a machine on an isolated network", "[libvirt][system]") {
    auto conn = Connection::open("qemu:///system");
    if (!conn) {
        WARN("skipped: no libvirtd at qemu:///system (" + conn.error().message + ")");
        return;
    }
    // An isolated network without addresses: no dnsmasq, no host firewall rules. The guest gets
    // no IP, so create ends in the address timeout, after everything else was made for real.
    const std::string net_name = "berth-test-" + std::to_string(::getpid());
    auto net = conn->define_network("<network><name>" + net_name + "</name></network>");
    REQUIRE(net);
    REQUIRE(net->start());

    TempDir dir;
    ProcessRunner runner;
    auto made = runner.run(Command{.argv = {"qemu-img", "create", "-q", "-f", "qcow2", (dir / "tiny.qcow2").string(), "64M"},
                                   .env_set = {}, .env_unset = {}, .stdin_data = {}, .cwd = {},
                                   .timeout = std::chrono::seconds(30)});
    REQUIRE(made);
    REQUIRE(made->exit_status == 0);
    const std::string sha = "feedfacefeedface" + std::to_string(::getpid());
    LibvirtHooks hooks;
    hooks.address_timeout = std::chrono::seconds(3);
    hooks.poll_interval = std::chrono::milliseconds(500);
    DriverContext ctx;
    ctx.machine = "systest" + std::to_string(::getpid());
    ctx.machine_dir = dir / "m";
    std::filesystem::create_directories(ctx.machine_dir);
    ctx.runner = &runner;
    ctx.image = [&](std::string_view) -> Result<ImageFiles> {
        ImageFiles f;
        f.name = "tiny";
        f.disk = dir / "tiny.qcow2";
        f.sha256 = sha;
        return f;
    };
    auto driver = libvirt_driver_info(hooks).make(ctx);
    REQUIRE(driver->configure({{"uri", {"qemu:///system"}}, {"network", {net_name}}, {"memory", {"256"}},
                               {"cpu-count", {"1"}}, {"disk-size", {"1"}}, {"data-disk-size", {"1"}},
                               {"virt-type", {"qemu"}}}));
    REQUIRE(driver->precreate_check());
    auto created = driver->create();
    REQUIRE_FALSE(created);
    CHECK(created.error().message.find("got no IP address on network " + net_name) != std::string::npos);
    CHECK(driver->state().value() == MachineState::Running);
    auto pool = conn->pool("berth").value();
    REQUIRE(pool);
    (void)pool->refresh();
    auto names = pool->volume_names().value();
    for (const std::string& v : {ctx.machine + ".qcow2", ctx.machine + "-data.qcow2", ctx.machine + "-seed.iso",
                                 base_volume_name(sha)})
        CHECK(std::find(names.begin(), names.end(), v) != names.end());

    REQUIRE(driver->remove());
    REQUIRE(driver->remove());
    CHECK_FALSE(conn->domain("berth-" + ctx.machine).value().has_value());
    (void)pool->refresh();
    names = pool->volume_names().value();
    for (const std::string& v : {ctx.machine + ".qcow2", ctx.machine + "-data.qcow2", ctx.machine + "-seed.iso"})
        CHECK(std::find(names.begin(), names.end(), v) == names.end());
    auto base = pool->volume(base_volume_name(sha)).value();
    REQUIRE(base);  // shared: rm leaves it
    CHECK(base->remove());
    CHECK(virNetworkDestroy(net->get()) == 0);
    CHECK(virNetworkUndefine(net->get()) == 0);
}

// --- escaping (issue 10 item 4): the domain XML read back by libxml2 ---------------------------

namespace {

/// The string value of `xpath` in `xml`, parsed by libxml2 (no network, no entities loaded).
std::optional<std::string> xpath_string(const std::string& xml, const std::string& xpath) {
    xmlDocPtr doc = xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "domain.xml", nullptr,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == nullptr) return std::nullopt;
    std::optional<std::string> out;
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathObjectPtr value = ctx ? xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(("string(" + xpath + ")").c_str()), ctx) : nullptr;
    if (value != nullptr && value->type == XPATH_STRING) out = reinterpret_cast<const char*>(value->stringval);
    xmlXPathFreeObject(value);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    return out;
}

const std::vector<std::string> k_hostile_xml = {
    "it's", "a\nb\r\nc\td", "$(touch /tmp/x)", "`id`", "100%", "<b>&amp;</b>]]>", "say \"hi\"", "back\\slash",
    "'/><disk type='file'><source file='/etc/shadow'/></disk><x a='", "\n\n  \n",
};

}  // namespace

TEST_CASE("libvirt: xml_text and xml_attr are read back exactly by libxml2", "[libvirt][escape]") {
    for (const auto& v : k_hostile_xml) {
        CAPTURE(v);
        const std::string doc = "<r a='" + xml_attr(v) + "' b=\"" + xml_attr(v) + "\">" + xml_text(v) + "</r>";
        CHECK(xpath_string(doc, "/r/@a") == v);
        CHECK(xpath_string(doc, "/r/@b") == v);
        CHECK(xpath_string(doc, "/r") == v);
    }
    CHECK(xml_can_carry("tab\tnl\ncr\r del\x7f"));
    CHECK_FALSE(xml_can_carry(std::string("nul\0", 4)));
    CHECK_FALSE(xml_can_carry("esc\x1b"));
}

TEST_CASE("libvirt: domain XML with hostile values parses and carries each literally", "[libvirt][escape]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    for (const auto& v : k_hostile_xml) {
        CAPTURE(v);
        DomainSpec spec = golden_spec();
        spec.name = "n" + v;
        spec.virt_type = "qemu";  // chosen from a fixed list
        spec.disk_path = "/d/" + v;
        spec.data_disk_path = "/dd/" + v;
        spec.seed_path = "/s/" + v;
        spec.kernel_path = "/k/" + v;
        spec.initrd_path = "/i/" + v;
        spec.kernel_cmdline = "root=/dev/vda " + v;
        spec.network = "net" + v;
        auto xml = render_domain_xml(*templates, spec);
        REQUIRE(xml);
        CHECK(xpath_string(*xml, "/domain/name") == spec.name);
        CHECK(xpath_string(*xml, "/domain/os/kernel") == spec.kernel_path);
        CHECK(xpath_string(*xml, "/domain/os/initrd") == spec.initrd_path);
        CHECK(xpath_string(*xml, "/domain/os/cmdline") == spec.kernel_cmdline);
        CHECK(xpath_string(*xml, "/domain/devices/disk[target/@dev='vda']/source/@file") == spec.disk_path);
        CHECK(xpath_string(*xml, "/domain/devices/disk[target/@dev='vdb']/source/@file") == spec.data_disk_path);
        CHECK(xpath_string(*xml, "/domain/devices/disk[target/@dev='sda']/source/@file") == spec.seed_path);
        CHECK(xpath_string(*xml, "/domain/devices/interface/source/@network") == spec.network);
        CHECK(xpath_string(*xml, "count(/domain/devices/disk)") == "3");
    }
    // What XML cannot carry at all is refused, not rendered.
    DomainSpec bad = golden_spec();
    bad.disk_path = std::string("/d/\x01", 4);
    auto refused = render_domain_xml(*templates, bad);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("control character") != std::string::npos);
}

TEST_CASE("libvirt: set changes memory and CPUs in the domain's definition - only settable options", "[libvirt]") {
    auto keeper = Connection::open(k_test_uri);
    REQUIRE(keeper);
    Harness h;
    auto d = h.configured("web1", {{"memory", {"1024"}}, {"cpu-count", {"1"}}});
    REQUIRE(d->create());
    auto definition = [&] {
        auto dom = keeper->domain("berth-web1");
        REQUIRE(dom);
        REQUIRE(dom->has_value());
        return (*dom)->xml().value();
    };
    CHECK(definition().find("<memory unit='KiB'>1048576</memory>") != std::string::npos);

    // What would change, checked as configure checks it; nothing changes yet.
    CHECK(d->settings_change({{"memory", {"1024"}}}).value().empty());
    CHECK(d->settings_change({{"memory", {"3072"}}, {"cpu-count", {"3"}}}).value() ==
          std::vector<std::string>{"memory: 1024 -> 3072 MiB", "cpu-count: 1 -> 3"});
    auto too_small = d->settings_change({{"memory", {"100"}}});
    REQUIRE_FALSE(too_small);
    CHECK(too_small.error().kind == ErrorKind::Usage);
    CHECK(too_small.error().message.find("--libvirt-memory") != std::string::npos);
    auto fixed = d->settings_change({{"disk-size", {"40"}}});
    REQUIRE_FALSE(fixed);
    CHECK(fixed.error().message == "--libvirt-disk-size cannot be changed after create");
    CHECK(fixed.error().hint.find("--libvirt-cpu-count, --libvirt-memory") != std::string::npos);
    CHECK(definition().find("<memory unit='KiB'>1048576</memory>") != std::string::npos);

    // Up, on the stopped domain: maximum and current both.
    REQUIRE(d->stop());
    REQUIRE(d->change_settings({{"memory", {"3072"}}, {"cpu-count", {"3"}}}));
    std::string xml = definition();
    CHECK(xml.find("<memory unit='KiB'>3145728</memory>") != std::string::npos);
    CHECK(xml.find("<currentMemory unit='KiB'>3145728</currentMemory>") != std::string::npos);
    CHECK(xml.find(">3</vcpu>") != std::string::npos);
    CHECK(d->save()["memory"] == 3072);
    CHECK(d->save()["cpu_count"] == 3);
    // And down again.
    REQUIRE(d->change_settings({{"memory", {"512"}}, {"cpu-count", {"1"}}}));
    xml = definition();
    CHECK(xml.find("<memory unit='KiB'>524288</memory>") != std::string::npos);
    CHECK(xml.find("<currentMemory unit='KiB'>524288</currentMemory>") != std::string::npos);
    CHECK(xml.find(">1</vcpu>") != std::string::npos);
    REQUIRE(d->start());
    CHECK(d->state().value() == MachineState::Running);
    REQUIRE(d->remove());
}
