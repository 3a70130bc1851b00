#include <berth/service/machine_service.h>
#include <berth/service/driver_table.h>
#include <berth/service/real_ports.h>
#include <berth/pki/pki.h>
#include <berth/provision/engine_options.h>

#include "../fakes/fake_elf.h"
#include "../fakes/fake_driver.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

using namespace berth;
using berth::test::FakeDriverScript;
using berth::test::TempDir;
using berth::test::file_mode;

namespace {

struct Fixture {
    TempDir dir;
    Store store{dir / "berth"};
    ProcessRunner runner;
    std::shared_ptr<FakeDriverScript> script = std::make_shared<FakeDriverScript>();
    std::map<std::string, std::string> env;
    std::vector<DriverInfo> table = {test::fake_driver_info(script), *find_driver("none").value()};
    MachineService service{ports()};

    Ports ports() {
        Ports p = real_ports(store, runner);
        p.env = [this](const std::string& k) -> std::optional<std::string> {
            auto it = env.find(k);
            if (it == env.end()) return std::nullopt;
            return it->second;
        };
        p.drivers = table;
        p.authz_binary = []() -> Result<std::string> { return test::fake_elf(); };
        return p;
    }

    CreateRequest request(const std::string& name) const {
        CreateRequest r;
        r.name = name;
        r.driver = "fake";
        return r;
    }
    bool nothing_on_disk(const std::string& name) const { return !std::filesystem::exists(store.machine_dir(name)); }
};

}  // namespace

TEST_CASE("create saves a ready record with a CA - server and client certificate of its own", "[service]") {
    Fixture f;
    auto req = f.request("web1");
    req.tls_sans = {"web1.example.com"};
    req.engine.labels = {"team=a"};
    auto record = f.service.create(req);
    REQUIRE(record);
    CHECK(record->record.status == MachineStatus::Ready);
    CHECK(f.script->calls == std::vector<std::string>{"precreate web1", "create web1"});

    auto loaded = f.store.load("web1");
    REQUIRE(loaded);
    CHECK(loaded->status == MachineStatus::Ready);
    CHECK(loaded->engine.labels == std::vector<std::string>{"team=a"});
    CHECK(loaded->tls.sans ==
          std::vector<std::string>{"127.0.0.1", "localhost", "192.168.122.10", "web1", "web1.example.com"});

    for (const char* key : {k_ca_key_file, k_client_key_file, k_server_key_file})
        CHECK(file_mode(f.store.machine_file("web1", key)) == 0600);
    auto server = pki::read_cert(*read_file(f.store.machine_file("web1", k_server_cert_file)));
    REQUIRE(server);
    CHECK(server->subject_cn == "web1");
    CHECK(server->ip_sans == std::vector<std::string>{"127.0.0.1", "192.168.122.10"});
    auto ca = pki::read_cert(*read_file(f.store.machine_file("web1", k_ca_cert_file)));
    REQUIRE(ca);
    CHECK(ca->sha256_fingerprint == loaded->tls.ca_fingerprint);
}

TEST_CASE("the engine port is the one dockerd listens on in the machine - not a forwarded one", "[service]") {
    Fixture f;
    f.script->url_port = 41001;  // tcp://...:41001 reaches the machine's 2376 through a forward
    f.script->forwarded = true;
    auto forwarded = f.service.create(f.request("vb1"));
    REQUIRE(forwarded);
    CHECK(f.store.load("vb1")->engine.port == 2376);

    f.script->forwarded = false;  // the URL's port is the machine's own
    f.script->url_port = 2377;
    REQUIRE(f.service.create(f.request("plain")));
    CHECK(f.store.load("plain")->engine.port == 2377);
}

TEST_CASE("each machine has its own CA", "[service]") {
    Fixture f;
    REQUIRE(f.service.create(f.request("a")));
    REQUIRE(f.service.create(f.request("b")));
    CHECK(f.store.load("a")->tls.ca_fingerprint != f.store.load("b")->tls.ca_fingerprint);
}

