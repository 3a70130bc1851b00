// berth apply of libvirt fleets under load (issue 12): FleetService + MachineService with the real
// libvirt driver against libvirt's in-process test driver (test:///default). 30 machines made at
// --parallel 8, two applies of one fleet at once on one store (two "processes": each its own
// Store, MachineService and FleetService over the same directory), and a --prune. The store, the
// test driver's domains and volumes, and the locks are checked after each.
//
// What the test driver cannot do is faked the way the driver's own tests fake it: the base image
// and the seed go through a fake VolumeUploader (the test driver has no virStorageVolUpload),
// genisoimage through a FakeRunner. The test driver reports a DHCP lease for a running domain, so
// create reaches its SSH step; the SSH opener hands out one FakeHost per machine: a scripted
// transcript of the first provision, then answers to check-only runs (the plan's drift checks)
// with the facts of a host that holds what berth uploaded.

#include <berth/drivers/libvirt/libvirt_driver.h>

#include <berth/core/digest.h>
#include <berth/service/fleet_service.h>
#include <berth/service/fleet_spec.h>
#include <berth/service/machine_service.h>
#include <berth/service/real_ports.h>

#include "../../../tests/fakes/borrowed.h"
#include "../../../tests/fakes/fake_clock.h"
#include "../../../tests/fakes/fake_docker.h"
#include "../../../tests/fakes/fake_elf.h"
#include "../../../tests/fakes/managed_uploads.h"
#include "../../../tests/fakes/fake_runner.h"
#include "../../../tests/fakes/scripted_session.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <libvirt/libvirt.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

using namespace berth;
using namespace berth::libvirt;
using berth::test::FakeRunner;
using berth::test::ScriptedSession;
using berth::test::TempDir;
using berth::test::write_text;

namespace {

constexpr const char* k_test_uri = "test:///default";
const std::string k_fleet = "stress";

// --- the hypervisor's side: uploads (as libvirt_driver_test.cc) ------------------------------------

/// Volume contents, as the real uploader writes and reads them back. One per hypervisor: every
/// berth "process" of a test shares it, as they share the test driver's volumes.
struct FakeUploader final : VolumeUploader {
    std::vector<std::pair<std::string, std::filesystem::path>> uploads;
    std::map<std::string, std::pair<std::uint64_t, std::string>> contents;
    std::mutex mutex;
    Result<void> upload(StorageVolume& volume, const std::filesystem::path& file) override {
        std::lock_guard lock(mutex);
        uploads.emplace_back(volume.name(), file);
        auto digest = file_digest(file);
        if (!digest) return std::unexpected(digest.error());
        contents[volume.name()] = *digest;
        return {};
    }
    Result<std::pair<std::uint64_t, std::string>> content_digest(StorageVolume& volume) override {
        std::lock_guard lock(mutex);
        const auto it = contents.find(volume.name());
        if (it == contents.end()) return std::pair<std::uint64_t, std::string>{0, sha256_hex("")};
        return it->second;
    }
    std::map<std::string, int> upload_counts() {
        std::lock_guard lock(mutex);
        std::map<std::string, int> counts;
        for (const auto& [volume, file] : uploads) ++counts[volume];
        return counts;
    }
};

/// The bytes of a file that looks like a qcow2 (header only) of `virtual_size` bytes.
std::string qcow2_header(std::uint64_t virtual_size) {
    std::string header(512, '\0');
    header[0] = 'Q';
    header[1] = 'F';
    header[2] = 'I';
    header[3] = static_cast<char>(0xfb);
    header[7] = 3;
    for (int i = 0; i < 8; ++i)
        header[31 - static_cast<std::size_t>(i)] = static_cast<char>((virtual_size >> (8 * i)) & 0xff);
    return header;
}

void write_qcow2_header(const std::filesystem::path& path, std::uint64_t virtual_size) {
    std::ofstream(path, std::ios::binary) << qcow2_header(virtual_size);
}

/// The image's disk's real sha256 (the driver trusts the image record's digest for the disk, so
/// a made-up one would never match what was uploaded) and the stem of its shared volumes.
const std::string k_sha = sha256_hex(qcow2_header(4ULL << 30));
const std::string k_base = "base-" + k_sha.substr(0, 16);

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

std::vector<std::string> domain_names(const Connection& conn) {
    auto all = conn.all_domains();
    REQUIRE(all);
    std::vector<std::string> names;
    for (const auto& d : *all) names.push_back(d.name());
    return sorted(names);
}

std::vector<std::string> volume_names(const Connection& conn) {
    auto pool = conn.pool("berth");
    REQUIRE(pool);
    if (!*pool) return {};
    auto names = (*pool)->volume_names();
    REQUIRE(names);
    return sorted(*names);
}

/// Every storage pool / network the connection has, by name (libvirt's C API: the wrapper has no
/// list of them).
std::vector<std::string> pool_names(const Connection& conn) {
    virStoragePoolPtr* pools = nullptr;
    const int n = virConnectListAllStoragePools(conn.get(), &pools, 0);
    REQUIRE(n >= 0);
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) {
        names.emplace_back(virStoragePoolGetName(pools[i]));
        virStoragePoolFree(pools[i]);
    }
    free(pools);  // NOLINT: libvirt allocates the array with malloc
    return sorted(names);
}

