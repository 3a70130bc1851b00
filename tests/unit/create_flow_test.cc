// create → provision → verify as one unit: MachineService over Ports of fakes (FakeDriver,
// ScriptedSession, FakeDocker, FakeClock), asserting the exact remote transcript, what the record
// keeps and what the report says; and two creates at once on one service.

#include <berth/pki/pki.h>
#include <berth/service/machine_service.h>
#include <berth/provision/engine_options.h>
#include <berth/service/authz_files.h>
#include <berth/service/real_ports.h>

#include "../fakes/borrowed.h"
#include "../fakes/fake_clock.h"
#include "../fakes/fake_docker.h"
#include "../fakes/fake_driver.h"
#include "../fakes/fake_elf.h"
#include "../fakes/managed_uploads.h"
#include "../fakes/scripted_session.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <map>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>

using namespace berth;
using berth::test::FakeDriverScript;
using berth::test::ScriptedSession;
using berth::test::TempDir;

namespace {

std::string os_release_fixture() {
    std::ifstream in(std::string(BERTH_TESTS_DIR) + "/fixtures/os-release/debian-12");
    REQUIRE(in.good());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// What the facts command prints for a Debian 12 host with Docker installed and nothing of berth's.
std::string installed_debian_facts() {
    return "@os-release\n" + os_release_fixture() +
           "@hostname\nlocalhost\n"
           "@packages\ndocker.io 20.10.24+dfsg1-1+deb12u1\napparmor 3.0.8-3\nauditd 1:3.0.9-1\nnftables 1.0.6-2\n"
           "@files\n"
           "@exists\n/usr/sbin/dockerd\n/var/lib/docker\n/etc/docker\n/usr/bin/containerd\n"
           "@units\ndocker active enabled\nauditd active enabled\napparmor active enabled\n"
           "berth-firewall inactive disabled\n"
           "@sshd-ports\n22\n@subid\nsubuid\nsubgid\n@dockerd\n/usr/sbin/dockerd\n@selinux\n\n@nft\n/usr/sbin/nft\n@arch\nx86_64\n@dirs\n@end\n";
}

const auto k_managed = berth::test::debian_uploads();

/// The plan berth runs on that host on first contact: facts, host name, every file, one apply.
void expect_first_provision(ScriptedSession& s, const std::string& name) {
    s.expect_run({"@os-release", "dpkg-query", "sha256sum"}, {0, installed_debian_facts(), ""})
        .expect_run({"h='" + name + "'\nhostnamectl set-hostname \"$h\"", "install -d -m 0755 /etc/docker",
                     "install -d -m 0700 '/etc/docker/tls'"});
    for (const auto& [path, mode] : k_managed) s.expect_upload(path, mode);
    s.expect_run({"systemctl daemon-reload", "sshd -t", "nft -c -f '/etc/berth/firewall.nft'",
                  "augenrules --load", "systemctl restart docker"});
}

std::string transcript_of(const ScriptedSession& s) {
    std::string t;
    for (const auto& l : s.transcript()) t += "  " + l + "\n";
    for (const auto& f : s.failures()) t += "  FAILURE: " + f + "\n";
    return t;
}

/// A service whose SSH opener hands out the scripted session of the machine asked for, and whose
/// Docker factory hands out one FakeDocker per URL.
struct Fixture {
    TempDir dir;
    Store store{dir / "berth"};
    ProcessRunner runner;
    test::FakeClock clock;
    std::shared_ptr<FakeDriverScript> script = std::make_shared<FakeDriverScript>();
    std::vector<DriverInfo> table = {test::fake_driver_info(script)};
    std::mutex mutex;
    std::map<std::string, std::unique_ptr<ScriptedSession>> sessions;  ///< by machine
    std::vector<std::pair<std::string, HostKeyPolicy>> opened;         ///< machine, host key policy
    test::FakeDocker docker;
    std::vector<std::string> docker_urls;
    std::atomic<int> authz_loads{0};

    Fixture() { script->ssh = true; }

    ScriptedSession& session_for(const std::string& machine) {
        std::lock_guard lock(mutex);
        auto& s = sessions[machine];
        if (!s) s = std::make_unique<ScriptedSession>();
        return *s;
    }

    Ports ports() {
        Ports p = real_ports(store, runner);
        p.env = [](const std::string&) { return std::optional<std::string>(); };
        p.drivers = table;
        p.clock = &clock;
        p.ssh = [this](const SshTarget& target, const SshOptions& options) -> Result<std::unique_ptr<Session>> {
            std::lock_guard lock(mutex);
            opened.emplace_back(target.machine, options.host_key);
            auto it = sessions.find(target.machine);
            if (it == sessions.end()) return fail("no scripted session for " + target.machine);
            return std::unique_ptr<Session>(std::make_unique<test::BorrowedSession>(*it->second));
        };
        p.docker = [this](const std::string& url, const DockerTls&) -> std::unique_ptr<DockerProbe> {
            std::lock_guard lock(mutex);
            docker_urls.push_back(url);
            return std::make_unique<test::BorrowedDocker>(docker);
        };
        p.images = [](std::string_view what) -> Result<ImageFiles> { return fail("no image " + std::string(what)); };
        p.authz_binary = [this]() -> Result<std::string> {
            ++authz_loads;
            return test::fake_elf();
        };
        return p;
    }

    CreateRequest request(const std::string& name) const {
        CreateRequest r;
        r.name = name;
        r.driver = "fake";
        return r;
    }
};

}  // namespace

TEST_CASE("a VM whose host key berth pinned before its first boot is verified on first contact", "[service]") {
    Fixture f;
    f.script->seeded = true;
    // What a VM driver's seed does: the machine's known_hosts pins the key it put in the seed.
    f.script->on_create = [&](const std::string& name) {
        REQUIRE(f.store.write_file(name, k_known_hosts_file,
                                   "berth-" + name + " ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n",
                                   0600));
    };
    auto& session = f.session_for("web1");
    expect_first_provision(session, "web1");
    MachineService service(f.ports());
    auto report = service.create(f.request("web1"));
    INFO(transcript_of(session));
    REQUIRE(report);
    REQUIRE(f.opened.size() == 1);
    CHECK(f.opened[0].second == HostKeyPolicy::RequirePinned);  // no trust on first use
    // The seed (with the private host key) goes once that verified connection is open.
    CHECK(f.script->calls == std::vector<std::string>{"precreate web1", "create web1", "discard-seed web1"});
}

TEST_CASE("create provisions over one scripted session and verifies through the Docker API", "[service]") {
    Fixture f;
    f.script->on_create = [&](const std::string&) { f.clock.advance(std::chrono::seconds(7)); };
    auto& session = f.session_for("web1");
    expect_first_provision(session, "web1");
    MachineService service(f.ports());

    auto report = service.create(f.request("web1"));
    INFO(transcript_of(session));
    REQUIRE(report);
    CHECK(session.failures().empty());
    CHECK(session.unused().empty());
    CHECK(f.script->calls == std::vector<std::string>{"precreate web1", "create web1"});
    REQUIRE(f.opened.size() == 1);
    CHECK(f.opened[0].second == HostKeyPolicy::PinOnFirstUse);  // first contact pins the host key
    CHECK(f.docker_urls == std::vector<std::string>{"tcp://192.168.122.10:2376"});
    CHECK(f.docker.waits == 1);

    // The report: every phase timed by the injected clock, the commands of the one connection.
    REQUIRE(!report->timings.empty());
    CHECK(report->timings.front() == std::pair<std::string, double>{"machine", 7.0});
    std::vector<std::string> phases;
    for (const auto& [phase, secs] : report->timings) phases.push_back(phase);
    CHECK(phases == std::vector<std::string>{"machine", "ssh", "hardening", "restarts", "verify"});
    CHECK(report->remote_commands() == 4);  // facts, prepare, the 16 files in one command, apply
    REQUIRE(report->provision);
    CHECK(report->provision->restarted.back() == "docker");

    // What lands on the host is what the store holds: the machine's own CA and server certificate.
    CHECK(session.uploaded().at("/etc/docker/tls/ca.pem") == *read_file(f.store.machine_file("web1", k_ca_cert_file)));
    CHECK(session.uploaded().at("/etc/docker/tls/server-key.pem") ==
          *read_file(f.store.machine_file("web1", k_server_key_file)));

    auto saved = f.store.load("web1");
    REQUIRE(saved);
    CHECK(saved->status == MachineStatus::Ready);
    CHECK(saved->provision.host_key == "SHA256:scripted-host-key");
    CHECK(saved->provision.os == "debian 12");
    CHECK(saved->docker_version == "20.10.24+dfsg1");
    CHECK(saved->provision.digests.size() == k_managed.size());
    CHECK(saved->provision.digests.at("/etc/docker/tls/ca.pem") == report->provision->digests.at("/etc/docker/tls/ca.pem"));
}

TEST_CASE("a create whose provision fails removes the machine and says what failed", "[service]") {
    Fixture f;
    auto& session = f.session_for("web1");
    session.expect_run_error({"@os-release"}, "the connection to 192.168.122.10:22 was lost");
    MachineService service(f.ports());

    auto report = service.create(f.request("web1"));
    REQUIRE(!report);
    CHECK(report.error().message.find("cannot create machine \"web1\"") != std::string::npos);
    CHECK(report.error().message.find("was lost") != std::string::npos);
    CHECK(report.error().hint == "nothing was left behind");
    CHECK(f.script->calls == std::vector<std::string>{"precreate web1", "create web1", "remove web1"});
    CHECK(!std::filesystem::exists(f.store.machine_dir("web1")));
    CHECK(f.docker.waits == 0);
}

TEST_CASE("two creates run at once on one MachineService - each with its own report", "[service]") {
    Fixture f;
    for (const char* name : {"t1", "t2"}) expect_first_provision(f.session_for(name), name);
    // Each driver's create waits until both have started, so the two creates really overlap.
    std::mutex m;
    std::condition_variable cv;
    int started = 0;
    f.script->on_create = [&](const std::string&) {
        std::unique_lock lock(m);
        ++started;
        cv.notify_all();
        cv.wait_for(lock, std::chrono::seconds(10), [&] { return started == 2; });
    };
    MachineService service(f.ports());

    std::optional<Result<CreateReport>> r1, r2;
    std::thread a([&] { r1 = service.create(f.request("t1")); });
    std::thread b([&] { r2 = service.create(f.request("t2")); });
    a.join();
    b.join();
    CHECK(started == 2);
    for (auto [name, r] : {std::pair{"t1", &r1}, std::pair{"t2", &r2}}) {
        INFO(name << "\n" << transcript_of(f.session_for(name)));
        REQUIRE(r->has_value());
        const Result<CreateReport>& result = **r;
        INFO((result ? std::string() : result.error().line()));
        REQUIRE(result);
        CHECK(result->record.name == name);
        CHECK(result->remote_commands() == 4);
        int machine_phases = 0;
        for (const auto& [phase, secs] : result->timings) machine_phases += phase == "machine";
        CHECK(machine_phases == 1);
        CHECK(f.session_for(name).failures().empty());
        CHECK(f.session_for(name).unused().empty());
        CHECK(f.store.load(name)->status == MachineStatus::Ready);
    }
    // Each machine has a CA of its own: t1's client certificate does not open t2.
    CHECK(*read_file(f.store.machine_file("t1", k_ca_cert_file)) != *read_file(f.store.machine_file("t2", k_ca_cert_file)));
}

TEST_CASE("a malformed line in the host's facts fails the create - which rolls back - no abort", "[service]") {
    Fixture f;
    auto& session = f.session_for("web1");
    std::string facts = installed_debian_facts();
    facts.replace(facts.find("@files\n"), 7, "@files\n/etc/docker/daemon.json 0123abc zz9 root:root\n");
    session.expect_run({"@os-release", "dpkg-query", "sha256sum"}, {0, facts, ""});
    MachineService service(f.ports());

    auto report = service.create(f.request("web1"));
    INFO(transcript_of(session));
    REQUIRE(!report);
    CHECK(report.error().message.find("cannot create machine \"web1\": the host's report of its state has a "
                                      "malformed line in @files") != std::string::npos);
    CHECK(f.script->calls == std::vector<std::string>{"precreate web1", "create web1", "remove web1"});
    CHECK(!std::filesystem::exists(f.store.machine_dir("web1")));  // no record left "creating"
    CHECK(!std::filesystem::exists(f.store.root() / "locks" / "web1.lock"));
    CHECK(session.transcript().size() == 1);  // nothing was changed on the host
}

TEST_CASE("an exception escaping a create is an internal error - the create still rolls back", "[service]") {
    Fixture f;
    f.script->ssh = false;
    f.script->on_create = [](const std::string&) { throw std::out_of_range("stoul"); };
    MachineService service(f.ports());

    auto report = service.create(f.request("web1"));
    REQUIRE(!report);
    CHECK(report.error().message == "cannot create machine \"web1\": internal error: stoul");
    CHECK(f.script->calls == std::vector<std::string>{"precreate web1", "remove web1"});
    CHECK(!std::filesystem::exists(f.store.machine_dir("web1")));
    CHECK(!std::filesystem::exists(f.store.root() / "locks" / "web1.lock"));

    // When the driver cannot undo it either, the record is left in "error" for `rm -f`, never "creating".
    f.script->fail_remove = "the hypervisor is gone";
    auto again = service.create(f.request("web1"));
    REQUIRE(!again);
    auto saved = f.store.load("web1");
    REQUIRE(saved);
    CHECK(saved->status == MachineStatus::Error);
    CHECK(saved->last_error == "internal error: stoul");
}

TEST_CASE("an exception during the first provision rolls back with the driver it borrowed", "[service]") {
    Fixture f;
    Ports ports = f.ports();
    ports.ssh = [](const SshTarget&, const SshOptions&) -> Result<std::unique_ptr<Session>> {
        throw std::runtime_error("boom in provision");
    };
    MachineService throwing(ports);

    auto report = throwing.create(f.request("web1"));
    REQUIRE(!report);
    CHECK(report.error().message == "cannot create machine \"web1\": internal error: boom in provision");
    CHECK(f.script->calls == std::vector<std::string>{"precreate web1", "create web1", "remove web1"});
    CHECK(!std::filesystem::exists(f.store.machine_dir("web1")));
}

// --- the anonymous-client check (issue 10, item 7) and a failed create on a host berth did not
// make (item 14) ---

TEST_CASE("a create whose Docker answers clients without a certificate fails - the machine is not ready", "[service][anonymous]") {
    Fixture f;
    f.docker.anonymous_accepted = true;
    auto& session = f.session_for("web1");
    expect_first_provision(session, "web1");
    MachineService service(f.ports());

    auto report = service.create(f.request("web1"));
    INFO(transcript_of(session));
    REQUIRE(!report);
    INFO(report.error().line());
    CHECK(f.docker.anonymous_checks == 1);
    CHECK(report.error().message.find("cannot create machine \"web1\"") != std::string::npos);
    CHECK(report.error().message.find("answers a client without a certificate") != std::string::npos);
    // A VM berth made is removed, as after any failed create.
    CHECK(f.script->calls.back() == "remove web1");
    CHECK(!std::filesystem::exists(f.store.machine_dir("web1")));
}

TEST_CASE("a provision whose Docker answers clients without a certificate leaves the machine in error", "[service][anonymous]") {
    Fixture f;
    auto& session = f.session_for("web1");
    expect_first_provision(session, "web1");
    MachineService service(f.ports());
    REQUIRE(service.create(f.request("web1")));
    CHECK(f.docker.anonymous_checks == 1);
    REQUIRE(f.store.load("web1")->status == MachineStatus::Ready);

    // Someone turned tlsverify off on the host; the next provision sees the facts as they are.
    expect_first_provision(session, "web1");
    f.docker.anonymous_accepted = true;
    auto again = service.provision("web1", ProvisionOptions{}, false);
    INFO(transcript_of(session));
    REQUIRE(!again);
    CHECK(f.docker.anonymous_checks == 2);
    CHECK(again.error().message.find("Docker on web1 is open") != std::string::npos);
    auto saved = f.store.load("web1");
    REQUIRE(saved);
    CHECK(saved->status == MachineStatus::Error);
    CHECK(saved->last_error.find("without a certificate") != std::string::npos);
}

TEST_CASE("a create on a host berth did not make that fails after changing it says what changed and keeps the host key", "[service][generic]") {
    Fixture f;
    f.script->owns_host = false;  // as the generic driver
    // The pinned host key, as the real SSH connection leaves it in the machine's directory.
    f.script->on_create = [&](const std::string& name) {
        std::ofstream(f.store.machine_file(name, k_known_hosts_file)) << "192.168.122.10 ssh-ed25519 AAAA\n";
    };
    auto& session = f.session_for("web1");
    session.expect_run({"@os-release", "dpkg-query", "sha256sum"}, {0, installed_debian_facts(), ""})
        .expect_run({"h='web1'\nhostnamectl set-hostname \"$h\"", "install -d -m 0755 /etc/docker"});
    for (const auto& [path, mode] : k_managed) session.expect_upload(path, mode);
    session.expect_run({"systemctl restart docker"}, {1, "", "Job for docker.service failed"})
        .expect_run({"journalctl -u docker"}, {0, "dockerd: bad daemon.json\n", ""});
    MachineService service(f.ports());

    auto report = service.create(f.request("web1"));
    INFO(transcript_of(session));
    REQUIRE(!report);
    const Error& e = report.error();
    INFO(e.line());
    CHECK(session.unused().empty());
    CHECK(e.message.find("applying the configuration on web1 failed") != std::string::npos);
    CHECK(e.message.find("berth changed web1 before it failed") != std::string::npos);
    CHECK(e.message.find("hostname web1") != std::string::npos);
    for (const auto& [path, mode] : k_managed) CHECK(e.message.find(path) != std::string::npos);
    CHECK(e.message.find("services reloaded or restarted: ") != std::string::npos);
    CHECK(e.message.find("docker") != std::string::npos);
    CHECK(e.hint.find("berth provision web1") != std::string::npos);
    CHECK(e.hint.find("berth rm web1") != std::string::npos);
    // Nothing of the host is "removed" and the record, its certificates and host key stay.
    CHECK(f.script->calls == std::vector<std::string>{"precreate web1", "create web1"});
    auto saved = f.store.load("web1");
    REQUIRE(saved);
    CHECK(saved->status == MachineStatus::Error);
    CHECK(saved->last_error.find("applying the configuration") != std::string::npos);
    CHECK(std::filesystem::exists(f.store.machine_file("web1", k_known_hosts_file)));
    CHECK(std::filesystem::exists(f.store.machine_file("web1", k_ca_cert_file)));
}

TEST_CASE("a create on a host berth did not make that fails before changing it leaves nothing", "[service][generic]") {
    Fixture f;
    f.script->owns_host = false;
    auto& session = f.session_for("web1");
    session.expect_run_error({"@os-release"}, "the connection to 192.168.122.10:22 was lost");
    MachineService service(f.ports());

    auto report = service.create(f.request("web1"));
    REQUIRE(!report);
    CHECK(report.error().message.find("berth changed") == std::string::npos);
    CHECK(report.error().hint == "nothing was left behind");
    CHECK(!std::filesystem::exists(f.store.machine_dir("web1")));
}

// --- berth-authz: the program, --authz-policy and --authz-owner-role ------------------------------

namespace {

const char* const k_ops_policy =
    "version: 1\n"
    "default_role: restricted\n"
    "roles:\n"
    "  restricted:\n"
    "    waive: []\n"
    "  ops:\n"
    "    waive: [bind_mounts]\n"
    "    bind_allow: [/srv/berth, /data]\n"
    "users:\n"
    "  \"berth client for web1\": ops\n";

}  // namespace

TEST_CASE("create --authz-policy: checked first - copied into the store 0600 - what the host gets - replayed", "[service][authz]") {
    Fixture f;
    berth::test::write_text(f.dir / "ops.yaml", k_ops_policy);
    auto& session = f.session_for("web1");
    expect_first_provision(session, "web1");
    MachineService service(f.ports());
    auto req = f.request("web1");
    req.provision.authz_policy = f.dir / "ops.yaml";
    auto report = service.create(req);
    INFO(transcript_of(session));
    REQUIRE(report);
    CHECK(session.uploaded().at("/etc/berth/authz.yaml") == k_ops_policy);
    const auto copy = f.store.machine_file("web1", k_authz_policy_file);
    CHECK(read_file(copy).value() == k_ops_policy);
    CHECK((std::filesystem::status(copy).permissions() & std::filesystem::perms::all) ==
          (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    auto saved = f.store.load("web1");
    REQUIRE(saved);
    CHECK(saved->authz.custom_policy);
    CHECK(saved->authz.owner_role == "restricted");
    CHECK(f.authz_loads == 2);  // checked before anything was made, read again to provision

    // The file may change or go: provision replays the store's copy.
    std::filesystem::remove(f.dir / "ops.yaml");
    expect_first_provision(session, "web1");
    auto again = service.provision("web1", ProvisionOptions{}, false);
    INFO(transcript_of(session));
    REQUIRE(again);
    CHECK(session.uploaded().at("/etc/berth/authz.yaml") == k_ops_policy);

    // --authz-owner-role has no say over a policy of one's own; "default" goes back to berth's.
    ProvisionOptions role;
    role.authz_owner_role = "admin";
    auto refused = service.provision("web1", role, false);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == ErrorKind::Usage);
    CHECK(refused.error().hint.find("\"berth client for web1\"") != std::string::npos);
    expect_first_provision(session, "web1");
    ProvisionOptions back;
    back.authz_policy = "default";
    REQUIRE(service.provision("web1", back, false));
    CHECK(session.uploaded().at("/etc/berth/authz.yaml").find("\"berth client for web1\": restricted") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(copy));
    CHECK_FALSE(f.store.load("web1")->authz.custom_policy);
}

TEST_CASE("a bad --authz-policy or --authz-owner-role is refused before anything is made", "[service][authz]") {
    Fixture f;
    MachineService service(f.ports());
    auto req = f.request("web1");
    std::string needle;
    SECTION("a rule berth-authz does not know, named with its file and line") {
        berth::test::write_text(f.dir / "bad.yaml",
                                "version: 1\ndefault_role: r\nroles:\n  r:\n    waive: [privileged, nosuch]\n");
        req.provision.authz_policy = f.dir / "bad.yaml";
        needle = (f.dir / "bad.yaml").string() + ":5: unknown rule \"nosuch\"";
    }
    SECTION("not YAML") {
        berth::test::write_text(f.dir / "bad.yaml", "version: [1\n");
        req.provision.authz_policy = f.dir / "bad.yaml";
        needle = (f.dir / "bad.yaml").string() + ":2: not valid YAML";
    }
    SECTION("a missing file") {
        req.provision.authz_policy = f.dir / "missing.yaml";
        needle = "cannot read --authz-policy " + (f.dir / "missing.yaml").string();
    }
    SECTION("an unknown role") {
        req.provision.authz_owner_role = "root";
        needle = "--authz-owner-role takes restricted or admin, not \"root\"";
    }
    SECTION("a role beside a policy of one's own") {
        berth::test::write_text(f.dir / "ops.yaml", k_ops_policy);
        req.provision.authz_policy = f.dir / "ops.yaml";
        req.provision.authz_owner_role = "admin";
        needle = "--authz-owner-role applies to berth's default policy";
    }
    auto r = service.create(req);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::Usage);  // exit 2
    CHECK(r.error().message.find(needle) != std::string::npos);
    CHECK(f.script->calls.empty());
    CHECK(f.opened.empty());
    CHECK_FALSE(std::filesystem::exists(f.store.machine_dir("web1")));
}

TEST_CASE("create --authz-owner-role admin: the owner is admin in the default policy - named as weakened", "[service][authz]") {
    Fixture f;
    auto& session = f.session_for("web1");
    expect_first_provision(session, "web1");
    MachineService service(f.ports());
    auto req = f.request("web1");
    req.provision.authz_owner_role = "admin";
    auto report = service.create(req);
    INFO(transcript_of(session));
    REQUIRE(report);
    CHECK(session.uploaded().at("/etc/berth/authz.yaml").find("\"berth client for web1\": admin") != std::string::npos);
    REQUIRE(report->provision);
    CHECK(report->provision->warnings ==
          std::vector<std::string>{"--authz-owner-role admin weakens the hardening: " +
                                   weakening_reason("authz-owner-role")});
    auto saved = f.store.load("web1");
    REQUIRE(saved);
    CHECK(saved->authz.owner_role == "admin");
    CHECK_FALSE(saved->authz.custom_policy);
    CHECK(weakened_hardening(saved->engine, saved->authz) == std::vector<std::string>{"authz-owner-role=admin"});
    CHECK(weakened_hardening(saved->engine, AuthzConfig{}).empty());
}

TEST_CASE("without berth-authz, create says where it looked and how to build it - before anything is made", "[service][authz]") {
    Fixture f;
    Ports ports = f.ports();
    const auto bin = f.dir / "bin";
    std::filesystem::create_directories(bin);
    ports.authz_binary = [bin]() { return load_authz_binary([](const std::string&) { return std::nullopt; }, bin / "berth"); };
    MachineService service(ports);
    auto r = service.create(f.request("web1"));
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("cannot find berth-authz") != std::string::npos);
    CHECK(r.error().message.find((bin / "berth-authz").string()) != std::string::npos);
    CHECK(r.error().message.find((f.dir / "lib" / "berth" / "berth-authz").string()) != std::string::npos);
    CHECK(r.error().hint.find("cmake --build build --target berth-authz") != std::string::npos);
    CHECK(f.script->calls.empty());
    CHECK_FALSE(std::filesystem::exists(f.store.machine_dir("web1")));
}

