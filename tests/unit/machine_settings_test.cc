// berth set: the engine edits, and MachineService::set's checks and order with the fake driver.

#include <berth/service/driver_table.h>
#include <berth/service/machine_service.h>
#include <berth/service/machine_settings.h>
#include <berth/service/real_ports.h>

#include "../fakes/borrowed.h"
#include "../fakes/fake_docker.h"
#include "../fakes/fake_driver.h"
#include "../fakes/fake_elf.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

using namespace berth;
using berth::test::FakeDriverScript;
using berth::test::TempDir;

namespace {

EngineConfig engine_with(std::vector<std::string> opts, std::vector<std::string> env = {}) {
    EngineConfig e;
    e.opts = std::move(opts);
    e.env = std::move(env);
    return e;
}

struct Fixture {
    TempDir dir;
    Store store{dir / "berth"};
    ProcessRunner runner;
    std::shared_ptr<FakeDriverScript> script = std::make_shared<FakeDriverScript>();
    std::vector<DriverInfo> table = {test::fake_driver_info(script), *find_driver("none").value()};
    test::FakeDocker docker;
    MachineService service{ports()};

    Ports ports() {
        Ports p = real_ports(store, runner);
        p.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
        p.drivers = table;
        p.authz_binary = []() -> Result<std::string> { return test::fake_elf(); };
        p.docker = [this](const std::string&, const DockerTls&) -> std::unique_ptr<DockerProbe> {
            return std::make_unique<test::BorrowedDocker>(docker);
        };
        return p;
    }
    void create(const std::string& name, const std::string& driver = "fake") {
        CreateRequest r;
        r.name = name;
        r.driver = driver;
        if (driver == "none") r.driver_flags = {{"url", {"tcp://10.0.0.5:2376"}}};
        REQUIRE(service.create(r));
        script->calls.clear();
    }
    SetRequest memory(const std::string& name, const std::string& mib) const {
        SetRequest r;
        r.name = name;
        r.driver_flags["fake"] = {{"memory", {mib}}};
        return r;
    }
};

}  // namespace

TEST_CASE("set: an engine entry replaces every entry of its key in place - unset removes them", "[set]") {
    EngineEdits edits;
    edits.opts = {"dns=1.1.1.1", "max-concurrent-downloads=6", "dns=8.8.8.8"};
    auto e = apply_engine_edits(engine_with({"debug=true", "dns=9.9.9.9", "mtu=1400", "dns=4.4.4.4"}), edits);
    REQUIRE(e);
    CHECK(e->opts == std::vector<std::string>{"debug=true", "dns=1.1.1.1", "dns=8.8.8.8", "mtu=1400",
                                              "max-concurrent-downloads=6"});

    EngineEdits unset;
    unset.unset_opts = {"dns"};
    unset.env = {"HTTP_PROXY=http://proxy:3128"};
    auto u = apply_engine_edits(*e, unset);
    REQUIRE(u);
    CHECK(u->opts == std::vector<std::string>{"debug=true", "mtu=1400", "max-concurrent-downloads=6"});
    CHECK(u->env == std::vector<std::string>{"HTTP_PROXY=http://proxy:3128"});
    CHECK(describe_engine_change(*e, *u) ==
          std::vector<std::string>{"--engine-env HTTP_PROXY added", "--engine-opt dns removed"});
    // The same values again change nothing: the plan then has nothing to write.
    CHECK(describe_engine_change(*u, apply_engine_edits(*u, unset).value()).empty());
}

TEST_CASE("set: engine edits without KEY=VALUE or naming a key twice are usage errors", "[set]") {
    auto error = [](EngineEdits edits) {
        auto r = apply_engine_edits(engine_with({"debug=true"}), edits);
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::Usage);
        return r.error().message;
    };
    EngineEdits no_value;
    no_value.opts = {"debug"};
    CHECK(error(no_value) == "--engine-opt takes KEY=VALUE, not \"debug\"");
    EngineEdits no_key;
    no_key.labels = {"=x"};
    CHECK(error(no_key).find("--engine-label takes KEY=VALUE") == 0);
    EngineEdits both;
    both.env = {"A=1"};
    both.unset_env = {"A"};
    CHECK(error(both) == "--engine-env and --unset-engine-env both name \"A\"");
    EngineEdits unset_value;
    unset_value.unset_opts = {"debug=true"};
    CHECK(error(unset_value) == "--unset-engine-opt takes a KEY, not \"debug=true\"");
    // An --engine-env value is never repeated: it may be a password.
    EngineEdits secret;
    secret.env = {"PASSWORDhunter2"};
    CHECK(error(secret).find("hunter2") == std::string::npos);
}