TEST_CASE("bad input is refused before anything is made", "[service]") {
    Fixture f;
    auto check_usage = [&](CreateRequest req, const std::string& needle) {
        CAPTURE(needle);
        auto r = f.service.create(req);
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::Usage);
        CHECK(r.error().line().find(needle) != std::string::npos);
        CHECK(f.script->calls.empty());
        CHECK_FALSE(std::filesystem::exists(f.store.machines_dir() / req.name));
    };
    check_usage(f.request("bad_name"), "invalid machine name");
    auto r = f.request("n1");
    r.driver = "nope";
    check_usage(r, "unknown driver");
    r = f.request("n1");
    r.tls_key_type = "dsa";
    check_usage(r, "ecdsa-p256");
    r = f.request("n1");
    r.engine.labels = {"novalue"};
    check_usage(r, "key=value");
    r = f.request("n1");
    r.tls_cert_days = 4000;
    check_usage(r, "cannot outlive its CA");
    r = f.request("n1");
    r.driver_flags = {{"size", {"big"}}};
    check_usage(r, "--fake-size");
    r = f.request("n1");
    r.driver = "none";
    check_usage(r, "--url");
}

TEST_CASE("driver options come from the environment when no flag is given", "[service]") {
    Fixture f;
    f.env["BERTH_FAKE_SIZE"] = "42";
    REQUIRE(f.service.create(f.request("n1")));
    CHECK(f.store.load("n1")->driver["size"] == "42");
    auto req = f.request("n2");
    req.driver_flags = {{"size", {"7"}}};
    REQUIRE(f.service.create(req));
    CHECK(f.store.load("n2")->driver["size"] == "7");
}

TEST_CASE("an existing machine is not overwritten", "[service]") {
    Fixture f;
    REQUIRE(f.service.create(f.request("n1")));
    const auto before = *read_file(f.store.machine_file("n1", k_ca_cert_file));
    auto again = f.service.create(f.request("n1"));
    REQUIRE_FALSE(again);
    CHECK(again.error().kind == ErrorKind::Conflict);
    CHECK(again.error().message.find("already exists") != std::string::npos);
    CHECK(*read_file(f.store.machine_file("n1", k_ca_cert_file)) == before);
}

TEST_CASE("a failed pre-create check is exit code 3 and leaves nothing", "[service]") {
    Fixture f;
    f.script->fail_precreate = "libvirtd is not running";
    auto r = f.service.create(f.request("n1"));
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::PrecreateCheck);
    CHECK(r.error().exit_code() == 3);
    CHECK(r.error().message.find("libvirtd is not running") != std::string::npos);
    CHECK(f.nothing_on_disk("n1"));
    CHECK_FALSE(std::filesystem::exists(f.store.root() / "locks" / "n1.lock"));
}

TEST_CASE("a failed create is rolled back: the driver removes - the record goes", "[service]") {
    Fixture f;
    f.script->fail_create = "no space in pool";
    auto r = f.service.create(f.request("n1"));
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("no space in pool") != std::string::npos);
    CHECK(r.error().hint == "nothing was left behind");
    CHECK(f.script->calls == std::vector<std::string>{"precreate n1", "create n1", "remove n1"});
    CHECK(f.nothing_on_disk("n1"));
}

TEST_CASE("when rollback fails too - the record stays in error for rm -f", "[service]") {
    Fixture f;
    f.script->fail_create = "boot failed";
    f.script->fail_remove = "domain busy";
    auto r = f.service.create(f.request("n1"));
    REQUIRE_FALSE(r);
    CHECK(r.error().hint.find("berth rm -f n1") != std::string::npos);
    auto rec = f.store.load("n1");
    REQUIRE(rec);
    CHECK(rec->status == MachineStatus::Error);
    CHECK(rec->last_error == "boot failed");

    auto rm = f.service.remove("n1", false);
    REQUIRE_FALSE(rm);
    CHECK(rm.error().hint.find("-f") != std::string::npos);
    CHECK(f.store.exists("n1"));
    REQUIRE(f.service.remove("n1", true));
    CHECK(f.nothing_on_disk("n1"));
}