TEST_CASE("berth-authz is found through $BERTH_AUTHZ_BINARY - beside berth - in ../lib/berth", "[service][authz]") {
    berth::test::TempDir dir;
    const auto exe = dir / "prefix" / "bin" / "berth";
    std::map<std::string, std::string> vars;
    GetEnv env = [&vars](const std::string& k) -> std::optional<std::string> {
        auto it = vars.find(k);
        return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    CHECK(authz_binary_candidates(env, exe) ==
          std::vector<std::filesystem::path>{dir / "prefix" / "bin" / "berth-authz",
                                             dir / "prefix" / "lib" / "berth" / "berth-authz"});
    CHECK_FALSE(load_authz_binary(env, exe));

    berth::test::write_text(dir / "prefix" / "lib" / "berth" / "berth-authz", test::fake_elf(62, "installed"));
    CHECK(load_authz_binary(env, exe).value() == test::fake_elf(62, "installed"));
    berth::test::write_text(dir / "prefix" / "bin" / "berth-authz", test::fake_elf(62, "beside"));
    CHECK(load_authz_binary(env, exe).value() == test::fake_elf(62, "beside"));

    // The variable wins, and is the only place looked at when set.
    vars["BERTH_AUTHZ_BINARY"] = (dir / "mine").string();
    auto missing = load_authz_binary(env, exe);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().hint.find("$BERTH_AUTHZ_BINARY names a file that does not exist") != std::string::npos);
    berth::test::write_text(dir / "mine", "#!/bin/sh\necho not a program berth built\n");
    auto script = load_authz_binary(env, exe);
    REQUIRE_FALSE(script);
    CHECK(script.error().message.find("is not an ELF executable") != std::string::npos);
    berth::test::write_text(dir / "mine", test::fake_elf(183, "mine"));
    CHECK(load_authz_binary(env, exe).value() == test::fake_elf(183, "mine"));
}