TEST_CASE("set: a stopped machine's memory changes in its definition - for its next start", "[set][service]") {
    Fixture f;
    f.create("n1");
    f.script->state = MachineState::Stopped;
    auto report = f.service.set(f.memory("n1", "1024"));
    REQUIRE(report);
    CHECK(report->driver_changes == std::vector<std::string>{"memory: 512 -> 1024"});
    CHECK(report->at_next_start);
    CHECK_FALSE(report->restarted);
    CHECK(f.script->calls == std::vector<std::string>{"state n1", "change-settings n1"});
    CHECK(f.store.load("n1")->driver["memory"] == 1024);

    // The same value again: nothing to change, nothing called.
    f.script->calls.clear();
    auto again = f.service.set(f.memory("n1", "1024"));
    REQUIRE(again);
    CHECK(again->nothing());
    CHECK(f.script->calls.empty());
}

TEST_CASE("set: a running machine is stopped and started only with --restart", "[set][service]") {
    Fixture f;
    f.create("n1");
    auto refused = f.service.set(f.memory("n1", "2048"));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == ErrorKind::Conflict);
    CHECK(refused.error().message == "changing n1's memory needs a stop and a start, and it is running; nothing was changed");
    CHECK(refused.error().hint.find("--restart") != std::string::npos);
    CHECK(f.script->calls == std::vector<std::string>{"state n1"});
    CHECK(f.store.load("n1")->driver["memory"] == 512);

    auto request = f.memory("n1", "2048");
    request.restart = true;
    f.script->calls.clear();
    auto report = f.service.set(request);
    REQUIRE(report);
    CHECK(report->restarted);
    CHECK_FALSE(report->at_next_start);
    CHECK(f.script->calls == std::vector<std::string>{"state n1", "stop n1", "change-settings n1", "start n1"});
    CHECK(f.docker.waits == 1);  // started means Docker answers again
    CHECK(f.store.load("n1")->driver["memory"] == 2048);
}

TEST_CASE("set: bad flags change nothing - another driver's, a create-only one, a bad value", "[set][service]") {
    Fixture f;
    f.create("n1");
    f.script->state = MachineState::Stopped;
    auto expect_usage = [&](SetRequest r, const std::string& needle) {
        auto out = f.service.set(r);
        REQUIRE_FALSE(out);
        CHECK(out.error().kind == ErrorKind::Usage);
        CHECK(out.error().message.find(needle) != std::string::npos);
        CHECK(f.script->calls.empty());
        CHECK(f.store.load("n1")->driver["memory"] == 512);
    };
    SetRequest other;
    other.name = "n1";
    other.driver_flags["libvirt"] = {{"memory", {"4096"}}};
    expect_usage(other, "--libvirt-memory is for the libvirt driver, and n1 uses the fake driver");
    SetRequest fixed;
    fixed.name = "n1";
    fixed.driver_flags["fake"] = {{"size", {"99"}}};
    expect_usage(fixed, "--fake-size cannot be changed after create");
    expect_usage(f.memory("n1", "lots"), "--fake-memory must be a whole number");
    auto engine = f.memory("n1", "1024");
    engine.engine.opts = {"userns-remap="};  // berth owns it: refused as create refuses it
    expect_usage(engine, "userns-remap");

    auto missing = f.service.set(f.memory("ghost", "1024"));
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == ErrorKind::NotFound);
}

TEST_CASE("set: engine settings need the machine running - or --restart - and a driver berth provisions",
          "[set][service]") {
    Fixture f;
    f.create("n1");
    f.script->state = MachineState::Stopped;
    SetRequest r;
    r.name = "n1";
    r.engine.env = {"HTTP_PROXY=http://proxy:3128"};
    auto stopped = f.service.set(r);
    REQUIRE_FALSE(stopped);
    CHECK(stopped.error().kind == ErrorKind::Conflict);
    CHECK(stopped.error().hint.find("berth start n1") != std::string::npos);
    CHECK(f.store.load("n1")->engine.env.empty());

    f.create("host", "none");
    r.name = "host";
    auto none = f.service.set(r);
    REQUIRE_FALSE(none);
    CHECK(none.error().kind == ErrorKind::Usage);
    CHECK(none.error().message.find("does not provision it") != std::string::npos);
}
