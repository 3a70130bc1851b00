// The generic driver: options, reachability against a real sshd, and the power verbs over a
// scripted session (a real `shutdown` would take the test machine down).

#include <berth/drivers/generic/generic_driver.h>
#include <berth/transport/libssh_session.h>

#include "../../../tests/fakes/borrowed.h"
#include "../../../tests/fakes/scripted_session.h"
#include "sshd_fixture.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <tuple>

using namespace berth;
using berth::test::ScriptedSession;
using berth::test::SshdFixture;
using berth::test::TempDir;

namespace {

struct Harness {
    TempDir dir;
    std::shared_ptr<ScriptedSession> session = std::make_shared<ScriptedSession>();
    std::vector<SshEndpoint> connected;
    std::unique_ptr<Driver> driver;

    Harness() {
        DriverContext ctx;
        ctx.machine = "g1";
        ctx.machine_dir = dir.path();
        ctx.ssh = [this](const SshEndpoint& e) -> Result<std::unique_ptr<Session>> {
            connected.push_back(e);
            // Hand out a session that forwards to the shared script, so the test keeps it.
            return std::unique_ptr<Session>(std::make_unique<test::BorrowedSession>(*session));
        };
        driver = generic_driver_info().make(ctx);
    }
};

}  // namespace

TEST_CASE("generic: docker-machine's flags with their defaults", "[generic]") {
    auto info = generic_driver_info();
    std::vector<std::string> flags;
    for (const auto& o : info.options) flags.push_back(option_flag(info.name, o));
    CHECK(flags == std::vector<std::string>{"--generic-ip-address", "--generic-ssh-user", "--generic-ssh-key",
                                            "--generic-ssh-port", "--generic-engine-port", "--generic-host-key"});
    auto values = resolve_options(info, {{"ip-address", {"10.0.0.5"}}}, [](const std::string&) { return std::nullopt; });
    REQUIRE(values);
    CHECK(values->at("ssh-user") == std::vector<std::string>{"root"});
    CHECK(values->at("ssh-port") == std::vector<std::string>{"22"});
    CHECK(values->at("engine-port") == std::vector<std::string>{"2376"});
    auto missing = resolve_options(info, {}, [](const std::string&) { return std::nullopt; });
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("--generic-ip-address") != std::string::npos);
}

TEST_CASE("generic: bad ports and a missing key are usage errors", "[generic]") {
    Harness h;
    auto bad_port = h.driver->configure({{"ip-address", {"10.0.0.5"}}, {"ssh-port", {"99999"}}, {"ssh-key", {"/k"}}});
    REQUIRE_FALSE(bad_port);
    CHECK(bad_port.error().kind == ErrorKind::Usage);
    CHECK(bad_port.error().message.find("--generic-ssh-port") != std::string::npos);
}

TEST_CASE("generic: pre-create check reaches the host and reads the key", "[generic]") {
    SshdFixture sshd;
    Harness h;
    REQUIRE(h.driver->configure({{"ip-address", {"127.0.0.1"}},
                                 {"ssh-port", {std::to_string(sshd.port())}},
                                 {"ssh-key", {sshd.client_key().string()}}}));
    CHECK(h.driver->precreate_check());
    CHECK(h.driver->state().value() == MachineState::Running);
    REQUIRE(h.driver->create());
    CHECK(berth::test::file_mode(h.dir / "ssh-key") == 0600);
    auto endpoint = h.driver->ssh_endpoint();
    REQUIRE(endpoint);
    CHECK(endpoint->key_path == h.dir / "ssh-key");
    CHECK(endpoint->port == sshd.port());
    CHECK(h.driver->docker_url().value() == "tcp://127.0.0.1:2376");

    sshd.stop();
    CHECK(h.driver->state().value() == MachineState::Stopped);
    auto unreachable = h.driver->precreate_check();
    REQUIRE_FALSE(unreachable);
    CHECK(unreachable.error().message.find("nothing answers on 127.0.0.1:" + std::to_string(sshd.port())) !=
          std::string::npos);

    Harness bad_key;
    REQUIRE(bad_key.driver->configure({{"ip-address", {"127.0.0.1"}}, {"ssh-key", {(h.dir / "nope").string()}}}));
    auto no_key = bad_key.driver->precreate_check();
    REQUIRE_FALSE(no_key);
    CHECK(no_key.error().message.find("cannot use the SSH key") != std::string::npos);
}

TEST_CASE("generic: --generic-host-key pins the host's key before the first connection", "[generic]") {
    SshdFixture sshd;
    Harness h;
    OptionValues values = {{"ip-address", {"127.0.0.1"}},
                           {"ssh-port", {std::to_string(sshd.port())}},
                           {"ssh-key", {sshd.client_key().string()}},
                           {"host-key", {"ssh-ed25519 not-base64"}}};
    auto bad = h.driver->configure(values);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().kind == ErrorKind::Usage);
    CHECK(bad.error().message.find("--generic-host-key") != std::string::npos);

    values["host-key"] = {sshd.host_key_line()};
    REQUIRE(h.driver->configure(values));
    REQUIRE(h.driver->create());
    CHECK(berth::test::file_mode(h.dir / "known_hosts") == 0600);
    SshTarget t{"127.0.0.1", sshd.port(), "root", sshd.client_key(), h.dir / "known_hosts", "g1"};
    SshOptions verified;
    verified.host_key = HostKeyPolicy::RequirePinned;  // what create's first contact uses once a key is pinned
    verified.connect_timeout = std::chrono::seconds(20);
    auto s = LibsshSession::connect(t, verified);
    INFO((s ? std::string() : s.error().line()));
    CHECK(s);

    // Another host's key pinned up front: the first connection is refused, not trusted.
    sshd.restart_with_new_host_key();
    auto refused = LibsshSession::connect(t, verified);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("has CHANGED") != std::string::npos);
}