// --- berth audit over the same fakes: one connection, read-only, then --fix --------------------

#include <berth/core/digest.h>
#include <berth/service/audit_service.h>

namespace {

/// The facts of web1 after its first provision: every file berth uploaded is there as written.
std::string provisioned_facts(const ScriptedSession& s) {
    std::string facts = installed_debian_facts();
    facts.replace(facts.find("@hostname\nlocalhost\n"), 20, "@hostname\nweb1\n");
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

/// What the audit command prints (nonce "n0nce"): rules gone (auditctl -D), a SUID file found.
std::string audit_answer() {
    auto s = [](const std::string& name) { return "@n0nce " + name + "\n"; };
    return s("auditctl") + s("have-auditctl") + "No rules\n" + s("docker-root") + "not-mounted\n" + s("docker-group") +
           "docker:x:998:\n" + s("stat") + "400 root:root /etc/docker/tls/server-key.pem\n710 root:root /var/lib/docker\n" + s("daemon-json") +
           s("dockerd-args") + s("exec-start") + s("suid") + "/srv/berth/www/bash\n" + s("caps") + s("getcap") + s("end");
}

}  // namespace

TEST_CASE("audit: the check-only facts and one read-only command over one connection, the API over TLS", "[service][audit]") {
    Fixture f;
    auto& session = f.session_for("web1");
    expect_first_provision(session, "web1");
    MachineService service(f.ports());
    REQUIRE(service.create(f.request("web1")));
    const int after_create = session.channels_opened();
    const size_t after_create_calls = session.transcript().size();
    f.docker.containers = {{{"Id", std::string(64, 'a')}, {"Name", "/web"},
                            {"Mounts", {{{"Type", "bind"}, {"Source", "/srv/berth/it's www"}}}}}};
    session.expect_run({"@os-release", "sha256sum"}, {0, provisioned_facts(session), ""})
        .expect_run({"'@n0nce'' auditctl'", "auditctl -l", "'/srv/berth/it'\\''s www'"}, {0, audit_answer(), ""});

    AuditService auditor(service, [] { return std::string("n0nce"); });
    auto audit = auditor.audit("web1", {});
    INFO(transcript_of(session));
    REQUIRE(audit);
    CHECK(session.failures().empty());
    CHECK(session.unused().empty());
    CHECK(f.opened.size() == 2);  // create's connection, then the audit's one
    CHECK(f.opened.back().second == HostKeyPolicy::RequirePinned);
    CHECK(audit->remote_commands == after_create + 2);  // the scripted session counts create's too
    // Read-only: nothing uploaded, nothing that writes in what ran.
    for (size_t i = after_create_calls; i < session.transcript().size(); ++i)
        CHECK(session.transcript()[i].starts_with("run: "));
    for (size_t i = session.scripts().size() - 2; i < session.scripts().size(); ++i)
        for (const char* writes : {"install ", "chmod", "chown", "systemctl restart", "systemctl reload", "augenrules", "tee "})
            CHECK(session.scripts()[i].find(writes) == std::string::npos);
    CHECK(f.docker.probes == 1);

    std::map<std::string, AuditStatus> status;
    for (const auto& r : audit->results)
        if (!status.contains(r.id) || r.status == AuditStatus::Warn) status[r.id] = r.status;
    CHECK(status.at("berth.drift") == AuditStatus::Pass);  // the host holds what berth wrote
    for (const auto& r : audit->results)
        if (r.id == "2.12") CHECK(r.detail.find("refuses a privileged container (HTTP 403: berth-authz:") != std::string::npos);
    CHECK(status.at("1.1.5") == AuditStatus::Warn);  // no audit rules
    CHECK(status.at("berth.suid") == AuditStatus::Warn);
    CHECK_FALSE(audit->passed());
}

TEST_CASE("audit --fix provisions first then audits - an unreachable machine is an error", "[service][audit]") {
    Fixture f;
    auto& session = f.session_for("web1");
    expect_first_provision(session, "web1");
    MachineService service(f.ports());
    REQUIRE(service.create(f.request("web1")));
    const int waits = f.docker.waits;
    session.expect_run({"@os-release", "sha256sum"}, {0, provisioned_facts(session), ""})  // the provision: no drift
        .expect_run({"@os-release", "sha256sum"}, {0, provisioned_facts(session), ""})     // the audit's check
        .expect_run({"auditctl -l"}, {0, audit_answer(), ""});
    AuditService auditor(service, [] { return std::string("n0nce"); });
    auto fixed = auditor.fix("web1", {});
    INFO(transcript_of(session));
    REQUIRE(fixed);
    CHECK(session.unused().empty());
    CHECK(f.docker.waits == waits + 1);  // the provision verified Docker
    REQUIRE(fixed->fix);
    CHECK(fixed->fix->changed.empty());

    session.expect_run_error({"@os-release"}, "the connection to 192.168.122.10:22 was lost");
    auto lost = auditor.audit("web1", {});
    REQUIRE_FALSE(lost);
    CHECK(lost.error().message.find("was lost") != std::string::npos);
    CHECK_FALSE(auditor.audit("ghost", {}));
}

// --- per-user certificates (berth certs): issued from the machine's CA, the host's policy follows ---

#include <berth/authz/policy.h>
#include <berth/service/user_certs.h>

TEST_CASE("create with users issues them from the new CA first: the first policy already gives each its role",
          "[service][certs]") {
    Fixture f;
    auto& session = f.session_for("web1");
    expect_first_provision(session, "web1");
    MachineService service(f.ports());
    auto req = f.request("web1");
    req.users = {{"alice", "restricted", 0}, {"bob@example.org", "admin", 30}};
    auto report = service.create(req);
    INFO(transcript_of(session));
    REQUIRE(report);
    REQUIRE(report->record.users.size() == 2);
    auto policy = authz::parse_policy(session.uploaded().at("/etc/berth/authz.yaml"), "authz.yaml");
    REQUIRE(policy);
    CHECK(policy->role_for("alice").name == "restricted");
    CHECK(policy->role_for("bob@example.org").name == "admin");
    for (const auto& user : report->record.users) {
        const auto dir = user_cert_dir(f.store, "web1", user.cn);
        auto info = pki::read_cert(*read_file(dir / "cert.pem"));
        REQUIRE(info);
        CHECK(info->subject_cn == user.cn);
        CHECK(info->issuer_cn == "berth CA for web1");
        CHECK(info->serial == user.serial);
        CHECK(rfc3339(info->not_after) == user.not_after);
        CHECK(test::file_mode(dir / "key.pem") == 0600);
        CHECK(test::file_mode(dir) == 0700);
    }
    auto saved = f.store.load("web1");
    REQUIRE(saved);
    CHECK(saved->users.size() == 2);

    // Bad users are refused before anything is made.
    for (auto users : {std::vector<CreateUser>{{"-x", "restricted", 0}}, std::vector<CreateUser>{{"a", "root", 0}},
                       std::vector<CreateUser>{{"a", "admin", 0}, {"a", "admin", 0}},
                       std::vector<CreateUser>{{"berth client for web2", "admin", 0}},
                       std::vector<CreateUser>{{"a", "admin", 9000}}}) {
        auto bad = f.request("web2");
        bad.users = users;
        auto refused = service.create(bad);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().kind == ErrorKind::Usage);
        CHECK_FALSE(f.store.exists("web2"));
    }
}