std::vector<std::string> network_names(const Connection& conn) {
    virNetworkPtr* nets = nullptr;
    const int n = virConnectListAllNetworks(conn.get(), &nets, 0);
    REQUIRE(n >= 0);
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) {
        names.emplace_back(virNetworkGetName(nets[i]));
        virNetworkFree(nets[i]);
    }
    free(nets);  // NOLINT
    return sorted(names);
}

// --- the guests' side: one FakeHost per machine ----------------------------------------------------

std::string read_all(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// What the facts command prints for a Debian 12 host with Docker installed and nothing of berth's
/// (as tests/unit/create_flow_test.cc).
std::string installed_debian_facts() {
    const std::string os_release = read_all(std::string(BERTH_TESTS_DIR) + "/fixtures/os-release/debian-12");
    REQUIRE_FALSE(os_release.empty());
    return "@os-release\n" + os_release +
           "@hostname\nlocalhost\n"
           "@packages\ndocker.io 20.10.24+dfsg1-1+deb12u1\napparmor 3.0.8-3\nauditd 1:3.0.9-1\nnftables 1.0.6-2\n"
           "@files\n"
           "@exists\n/usr/sbin/dockerd\n/var/lib/docker\n/etc/docker\n/usr/bin/containerd\n"
           "@units\ndocker active enabled\nauditd active enabled\napparmor active enabled\n"
           "berth-firewall inactive disabled\n"
           "@sshd-ports\n22\n@subid\nsubuid\nsubgid\n@dockerd\n/usr/sbin/dockerd\n@selinux\n\n@nft\n/usr/sbin/nft\n@arch\nx86_64\n@dirs\n@end\n";
}

const auto k_managed = berth::test::debian_uploads();

/// The plan berth runs on first contact: facts, host name, every file, one apply.
void expect_first_provision(ScriptedSession& s, const std::string& name) {
    s.expect_run({"@os-release", "dpkg-query", "sha256sum"}, {0, installed_debian_facts(), ""})
        .expect_run({"h='" + name + "'\nhostnamectl set-hostname \"$h\"", "install -d -m 0755 /etc/docker",
                     "install -d -m 0700 '/etc/docker/tls'"});
    for (const auto& [path, mode] : k_managed) s.expect_upload(path, mode);
    s.expect_run({"systemctl daemon-reload", "sshd -t", "nft -c -f '/etc/berth/firewall.nft'",
                  "augenrules --load", "systemctl restart docker"});
}

/// The facts of `name` after its first provision: every file berth uploaded is there as written.
std::string provisioned_facts(const ScriptedSession& s, const std::string& name) {
    std::string facts = installed_debian_facts();
    facts.replace(facts.find("@hostname\nlocalhost\n"), 20, "@hostname\n" + name + "\n");
    facts.replace(facts.find("berth-firewall inactive disabled"), 32,
                  "berth-firewall active enabled\nberth-authz.socket active enabled");
    facts.replace(facts.find("@dirs\n"), 6, "@dirs\n/srv/berth 0 755 root:root\n");
    std::string files;
    const auto modes = s.uploaded_modes();
    for (const auto& [path, content] : s.uploaded()) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%o", modes.at(path));
        files += path + " " + sha256_hex(content) + " " + mode + " root:root\n";
    }
    facts.replace(facts.find("@files\n"), 7, "@files\n" + files);
    return facts;
}