TEST_CASE("create refuses a machine locked by another writer", "[service]") {
    Fixture f;
    REQUIRE(f.store.ensure_layout());
    auto held = f.store.lock("n1");
    REQUIRE(held);
    auto r = f.service.create(f.request("n1"));
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::Conflict);
    CHECK(f.script->calls.empty());
}

TEST_CASE("ls asks the states of many machines in one driver call", "[service]") {
    Fixture f;
    for (const char* n : {"s1", "s2", "s10"}) REQUIRE(f.service.create(f.request(n)));
    f.script->calls.clear();
    f.script->state = MachineState::Stopped;
    auto list = f.service.list();
    REQUIRE(list);
    REQUIRE(list->size() == 3);
    CHECK((*list)[0].name == "s1");
    CHECK((*list)[2].name == "s10");
    CHECK((*list)[1].state == MachineState::Stopped);
    CHECK(f.script->calls == std::vector<std::string>{"states 3"});
}

TEST_CASE("ls shows an unreadable record as an error instead of failing", "[service]") {
    Fixture f;
    REQUIRE(f.service.create(f.request("good")));
    std::filesystem::create_directories(f.store.machine_dir("broken"));
    auto list = f.service.list();
    REQUIRE(list);
    REQUIRE(list->size() == 2);
    CHECK((*list)[0].name == "broken");
    CHECK_FALSE((*list)[0].machine);
    REQUIRE((*list)[0].error);
    CHECK((*list)[1].machine);
}

TEST_CASE("remove calls the driver - then deletes the local files and the lock", "[service]") {
    Fixture f;
    REQUIRE(f.service.create(f.request("n1")));
    f.script->calls.clear();
    REQUIRE(f.service.remove("n1", false));
    CHECK(f.script->calls == std::vector<std::string>{"remove n1"});
    CHECK(f.nothing_on_disk("n1"));
    CHECK_FALSE(std::filesystem::exists(f.store.root() / "locks" / "n1.lock"));
    auto again = f.service.remove("n1", false);
    REQUIRE_FALSE(again);
    CHECK(again.error().kind == ErrorKind::NotFound);
    CHECK_FALSE(std::filesystem::exists(f.store.root() / "locks" / "n1.lock"));
}

TEST_CASE("the none driver records a host berth does not manage", "[service]") {
    Fixture f;
    auto req = f.request("n1");
    req.driver = "none";
    req.driver_flags = {{"url", {"tcp://10.1.2.3:2376"}}};
    REQUIRE(f.service.create(req));
    auto m = f.service.open("n1");
    REQUIRE(m);
    CHECK(m->driver->docker_url().value() == "tcp://10.1.2.3:2376");
    CHECK(m->driver->ip().value() == "10.1.2.3");
    CHECK(m->driver->state().value() == MachineState::Running);
    CHECK(m->record.tls.sans == std::vector<std::string>{"127.0.0.1", "localhost", "10.1.2.3"});
    auto stop = m->driver->stop();
    REQUIRE_FALSE(stop);
    CHECK(stop.error().message.find("none driver") != std::string::npos);
}