TEST_CASE("certs issue and revoke update the host: only the policy and the revocation list change, berth-authz reloads",
          "[service][certs]") {
    Fixture f;
    auto& s = f.session_for("web1");
    expect_first_provision(s, "web1");
    MachineService service(f.ports());
    REQUIRE(service.create(f.request("web1")));
    UserCertService certs(service);

    s.expect_run({"@os-release"}, {0, provisioned_facts(s), ""})
        .expect_run({"install -d"})
        .expect_upload("/etc/berth/authz.yaml", 0644)
        .expect_run({"systemctl try-reload-or-restart berth-authz.service\n"});
    auto alice = certs.issue("web1", "alice", {});
    INFO(transcript_of(s));
    REQUIRE(alice);
    CHECK(s.unused().empty());
    CHECK(s.failures().empty());
    CHECK(s.scripts().back().find("docker") == std::string::npos);
    auto policy = authz::parse_policy(s.uploaded().at("/etc/berth/authz.yaml"), "authz.yaml");
    REQUIRE(policy);
    CHECK(policy->users.at("alice") == "restricted");

    s.expect_run({"@os-release"}, {0, provisioned_facts(s), ""})
        .expect_run({"install -d"})
        .expect_upload("/etc/berth/authz.yaml", 0644)
        .expect_upload("/etc/berth/authz-revoked.yaml", 0644)
        .expect_run({"systemctl try-reload-or-restart berth-authz.service\n"});
    REQUIRE(certs.revoke("web1", "alice", {}));
    CHECK(s.unused().empty());
    CHECK(s.failures().empty());
    auto revoked = authz::parse_revoked(s.uploaded().at("/etc/berth/authz-revoked.yaml"), "authz-revoked.yaml");
    REQUIRE(revoked);
    CHECK(*revoked == std::set<std::string, std::less<>>{alice->serial});
    CHECK_FALSE(std::filesystem::exists(user_cert_dir(f.store, "web1", "alice")));  // the key went too
    auto listed = certs.list("web1");
    REQUIRE(listed);
    REQUIRE(listed->size() == 1);
    CHECK(listed->at(0).revoked);

    // Issued again (without updating the host): a new serial; the old one stays revoked.
    IssueOptions later;
    later.provision = false;
    later.role = "admin";
    auto again = certs.issue("web1", "alice", later);
    REQUIRE(again);
    CHECK(again->serial != alice->serial);
    CHECK(again->role == "admin");
    listed = certs.list("web1");
    REQUIRE(listed->size() == 2);
    CHECK(listed->at(0).revoked);
    CHECK_FALSE(listed->at(1).revoked);
    CHECK(s.unused().empty());

    // What is not there is an error that says so.
    auto nobody = certs.revoke("web1", "nobody", {});
    REQUIRE_FALSE(nobody);
    CHECK(nobody.error().kind == ErrorKind::NotFound);
    auto ghost = certs.issue("ghost", "alice", {});
    REQUIRE_FALSE(ghost);
    CHECK(ghost.error().kind == ErrorKind::NotFound);
    CHECK_FALSE(std::filesystem::exists(f.store.root() / "locks" / "ghost.lock"));
}