/// One guest as berth reaches it over SSH. Its first contact must be exactly the first provision
/// (a ScriptedSession); after that, it answers only check-only runs (the facts command, which
/// writes nothing) with the facts of a host that holds what was uploaded: anything else is a
/// failure. Thread-safe: two applies may reach one guest.
class FakeHost {
public:
    explicit FakeHost(std::string name) : m_name(std::move(name)) { expect_first_provision(m_first, m_name); }

    Result<RemoteResult> run(std::string_view script) {
        std::lock_guard lock(m_mutex);
        if (!m_first.unused().empty()) return m_first.run(script, std::chrono::seconds(1));
        const bool check_only = script.find("@os-release") != std::string_view::npos &&
                                script.find("sha256sum") != std::string_view::npos &&
                                script.find("install ") == std::string_view::npos;
        if (!check_only) return failure("run after the first provision: " + std::string(script.substr(0, 80)));
        ++m_drift_checks;
        return RemoteResult{0, provisioned_facts(m_first, m_name), ""};
    }
    Result<void> upload_all(const std::vector<FileUpload>& files) {
        std::lock_guard lock(m_mutex);
        if (!m_first.unused().empty() || files.empty()) return m_first.upload_all(files);
        return std::unexpected(failure("upload after the first provision: " + files.front().path).error());
    }
    Result<std::string> read(const std::string& path) {
        std::lock_guard lock(m_mutex);
        if (!m_first.unused().empty()) return m_first.read(path);
        return std::unexpected(failure("read after the first provision: " + path).error());
    }
    int channels() const {
        std::lock_guard lock(m_mutex);
        return m_first.channels_opened();
    }

    [[nodiscard]] bool provisioned() const {
        std::lock_guard lock(m_mutex);
        return m_first.unused().empty() && m_first.failures().empty();
    }
    [[nodiscard]] int drift_checks() const {
        std::lock_guard lock(m_mutex);
        return m_drift_checks;
    }
    [[nodiscard]] std::vector<std::string> failures() const {
        std::lock_guard lock(m_mutex);
        auto all = m_first.failures();
        all.insert(all.end(), m_later_failures.begin(), m_later_failures.end());
        return all;
    }

private:
    Result<RemoteResult> failure(const std::string& what) {
        m_later_failures.push_back(what);
        return fail("fake host " + m_name + ": unexpected " + what);
    }

    std::string m_name;
    mutable std::mutex m_mutex;
    ScriptedSession m_first;
    int m_drift_checks = 0;
    std::vector<std::string> m_later_failures;
};

/// The Session the service gets: forwards to the machine's FakeHost.
class HostSession final : public Session {
public:
    explicit HostSession(FakeHost& host) : m_host(host) {}
    Result<RemoteResult> run(std::string_view script, std::chrono::seconds) override { return m_host.run(script); }
    Result<RemoteResult> run_streaming(std::string_view script, std::chrono::seconds,
                                       const std::function<void(std::string_view)>& on_out) override {
        auto r = m_host.run(script);
        if (r && on_out) on_out(r->out);
        return r;
    }
    Result<void> upload_all(const std::vector<FileUpload>& files) override { return m_host.upload_all(files); }
    Result<std::string> read(const std::string& path) override { return m_host.read(path); }
    int channels_opened() const override { return m_host.channels(); }
    std::string host_key_fingerprint() const override { return "SHA256:scripted-host-key"; }

private:
    FakeHost& m_host;
};