TEST_CASE("power verbs call the driver under the machine's lock", "[service]") {
    Fixture f;
    REQUIRE(f.service.create(f.request("n1")));
    f.script->calls.clear();
    REQUIRE(f.service.power("n1", MachineService::Power::Stop));
    REQUIRE(f.service.power("n1", MachineService::Power::Start));
    REQUIRE(f.service.power("n1", MachineService::Power::Restart));
    REQUIRE(f.service.power("n1", MachineService::Power::Kill));
    CHECK(f.script->calls == std::vector<std::string>{"stop n1", "start n1", "restart n1", "kill n1"});

    auto held = f.store.lock("n1");
    REQUIRE(held);
    auto locked = f.service.power("n1", MachineService::Power::Stop);
    REQUIRE_FALSE(locked);
    CHECK(locked.error().kind == ErrorKind::Conflict);
    auto missing = f.service.power("ghost", MachineService::Power::Start);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == ErrorKind::NotFound);
    CHECK_FALSE(std::filesystem::exists(f.store.root() / "locks" / "ghost.lock"));
}

TEST_CASE("engine options berth owns are refused - weakening ones need --insecure-engine-opt", "[service][engine-opt]") {
    Fixture f;
    auto refused = [&](EngineConfig engine, const std::string& needle) {
        CAPTURE(needle);
        auto req = f.request("n1");
        req.engine = std::move(engine);
        auto r = f.service.create(req);
        REQUIRE_FALSE(r);
        INFO(r.error().line());
        CHECK(r.error().kind == ErrorKind::Usage);
        CHECK(r.error().line().find(needle) != std::string::npos);
        CHECK(f.script->calls.empty());
        CHECK(f.nothing_on_disk("n1"));
    };
    auto opts = [](std::vector<std::string> o, std::vector<std::string> insecure = {}) {
        EngineConfig e;
        e.opts = std::move(o);
        e.insecure_opts = std::move(insecure);
        return e;
    };
    // Owned: refused always, in every spelling, whichever flag.
    for (const char* o : {"tlsverify=false", "tls=false", "--tlscacert=/etc/ssl/certs/ca-certificates.crt",
                          "tlscert=/tmp/c.pem", "tlskey=/tmp/k.pem", "TLS_VERIFY=false", "tls-verify=false",
                          "hosts=tcp://0.0.0.0:2375", "host=unix:///tmp/d.sock", "-H=tcp://0.0.0.0:2375"}) {
        refused(opts({o}), "berth sets the Docker API's listeners and TLS itself");
        refused(opts({}, {o}), "berth sets the Docker API's listeners and TLS itself");
    }
    // berth-authz is berth's plugin: another one is refused, whichever flag.
    for (const char* o : {"authorization-plugins=x", "--authorization-plugin=x", "Authorization_Plugins=x"}) {
        refused(opts({o}), "berth sets daemon.json's authorization-plugins to its own berth-authz");
        refused(opts({}, {o}), "--authz-policy FILE");
    }
    // Weakening: only through --insecure-engine-opt.
    for (const char* o : {"icc=true", "userns-remap=", "no-new-privileges=false", "live-restore=false",
                          "userland-proxy=true", "selinux-enabled=false",
                          "insecure-registries=10.0.0.9:5000", "seccomp-profile=unconfined", "default-runtime=crun",
                          "iptables=false", "--icc=true"})
        refused(opts({o}), "--insecure-engine-opt");
    refused(opts({}, {"max-concurrent-downloads=3"}), "does not weaken the hardening");
    // Syntax.
    refused(opts({"novalue"}), "key=value");
    refused(opts({"=1"}), "key=value");
    refused(opts({"Max Downloads=1"}), "invalid --engine-opt key");
    refused(opts({"debug=true\nExecStartPre=/bin/sh"}), "control character");
    EngineConfig labels;
    labels.labels = {"team=a\nb"};
    refused(labels, "control character");
    labels.labels = {"te am=a"};
    refused(labels, "invalid --engine-label");
    EngineConfig registry;
    registry.insecure_registries = {"10.0.0.9:5000\n"};
    refused(registry, "invalid registry");
}