TEST_CASE("regenerate_certs: a client certificate alone touches no host - a server certificate is installed, dockerd restarts",
          "[service][regenerate-certs]") {
    Fixture f;
    auto& s = f.session_for("web1");
    expect_first_provision(s, "web1");
    MachineService service(f.ports());
    REQUIRE(service.create(f.request("web1")));
    const auto file = [&](const char* name) { return read_file(f.store.machine_file("web1", name)).value(); };
    const std::string ca = file(k_ca_cert_file), server = file(k_server_cert_file), client = file(k_client_cert_file);
    const std::size_t commands = s.transcript().size();

    auto renewed = service.regenerate_certs("web1", CertRenewal{false, false, true}, {});
    REQUIRE(renewed);
    CHECK_FALSE(renewed->has_value());  // nothing installed: no provision report
    CHECK(f.opened.size() == 1);        // no SSH connection after create's
    CHECK(s.transcript().size() == commands);
    CHECK(file(k_ca_cert_file) == ca);
    CHECK(file(k_server_cert_file) == server);
    CHECK(file(k_client_cert_file) != client);
    const auto issued = pki::read_cert(file(k_client_cert_file)).value();
    CHECK(issued.issuer_cn == pki::read_cert(ca).value().subject_cn);
    CHECK(f.store.load("web1")->tls.client_not_after == rfc3339(issued.not_after));

    // A new server certificate: the provision uploads the server's two files and restarts dockerd only.
    s.expect_run({"@os-release"}, {0, provisioned_facts(s), ""})
        .expect_run({"install -d"})
        .expect_upload("/etc/docker/tls/server-cert.pem", 0444)
        .expect_upload("/etc/docker/tls/server-key.pem", 0400)
        .expect_run({"systemctl restart docker"});
    auto installed = service.regenerate_certs("web1", CertRenewal::server_only(), {});
    INFO(transcript_of(s));
    REQUIRE(installed);
    REQUIRE(installed->has_value());
    CHECK(s.unused().empty());
    CHECK(s.failures().empty());
    CHECK(file(k_ca_cert_file) == ca);
    CHECK(file(k_server_cert_file) != server);
    CHECK(s.uploaded().at("/etc/docker/tls/server-cert.pem") == file(k_server_cert_file));
    CHECK((*installed)->restarted == std::vector<std::string>{"docker"});
}