TEST_CASE("generic: stop and restart shut the host down over SSH - start and kill are refused", "[generic]") {
    Harness h;
    REQUIRE(h.driver->configure({{"ip-address", {"10.0.0.5"}}, {"ssh-user", {"docker"}}, {"ssh-key", {"/k"}}}));
    h.session->expect_run({"shutdown -h now"}).expect_run({"shutdown -r now"});
    REQUIRE(h.driver->stop());
    REQUIRE(h.driver->restart());
    CHECK(h.session->failures().empty());
    CHECK(h.session->unused().empty());
    REQUIRE(h.connected.size() == 2);
    CHECK(h.connected[0].user == "docker");
    CHECK(h.connected[0].host == "10.0.0.5");
    auto start = h.driver->start();
    REQUIRE_FALSE(start);
    CHECK(start.error().message.find("cannot start") != std::string::npos);
    CHECK_FALSE(h.driver->kill());
    CHECK(h.driver->remove());  // forgets; the host is not berth's to delete
}

TEST_CASE("generic: settings survive save and load - IPv6 URLs get brackets", "[generic]") {
    Harness h;
    REQUIRE(h.driver->configure({{"ip-address", {"fd00::5"}}, {"engine-port", {"12376"}}, {"ssh-key", {"/k"}}}));
    auto saved = h.driver->save();
    Harness other;
    REQUIRE(other.driver->load(saved));
    CHECK(other.driver->docker_url().value() == "tcp://[fd00::5]:12376");
    CHECK(other.driver->ip().value() == "fd00::5");
}

TEST_CASE("generic: a record written by an earlier berth loads and saves byte for byte", "[generic]") {
    Harness h;
    const std::string record = R"({"engine_port":12376,"ip_address":"10.0.0.5","ssh_port":2222,"ssh_user":"admin"})";
    REQUIRE(h.driver->load(nlohmann::json::parse(record)));
    CHECK(h.driver->save().dump() == record);
    Harness old;
    REQUIRE(old.driver->load(nlohmann::json::parse(R"({"ip_address":"10.0.0.6"})")));
    CHECK(old.driver->save().dump() == R"({"engine_port":2376,"ip_address":"10.0.0.6","ssh_port":22,"ssh_user":"root"})");
    auto no_ip = Harness().driver->load(nlohmann::json::parse(R"({"ssh_user":"root"})"));
    REQUIRE_FALSE(no_ip);
    CHECK(no_ip.error().message.find("are damaged") != std::string::npos);
}

TEST_CASE("generic: ls asks many hosts in parallel", "[generic]") {
    SshdFixture sshd;
    std::vector<Harness> hs(6);
    std::vector<Driver*> drivers;
    for (size_t i = 0; i < hs.size(); ++i) {
        // Half answer, half are on a port nobody listens on.
        const int port = i % 2 == 0 ? sshd.port() : 1;
        REQUIRE(hs[i].driver->configure({{"ip-address", {"127.0.0.1"}}, {"ssh-port", {std::to_string(port)}}, {"ssh-key", {"/k"}}}));
        drivers.push_back(hs[i].driver.get());
    }
    auto states = generic_driver_info().states(drivers);
    REQUIRE(states.size() == 6);
    for (size_t i = 0; i < states.size(); ++i)
        CHECK(states[i].value() == (i % 2 == 0 ? MachineState::Running : MachineState::Stopped));
}

TEST_CASE("generic: a hostile address or user is refused at configure - before anything is made", "[generic][security]") {
    for (const auto& [ip, user, flag] :
         {std::tuple<std::string, std::string, std::string>{"10.0.0.5\n  ProxyCommand touch /tmp/x", "root",
                                                            "--generic-ip-address"},
          {"-oProxyCommand=touch /tmp/x", "root", "--generic-ip-address"},
          {"host name", "root", "--generic-ip-address"},
          {"10.0.0.5", "-oProxyCommand=touch /tmp/x", "--generic-ssh-user"},
          {"10.0.0.5", "ad min", "--generic-ssh-user"},
          {"10.0.0.5", "root\nx", "--generic-ssh-user"}}) {
        CAPTURE(ip, user);
        Harness h;
        auto r = h.driver->configure({{"ip-address", {ip}}, {"ssh-user", {user}}, {"ssh-key", {"/k"}}});
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::Usage);
        CHECK(r.error().message.starts_with(flag + " must be"));
    }
    Harness ok;
    CHECK(ok.driver->configure({{"ip-address", {"host.example.com"}}, {"ssh-user", {"Admin.x"}}, {"ssh-key", {"/k"}}}));
}