// --- the world: one hypervisor, the guests, a store directory -------------------------------------

/// What every berth process of a test shares: the store directory, the image on disk, the
/// hypervisor's volume contents, the guests and their Docker daemons.
struct World {
    TempDir dir;
    std::filesystem::path store_root = dir / "berth";
    std::shared_ptr<FakeUploader> uploader = std::make_shared<FakeUploader>();
    test::FakeDocker docker;  ///< every guest's daemon answers alike
    std::mutex mutex;
    std::map<std::string, std::unique_ptr<FakeHost>> hosts;  ///< by machine
    std::map<std::string, std::vector<HostKeyPolicy>> opened;  ///< SSH connections, by machine
    std::vector<std::string> domains_before;  ///< the test driver's own ("test")

    World() {
        write_qcow2_header(dir / "base.qcow2", 4ULL << 30);
        write_text(dir / "vmlinuz", "kernel");
        write_text(dir / "initrd.img", "initrd");
    }

    FakeHost& host(const std::string& machine) {
        std::lock_guard lock(mutex);
        auto& h = hosts[machine];
        if (!h) h = std::make_unique<FakeHost>(machine);
        return *h;
    }
    int connections(const std::string& machine) {
        std::lock_guard lock(mutex);
        return static_cast<int>(opened[machine].size());
    }
};

/// One berth process: its own Store object, runner, clock, driver table and services, over the
/// World's store directory.
struct Berth {
    World& world;
    Store store;
    FakeRunner runner;
    test::FakeClock clock;  ///< waits (for an address) take no real time
    std::vector<DriverInfo> table;
    std::unique_ptr<MachineService> machines;
    std::unique_ptr<FleetService> fleets;

    explicit Berth(World& w) : world(w), store(w.store_root) {
        // genisoimage: answers -version, writes the -output file.
        runner.on({"genisoimage"}, [](const Command& command) -> Result<CommandResult> {
            for (std::size_t i = 0; i + 1 < command.argv.size(); ++i)
                if (command.argv[i] == "-output") write_text(command.argv[i + 1], "ISO");
            CommandResult r;
            r.exit_status = 0;
            return r;
        });
        LibvirtHooks hooks;
        hooks.uploader = world.uploader;
        hooks.address_timeout = std::chrono::milliseconds(200);
        hooks.shutdown_timeout = std::chrono::milliseconds(200);
        hooks.poll_interval = std::chrono::milliseconds(10);
        hooks.dev_kvm_exists = [] { return true; };
        hooks.cpuinfo = [] { return std::string("flags\t: fpu sse2\n"); };
        table = {libvirt_driver_info(hooks)};
        machines = std::make_unique<MachineService>(ports());
        fleets = std::make_unique<FleetService>(*machines);
    }

    Ports ports() {
        Ports p = real_ports(store, runner);
        p.env = [](const std::string&) { return std::optional<std::string>(); };
        p.drivers = table;
        p.clock = &clock;
        p.ssh = [this](const SshTarget& target, const SshOptions& options) -> Result<std::unique_ptr<Session>> {
            {
                std::lock_guard lock(world.mutex);
                world.opened[target.machine].push_back(options.host_key);
            }
            return std::unique_ptr<Session>(std::make_unique<HostSession>(world.host(target.machine)));
        };
        p.docker = [this](const std::string&, const DockerTls&) -> std::unique_ptr<DockerProbe> {
            return std::make_unique<test::BorrowedDocker>(world.docker);
        };
        p.images = [this](std::string_view name) -> Result<ImageFiles> {
            if (name != "debian-12") return fail_kind(ErrorKind::NotFound, "no image " + std::string(name));
            ImageFiles f;
            f.name = "debian-12";
            f.disk = world.dir / "base.qcow2";
            f.sha256 = k_sha;
            f.kernel = world.dir / "vmlinuz";
            f.initrd = world.dir / "initrd.img";
            return f;
        };
        p.authz_binary = []() -> Result<std::string> { return test::fake_elf(); };
        return p;
    }