// --- berth import: the first provision of a machine taken over from docker-machine ---------------

namespace {

/// web1 as `berth import` leaves a machine: docker-machine's CA and certificates (no CA key), not
/// hardened. Returns that CA's fingerprint.
std::string make_imported(Fixture& f) {
    auto certs = pki::make_machine_certs(pki::MachineCertRequest{"docker-machine", {"10.0.0.5"}, {}, {}});
    REQUIRE(certs);
    for (auto [file, text] : {std::pair{k_ca_cert_file, certs->ca.cert_pem}, std::pair{k_client_cert_file, certs->client.cert_pem},
                              std::pair{k_client_key_file, certs->client.key_pem}, std::pair{k_server_cert_file, certs->server.cert_pem},
                              std::pair{k_server_key_file, certs->server.key_pem}})
        REQUIRE(f.store.write_file("web1", file, text, 0600));
    std::filesystem::remove(f.store.machine_file("web1", k_ca_key_file));
    auto record = f.store.load("web1");
    REQUIRE(record);
    record->imported = ImportedFrom{"docker-machine", "/home/u/.docker/machine/machines/web1", "2026-12-07T02:00:00Z", false};
    record->tls.ca_fingerprint = pki::read_cert(certs->ca.cert_pem)->sha256_fingerprint;
    REQUIRE(f.store.save(*record));
    return record->tls.ca_fingerprint;
}

}  // namespace