TEST_CASE("an --insecure-engine-opt is kept in the record and named as weakened", "[service][engine-opt]") {
    Fixture f;
    auto req = f.request("n1");
    req.engine.opts = {"max-concurrent-downloads=6"};
    req.engine.insecure_opts = {"icc=true"};
    req.engine.insecure_registries = {"10.0.0.9:5000"};
    auto r = f.service.create(req);
    INFO((r ? std::string() : r.error().line()));
    REQUIRE(r);
    auto saved = f.store.load("n1");
    REQUIRE(saved);
    CHECK(saved->engine.insecure_opts == std::vector<std::string>{"icc=true"});
    CHECK(weakened_hardening(saved->engine) == std::vector<std::string>{"icc=true", "insecure-registry=10.0.0.9:5000"});
}

TEST_CASE("create: --tls-san takes an IP address or a DNS name - the validity days have upper bounds", "[service][tls]") {
    Fixture f;
    auto refused = [&](CreateRequest req, const std::string& needle) {
        CAPTURE(needle);
        auto r = f.service.create(req);
        REQUIRE_FALSE(r);
        INFO(r.error().line());
        CHECK(r.error().kind == ErrorKind::Usage);
        CHECK(r.error().line().find(needle) != std::string::npos);
        CHECK(f.script->calls.empty());
        CHECK(f.nothing_on_disk(req.name));
    };
    for (const char* san : {"a b", "-x.example.com", "x-.example.com", "example..com", "host_name", "1.2.3.999",
                            "10.0.0.5/24", "x.example.com.", "$(id)", "a\nb", ""}) {
        auto req = f.request("n1");
        req.tls_sans = {san};
        refused(req, "is neither an IP address nor a DNS name");
    }
    auto req = f.request("n1");
    req.tls_sans = {"*.example.com"};
    refused(req, "wildcard");
    req = f.request("n1");
    req.tls_ca_days = 3651;
    refused(req, "more than 3650 days");
    req = f.request("n1");
    req.tls_ca_days = 3650;
    req.tls_cert_days = 826;
    refused(req, "more than 825 days");

    req = f.request("n1");
    req.tls_sans = {"docker.example.com", "10.0.0.5", "fd00::5", "a-1.b2"};
    req.tls_ca_days = 3650;
    req.tls_cert_days = 825;
    auto r = f.service.create(req);
    INFO((r ? std::string() : r.error().line()));
    CHECK(r);
}

TEST_CASE("apply's record calls: the fleet saved from the first record, set_fleet under the lock, no drift check for none",
          "[service][apply]") {
    Fixture f;
    auto req = f.request("n1");
    req.driver = "none";
    req.driver_flags = {{"url", {"tcp://10.1.2.3:2376"}}};
    req.fleet.fleet = "course";
    req.fleet.group = "students";
    req.fleet.desired = {{"driver", "none"}};
    REQUIRE(f.service.create(req));
    auto saved = f.store.load("n1");
    REQUIRE(saved);
    CHECK(saved->fleet.fleet == "course");
    CHECK(saved->fleet.group == "students");
    CHECK(saved->fleet.desired == nlohmann::json{{"driver", "none"}});

    // A machine berth does not reach over SSH has nothing to check: no drift result, no error.
    auto drift = f.service.drift("n1");
    REQUIRE(drift);
    CHECK_FALSE(drift->has_value());

    FleetMembership changed{"course", "staff", "fleet.yaml", {{"driver", "none"}, {"x", 1}}};
    REQUIRE(f.service.set_fleet("n1", changed));
    CHECK(f.store.load("n1")->fleet.group == "staff");
    CHECK(f.store.load("n1")->fleet.desired["x"] == 1);
    {
        auto held = f.store.lock("n1");  // another writer
        REQUIRE(held);
        auto refused = f.service.set_fleet("n1", changed);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().kind == ErrorKind::Conflict);
    }
    auto missing = f.service.set_fleet("n2", changed);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == ErrorKind::NotFound);
    CHECK(f.nothing_on_disk("n2"));
    CHECK_FALSE(std::filesystem::exists(f.store.root() / "locks" / "n2.lock"));
    CHECK(f.service.drift("n2").error().kind == ErrorKind::NotFound);
}