    /// The spec: `count` libvirt machines vm-01.. on the test driver, at --parallel 8.
    FleetSpec spec(int count) const {
        char last[8];
        std::snprintf(last, sizeof last, "%02d", count);
        const std::string text = "version: 1\nfleet: " + k_fleet +
                                 "\nparallel: 8\ndefaults:\n  driver: libvirt\n  libvirt-uri: \"" + k_test_uri +
                                 "\"\ngroups:\n  - name: pool\n    pattern: \"vm-{01.." + last + "}\"\n";
        auto parsed = parse_fleet_spec(text, world.dir / "fleet.yaml", table,
                                       [this](const CreateRequest& r) { return machines->validate_create(r); });
        INFO((parsed ? std::string() : parsed.error().message));
        REQUIRE(parsed);
        REQUIRE(parsed->machines.size() == static_cast<std::size_t>(count));
        return *parsed;
    }
};

std::string machine_name(int i) {
    char name[8];
    std::snprintf(name, sizeof name, "vm-%02d", i);
    return name;
}

std::vector<std::string> machine_range(int first, int last) {
    std::vector<std::string> names;
    for (int i = first; i <= last; ++i) names.push_back(machine_name(i));
    return names;
}

std::string outcome_line(const MachineOutcome& o) {
    return o.name + ": " + (o.error ? o.error->message : std::string("ok"));
}

/// The store, libvirt and the locks hold exactly the machines `names` (all of them made by
/// berth, none half-made), and nothing else of the fleet.
void check_consistent(World& world, const Connection& keeper, const std::vector<std::string>& names) {
    Store store(world.store_root);
    auto listed = store.list_names();
    REQUIRE(listed);
    CHECK(sorted(*listed) == names);
    std::vector<std::string> domains = world.domains_before;
    std::vector<std::string> volumes = {k_base + "-initrd", k_base + "-kernel", k_base + ".qcow2"};
    for (const auto& name : names) {
        INFO(name);
        auto record = store.load(name);
        REQUIRE(record);
        CHECK(record->status == MachineStatus::Ready);
        CHECK(record->fleet.fleet == k_fleet);
        CHECK(record->fleet.group == "pool");
        CHECK(record->driver_name == "libvirt");
        domains.push_back("berth-" + name);
        auto domain = keeper.domain("berth-" + name);
        REQUIRE(domain);
        REQUIRE(domain->has_value());
        CHECK(map_domain_state((*domain)->state().value()) == MachineState::Running);
        volumes.push_back(name + ".qcow2");
        volumes.push_back(name + "-data.qcow2");  // the seed is gone: discarded after first contact
        // Nobody holds the machine's lock.
        auto lock = store.lock(name);
        INFO((lock ? std::string() : lock.error().message));
        CHECK(lock);
    }
    // Exactly these domains and volumes: none orphaned, none missing.
    CHECK(domain_names(keeper) == sorted(domains));
    CHECK(volume_names(keeper) == sorted(volumes));
    // The fleet's lock and the driver's store-wide locks are free.
    for (const std::string& lock_name :
         std::vector<std::string>{"fleet-" + k_fleet, "shared-libvirt-setup", "shared-libvirt-" + k_base}) {
        auto lock = FileLock::try_acquire(world.store_root / "locks" / (lock_name + ".lock"), lock_name);
        INFO(lock_name << (lock ? std::string() : ": " + lock.error().message));
        CHECK(lock);
    }
}

}  // namespace

