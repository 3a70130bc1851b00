// create → provision → verify as one unit: MachineService over Ports of fakes (FakeDriver,
// ScriptedSession, FakeDocker, FakeClock), asserting the exact remote transcript, what the record
// keeps and what the report says; and two creates at once on one service.

#include <berth/pki/pki.h>
#include <berth/service/machine_service.h>
#include <berth/service/real_ports.h>

#include "../fakes/borrowed.h"
#include "../fakes/fake_clock.h"
#include "../fakes/fake_docker.h"
#include "../fakes/fake_driver.h"
#include "../fakes/scripted_session.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

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
           "@sshd-ports\n22\n@subid\nsubuid\nsubgid\n@dockerd\n/usr/sbin/dockerd\n@selinux\n\n@nft\n/usr/sbin/nft\n@end\n";
}

const char* const k_managed[] = {
    "/etc/docker/tls/ca.pem", "/etc/docker/tls/server-cert.pem", "/etc/docker/tls/server-key.pem",
    "/etc/docker/daemon.json", "/etc/systemd/system/docker.service.d/10-berth.conf",
    "/etc/audit/rules.d/berth-docker.rules", "/etc/ssh/sshd_config.d/00-berth.conf", "/etc/berth/firewall.nft",
    "/etc/systemd/system/berth-firewall.service",
};

/// The plan berth runs on that host on first contact: facts, host name, every file, one apply.
void expect_first_provision(ScriptedSession& s, const std::string& name) {
    s.expect_run({"@os-release", "dpkg-query", "sha256sum"}, {0, installed_debian_facts(), ""})
        .expect_run({"hostnamectl set-hostname '" + name + "'", "install -d -m 0755 /etc/docker",
                     "install -d -m 0700 /etc/docker/tls"});
    const unsigned modes[] = {0444, 0444, 0400, 0644, 0644, 0640, 0644, 0644, 0644};
    for (size_t i = 0; i < std::size(k_managed); ++i) s.expect_upload(k_managed[i], modes[i]);
    s.expect_run({"systemctl daemon-reload", "sshd -t", "nft -c -f /etc/berth/firewall.nft",
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
    CHECK(report->remote_commands() == 12);  // facts, prepare, 9 uploads, apply
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
    CHECK(saved->provision.digests.size() == std::size(k_managed));
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
        CHECK(result->remote_commands() == 12);
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