TEST_CASE("provision of an imported machine: a CA of its own first - docker-machine's back if it fails - then hardened",
          "[service][import]") {
    Fixture f;
    auto& session = f.session_for("web1");
    expect_first_provision(session, "web1");
    MachineService service(f.ports());
    REQUIRE(service.create(f.request("web1")));
    const std::string docker_machine_ca = make_imported(f);
    const std::string docker_machine_pem = *read_file(f.store.machine_file("web1", k_ca_cert_file));

    // Fails before it changed the host: docker-machine's certificates are put back, still not hardened.
    session.expect_run_error({"@os-release"}, "the connection to 192.168.122.10:22 was lost");
    auto failed = service.provision("web1", ProvisionOptions{}, false);
    INFO(transcript_of(session));
    REQUIRE(!failed);
    CHECK(failed.error().hint.find("docker-machine's certificates are kept") != std::string::npos);
    // Its first contact with berth pins the host key (docker-machine pinned none).
    CHECK(f.opened.back().second == HostKeyPolicy::PinOnFirstUse);
    auto kept = f.store.load("web1");
    REQUIRE(kept);
    CHECK(kept->imported.not_hardened());
    CHECK(kept->tls.ca_fingerprint == docker_machine_ca);
    CHECK(*read_file(f.store.machine_file("web1", k_ca_cert_file)) == docker_machine_pem);
    CHECK(!std::filesystem::exists(f.store.machine_file("web1", k_ca_key_file)));

    expect_first_provision(session, "web1");
    auto done = service.provision("web1", ProvisionOptions{}, false);
    INFO(transcript_of(session));
    REQUIRE(done);
    auto hardened = f.store.load("web1");
    REQUIRE(hardened);
    CHECK(!hardened->imported.not_hardened());
    CHECK(hardened->imported.tool == "docker-machine");  // where it came from stays on record
    CHECK(hardened->tls.ca_fingerprint != docker_machine_ca);
    auto ca = read_file(f.store.machine_file("web1", k_ca_cert_file));
    REQUIRE(ca);
    CHECK(pki::read_cert(*ca)->sha256_fingerprint == hardened->tls.ca_fingerprint);
    CHECK(std::filesystem::exists(f.store.machine_file("web1", k_ca_key_file)));
    CHECK(session.failures().empty());
}