TEST_CASE("libvirt apply: 30 machines at --parallel 8 on the test driver then --prune to 20",
          "[apply][libvirt][stress]") {
    auto keeper = Connection::open(k_test_uri);
    REQUIRE(keeper);
    const auto pools_before = pool_names(*keeper);
    const auto networks_before = network_names(*keeper);
    REQUIRE(std::find(pools_before.begin(), pools_before.end(), "berth") == pools_before.end());
    World world;
    world.domains_before = domain_names(*keeper);
    Berth berth(world);
    const auto all = machine_range(1, 30);

    // One apply makes all 30, 8 at a time.
    std::atomic<int> plans{0};
    ApplyOptions options;
    options.on_plan = [&](const FleetPlan& plan) {
        ++plans;
        CHECK(plan.count(PlanAction::Create) == 30);
    };
    // How many machines were under way at once: from the first event of each to its Done/Failed.
    std::mutex progress_mutex;
    std::set<std::string> active, finished;
    std::size_t most_active = 0;
    options.progress = [&](const ProgressEvent& event) {
        std::lock_guard lock(progress_mutex);
        if (event.kind == ProgressEvent::Kind::Done || event.kind == ProgressEvent::Kind::Failed) {
            active.erase(event.machine);
            finished.insert(event.machine);
        } else if (!finished.contains(event.machine)) {
            active.insert(event.machine);
            most_active = std::max(most_active, active.size());
        }
    };
    auto report = berth.fleets->apply(berth.spec(30), options);
    REQUIRE(report);
    CHECK(plans == 1);
    CHECK(finished.size() == 30);
    INFO("at most " << most_active << " machines at once");
    CHECK(most_active <= 8);  // --parallel 8 (the spec's parallel: 8)
    CHECK(most_active > 1);   // and really in parallel
    REQUIRE(report->outcomes.size() == 30);
    for (const auto& o : report->outcomes) {
        INFO(outcome_line(o));
        CHECK(o.action == PlanAction::Create);
        CHECK_FALSE(o.error);
        CHECK(o.remote_commands == 4);  // facts, prepare, the 16 files in one command, apply: the whole first provision
    }
    CHECK(report->failures() == 0);
    check_consistent(world, *keeper, all);
    for (const auto& name : all) {
        INFO(name);
        CHECK(world.host(name).provisioned());
        CHECK(world.host(name).failures().empty());
        CHECK(world.host(name).drift_checks() == 0);
        std::lock_guard lock(world.mutex);
        // One connection each, verified against the host key pinned in the seed.
        CHECK(world.opened[name] == std::vector<HostKeyPolicy>{HostKeyPolicy::RequirePinned});
    }
    // The shared pieces were uploaded once, then each machine's seed once.
    const auto uploads = world.uploader->upload_counts();
    CHECK(uploads.at(k_base + ".qcow2") == 1);
    CHECK(uploads.at(k_base + "-kernel") == 1);
    CHECK(uploads.at(k_base + "-initrd") == 1);
    for (const auto& name : all) CHECK(uploads.at(name + "-seed.iso") == 1);
    CHECK(uploads.size() == 3 + all.size());
    // One pool (berth's, defined once beside the test driver's own), the test driver's one network.
    auto pools_after = pools_before;
    pools_after.push_back("berth");
    CHECK(pool_names(*keeper) == sorted(pools_after));
    CHECK(network_names(*keeper) == networks_before);
    CHECK(world.docker.waits == 30);

    // --prune with a spec of 20: the other 10 go, the 20 are checked for drift and left alone.
    ApplyOptions prune;
    prune.plan.prune = true;
    auto pruned = berth.fleets->apply(berth.spec(20), prune);
    REQUIRE(pruned);
    REQUIRE(pruned->outcomes.size() == 30);
    std::map<std::string, PlanAction> actions;
    for (const auto& o : pruned->outcomes) {
        INFO(outcome_line(o));
        CHECK_FALSE(o.error);
        actions[o.name] = o.action;
    }
    for (int i = 1; i <= 30; ++i) {
        INFO(machine_name(i));
        CHECK(actions.at(machine_name(i)) == (i <= 20 ? PlanAction::Unchanged : PlanAction::Remove));
        CHECK(world.host(machine_name(i)).drift_checks() == (i <= 20 ? 1 : 0));
        CHECK(world.host(machine_name(i)).failures().empty());
    }
    CHECK(pruned->failures() == 0);
    const auto kept = machine_range(1, 20);
    check_consistent(world, *keeper, kept);
    for (int i = 21; i <= 30; ++i) {
        INFO(machine_name(i));
        CHECK_FALSE(std::filesystem::exists(berth.store.machine_dir(machine_name(i))));
        CHECK_FALSE(keeper->domain("berth-" + machine_name(i)).value().has_value());
    }
    CHECK(world.uploader->upload_counts().size() == 3 + all.size());  // nothing uploaded again

    // And each removes cleanly.
    for (const auto& name : kept) CHECK(berth.machines->remove(name, false));
    CHECK(domain_names(*keeper) == world.domains_before);
}

TEST_CASE("libvirt apply: two applies of one 30-machine fleet at once on one store end consistent",
          "[apply][libvirt][stress]") {
    auto keeper = Connection::open(k_test_uri);
    REQUIRE(keeper);
    World world;
    world.domains_before = domain_names(*keeper);
    // Two berth processes: each its own Store object, MachineService and FleetService.
    Berth first(world);
    Berth second(world);
    const auto all = machine_range(1, 30);
    const FleetSpec spec_a = first.spec(30);
    const FleetSpec spec_b = second.spec(30);

    std::latch start(2);
    std::optional<Result<ApplyReport>> reports[2];
    using Clock = std::chrono::steady_clock;
    Clock::time_point began[2], ended[2];
    {
        std::jthread a([&] {
            start.arrive_and_wait();
            began[0] = Clock::now();
            reports[0] = first.fleets->apply(spec_a, {});
            ended[0] = Clock::now();
        });
        std::jthread b([&] {
            start.arrive_and_wait();
            began[1] = Clock::now();
            reports[1] = second.fleets->apply(spec_b, {});
            ended[1] = Clock::now();
        });
    }
    // The two applies really were under way at once.
    CHECK(began[0] < ended[1]);
    CHECK(began[1] < ended[0]);
    int creators = 0;
    int converged = 0;
    for (auto& r : reports) {
        REQUIRE(r.has_value());
        INFO((*r ? std::string() : r->error().message));
        REQUIRE(*r);
        const ApplyReport& report = **r;
        CHECK(report.failures() == 0);
        REQUIRE(report.outcomes.size() == 30);
        for (const auto& o : report.outcomes) {
            INFO(outcome_line(o));
            CHECK_FALSE(o.error);
        }
        // One apply made everything; the other waited for the fleet's lock, then found every
        // machine made and checked each for drift: nothing to do.
        if (report.plan.count(PlanAction::Create) == 30) ++creators;
        if (report.plan.count(PlanAction::Unchanged) == 30) ++converged;
    }
    CHECK(creators == 1);
    CHECK(converged == 1);
    check_consistent(world, *keeper, all);
    for (const auto& name : all) {
        INFO(name);
        FakeHost& host = world.host(name);
        CHECK(host.provisioned());  // provisioned exactly once
        CHECK(host.failures().empty());
        CHECK(host.drift_checks() == 1);  // the second apply's check
        CHECK(world.connections(name) == 2);
    }
    const auto uploads = world.uploader->upload_counts();
    CHECK(uploads.at(k_base + ".qcow2") == 1);
    CHECK(uploads.at(k_base + "-kernel") == 1);
    CHECK(uploads.at(k_base + "-initrd") == 1);
    CHECK(uploads.size() == 3 + all.size());
    CHECK(world.docker.waits == 30);

    for (const auto& name : all) CHECK(first.machines->remove(name, false));
    CHECK(domain_names(*keeper) == world.domains_before);
}
