// SwarmService against simulated daemons: each machine's FakeDocker answers the swarm endpoints
// the way dockerd does (/info's Swarm block, /swarm/init, /swarm, /swarm/join, /nodes), so the
// order of calls, the tokens each node gets and the refusals are checked without a guest.
#include <berth/service/fleet_service.h>
#include <berth/service/swarm_service.h>
#include <berth/service/driver_table.h>
#include <berth/service/real_ports.h>

#include "../fakes/borrowed.h"
#include "../fakes/fake_clock.h"
#include "../fakes/fake_docker.h"
#include "../fakes/fake_driver.h"
#include "../fakes/fake_elf.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <map>

using namespace berth;
using berth::test::FakeDocker;
using berth::test::FakeDriverScript;
using berth::test::TempDir;
using nlohmann::json;

namespace {

/// One simulated swarm: the nodes' daemons and the calls they got.
struct Cluster {
    std::map<std::string, FakeDocker> daemons;       ///< by machine name
    std::map<std::string, std::string> roles;        ///< node ID -> role, as the manager lists them
    std::map<std::string, std::string> node_states;  ///< node ID -> "ready", "down"
    std::vector<std::string> calls;                  ///< "n1 POST /swarm/init {...}"
    std::string cluster;                             ///< "" = no swarm yet

    void set_swarm(const std::string& machine, const std::string& state, bool control) {
        auto& d = daemons[machine];
        d.info_json["Swarm"] = {{"LocalNodeState", state}, {"NodeID", state == "active" ? "id-" + machine : ""},
                                {"ControlAvailable", control}};
    }

    void add(const std::string& machine) {
        auto& d = daemons[machine];
        set_swarm(machine, "inactive", false);
        d.api = [this, machine](std::string_view method, std::string_view path, const std::string& body) -> Result<ApiAnswer> {
            calls.push_back(machine + " " + std::string(method) + " " + std::string(path) + (body.empty() ? "" : " " + body));
            const std::string p(path);
            if (method == "POST" && p == "/swarm/init") {
                cluster = "cluster-1";
                set_swarm(machine, "active", true);
                roles["id-" + machine] = "manager";
                node_states["id-" + machine] = "ready";
                return ApiAnswer{200, "\"id-" + machine + "\""};
            }
            if (method == "GET" && p == "/swarm") {
                if (cluster.empty()) return ApiAnswer{503, R"({"message":"This node is not a swarm manager."})"};
                return ApiAnswer{200, json({{"ID", cluster}, {"JoinTokens", {{"Worker", "SWMTKN-worker-secret"},
                                                                              {"Manager", "SWMTKN-manager-secret"}}}}).dump()};
            }
            if (method == "POST" && p == "/swarm/join") {
                const auto request = json::parse(body);
                const bool manager = request.at("JoinToken") == "SWMTKN-manager-secret";
                set_swarm(machine, "active", manager);
                roles["id-" + machine] = manager ? "manager" : "worker";
                node_states["id-" + machine] = "ready";
                return ApiAnswer{200, ""};
            }
            if (method == "GET" && p == "/nodes") {
                json nodes = json::array();
                for (const auto& [id, role] : roles)
                    nodes.push_back({{"ID", id},
                                     {"Version", {{"Index", 7}}},
                                     {"Description", {{"Hostname", id.substr(3)}}},
                                     {"Spec", {{"Role", role}, {"Availability", "active"}}},
                                     {"Status", {{"State", node_states[id]}}}});
                return ApiAnswer{200, nodes.dump()};
            }
            if (method == "POST" && p.starts_with("/nodes/") && p.ends_with("/update?version=7")) {
                const std::string id = p.substr(7, p.find('/', 7) - 7);
                const auto spec = json::parse(body);
                if (spec.value("Availability", "") != "active") return ApiAnswer{400, R"({"message":"spec lost"})"};
                roles[id] = spec.at("Role");
                set_swarm(id.substr(3), "active", roles[id] == "manager");
                return ApiAnswer{200, ""};
            }
            if (method == "DELETE" && p.starts_with("/nodes/") && p.ends_with("?force=true")) {
                const std::string id = p.substr(7, p.find('?') - 7);
                if (roles.at(id) == "manager") return ApiAnswer{400, R"({"message":"demote it first"})"};
                roles.erase(id);
                node_states.erase(id);
                return ApiAnswer{200, ""};
            }
            if (method == "POST" && p == "/swarm/leave?force=true") {
                roles.erase("id-" + machine);
                node_states.erase("id-" + machine);
                set_swarm(machine, "inactive", false);
                return ApiAnswer{200, ""};
            }
            return ApiAnswer{404, R"({"message":"page not found"})"};
        };
    }
};

struct Fixture {
    TempDir dir;
    Store store{dir / "berth"};
    ProcessRunner runner;
    test::FakeClock clock;
    std::shared_ptr<FakeDriverScript> script = std::make_shared<FakeDriverScript>();
    std::vector<DriverInfo> table = {test::fake_driver_info(script)};
    Cluster cluster;
    MachineService service{ports()};

    Ports ports() {
        Ports p = real_ports(store, runner);
        p.drivers = table;
        p.clock = &clock;
        p.authz_binary = []() -> Result<std::string> { return test::fake_elf(); };
        // The machine is the one whose CA file the client is given: machines/NAME/certs/ca.pem.
        p.docker = [this](const std::string&, const DockerTls& tls) -> std::unique_ptr<DockerProbe> {
            const std::string machine = tls.ca.parent_path().parent_path().filename().string();
            return std::make_unique<test::BorrowedDocker>(cluster.daemons.at(machine));
        };
        return p;
    }

    std::vector<SwarmNode> make(const std::vector<std::pair<std::string, std::string>>& machines) {
        std::vector<SwarmNode> nodes;
        int n = 10;
        for (const auto& [name, role] : machines) {
            CreateRequest r;
            r.name = name;
            r.driver = "fake";
            REQUIRE(service.create(r).has_value());
            cluster.add(name);
            nodes.push_back({name, role, "192.168.122." + std::to_string(n++)});
        }
        return nodes;
    }
    int count_calls(const std::string& needle) const {
        int n = 0;
        for (const auto& c : cluster.calls) n += c.find(needle) != std::string::npos;
        return n;
    }
};

}  // namespace

TEST_CASE("swarm: the first manager initialises - the others join with their role's token", "[swarm]") {
    Fixture f;
    auto nodes = f.make({{"m1", "manager"}, {"w1", "worker"}, {"w2", "worker"}});
    SwarmService swarm(f.service);
    auto report = swarm.converge(nodes, std::chrono::seconds(60));
    REQUIRE(report.has_value());
    CHECK(report->manager == "m1");
    CHECK(report->initialized == std::vector<std::string>{"m1"});
    CHECK(report->joined == std::vector<std::string>{"w1", "w2"});
    CHECK(report->ready == 3);
    CHECK(f.count_calls("m1 POST /swarm/init {\"AdvertiseAddr\":\"192.168.122.10:2377\",\"ListenAddr\":\"0.0.0.0:2377\"}") == 1);
    CHECK(f.count_calls("w1 POST /swarm/join") == 1);
    CHECK(f.count_calls("\"JoinToken\":\"SWMTKN-worker-secret\"") == 2);
    CHECK(f.count_calls("\"RemoteAddrs\":[\"192.168.122.10:2377\"]") == 2);
    CHECK(f.cluster.roles.at("id-w2") == "worker");
}

TEST_CASE("swarm: converging a converged swarm changes nothing", "[swarm]") {
    Fixture f;
    auto nodes = f.make({{"m1", "manager"}, {"m2", "manager"}, {"w1", "worker"}});
    SwarmService swarm(f.service);
    REQUIRE(swarm.converge(nodes, std::chrono::seconds(60)).has_value());
    CHECK(f.cluster.roles.at("id-m2") == "manager");
    f.cluster.calls.clear();
    auto again = swarm.converge(nodes, std::chrono::seconds(60));
    REQUIRE(again.has_value());
    CHECK(again->initialized.empty());
    CHECK(again->joined.empty());
    CHECK(again->ready == 3);
    CHECK(f.count_calls("POST") == 0);
}

TEST_CASE("swarm: a node added to the fleet joins the existing swarm", "[swarm]") {
    Fixture f;
    auto nodes = f.make({{"m1", "manager"}, {"w1", "worker"}});
    SwarmService swarm(f.service);
    REQUIRE(swarm.converge(nodes, std::chrono::seconds(60)).has_value());
    auto more = f.make({{"w2", "worker"}});
    nodes.push_back(more.front());
    f.cluster.calls.clear();
    auto report = swarm.converge(nodes, std::chrono::seconds(60));
    REQUIRE(report.has_value());
    CHECK(report->joined == std::vector<std::string>{"w2"});
    CHECK(f.count_calls("/swarm/init") == 0);
}

TEST_CASE("swarm: a machine in a swarm the fleet does not manage is refused - never taken over", "[swarm]") {
    Fixture f;
    auto nodes = f.make({{"m1", "manager"}, {"w1", "worker"}});
    f.cluster.set_swarm("w1", "active", false);  // a worker of some other swarm
    SwarmService swarm(f.service);
    auto report = swarm.converge(nodes, std::chrono::seconds(60));
    REQUIRE_FALSE(report.has_value());
    CHECK(report.error().message.find("w1 is in another swarm") != std::string::npos);
    CHECK(report.error().hint.find("docker swarm leave --force") != std::string::npos);
    CHECK(f.count_calls("/swarm/join") == 0);
}

TEST_CASE("swarm: nodes that never get ready fail after the wait - naming them - tokens are never in an error", "[swarm]") {
    Fixture f;
    auto nodes = f.make({{"m1", "manager"}, {"w1", "worker"}});
    SwarmService swarm(f.service);
    REQUIRE(swarm.converge(nodes, std::chrono::seconds(60)).has_value());
    f.cluster.node_states["id-w1"] = "down";
    auto report = swarm.converge(nodes, std::chrono::seconds(30));
    REQUIRE_FALSE(report.has_value());
    CHECK(report.error().message == "the swarm's nodes w1 are not ready after 30 s");
    CHECK(report.error().line().find("SWMTKN") == std::string::npos);
}

TEST_CASE("swarm: a refused join names the machine and dockerd's message - not the request", "[swarm]") {
    Fixture f;
    auto nodes = f.make({{"m1", "manager"}, {"w1", "worker"}});
    auto& worker = f.cluster.daemons.at("w1");
    worker.api = [](std::string_view, std::string_view, const std::string&) -> Result<ApiAnswer> {
        return ApiAnswer{503, R"({"message":"Timeout was reached before node joined."})"};
    };
    f.cluster.set_swarm("w1", "inactive", false);
    SwarmService swarm(f.service);
    auto report = swarm.converge(nodes, std::chrono::seconds(60));
    REQUIRE_FALSE(report.has_value());
    CHECK(report.error().message ==
          "Docker on w1 refused POST /swarm/join (HTTP 503): Timeout was reached before node joined.");
    CHECK(report.error().line().find("SWMTKN") == std::string::npos);
}

TEST_CASE("swarm: peers are every other node's address - sorted and unique", "[swarm]") {
    std::vector<SwarmNode> nodes = {{"a", "manager", "10.0.0.3"}, {"b", "worker", "10.0.0.1"}, {"c", "worker", "10.0.0.3"}};
    CHECK(swarm_peers(nodes, "b") == std::vector<std::string>{"10.0.0.3"});
    CHECK(swarm_peers(nodes, "a") == std::vector<std::string>{"10.0.0.1", "10.0.0.3"});
}

TEST_CASE("swarm: a bad address or role is refused before any call", "[swarm]") {
    Fixture f;
    auto nodes = f.make({{"m1", "manager"}});
    nodes[0].address = "10.0.0.1; rm -rf /";
    SwarmService swarm(f.service);
    auto report = swarm.converge(nodes, std::chrono::seconds(60));
    REQUIRE_FALSE(report.has_value());
    CHECK(report.error().message.find("has no IP address") != std::string::npos);
    nodes[0].address = "10.0.0.1";
    nodes[0].role = "boss";
    report = swarm.converge(nodes, std::chrono::seconds(60));
    REQUIRE_FALSE(report.has_value());
    CHECK(report.error().kind == ErrorKind::Usage);
    CHECK(f.cluster.calls.empty());
}

TEST_CASE("swarm: roles follow the spec - promotions before demotions", "[swarm]") {
    Fixture f;
    auto nodes = f.make({{"m1", "manager"}, {"w1", "worker"}});
    SwarmService swarm(f.service);
    REQUIRE(swarm.converge(nodes, std::chrono::seconds(60)).has_value());
    // The spec now makes w1 the manager and m1 a worker: w1 is promoted first, then m1 demoted,
    // both through m1, which still manages the swarm.
    nodes[0].role = "worker";
    nodes[1].role = "manager";
    f.cluster.calls.clear();
    auto report = swarm.converge(nodes, std::chrono::seconds(60));
    REQUIRE(report.has_value());
    CHECK(report->manager == "m1");
    CHECK(report->roles_changed == std::vector<std::string>{"w1", "m1"});
    CHECK(f.cluster.roles.at("id-w1") == "manager");
    CHECK(f.cluster.roles.at("id-m1") == "worker");
    const auto promote = std::find_if(f.cluster.calls.begin(), f.cluster.calls.end(),
                                      [](const std::string& c) { return c.find("/nodes/id-w1/update") != std::string::npos; });
    const auto demote = std::find_if(f.cluster.calls.begin(), f.cluster.calls.end(),
                                     [](const std::string& c) { return c.find("/nodes/id-m1/update") != std::string::npos; });
    REQUIRE(promote != f.cluster.calls.end());
    REQUIRE(demote != f.cluster.calls.end());
    CHECK(promote < demote);
    // Once converged, nothing more.
    f.cluster.calls.clear();
    auto again = swarm.converge(nodes, std::chrono::seconds(60));
    REQUIRE(again.has_value());
    CHECK(again->roles_changed.empty());
    CHECK(f.count_calls("POST") == 0);
}

TEST_CASE("swarm: a down node the fleet no longer has is removed - a live one is left with a warning", "[swarm]") {
    Fixture f;
    auto nodes = f.make({{"m1", "manager"}, {"w1", "worker"}, {"gone", "worker"}, {"mgone", "manager"}, {"live", "worker"}});
    SwarmService swarm(f.service);
    REQUIRE(swarm.converge(nodes, std::chrono::seconds(60)).has_value());
    // gone and mgone were pruned (their VMs are gone: down); live is a node someone else runs.
    f.cluster.node_states["id-gone"] = "down";
    f.cluster.node_states["id-mgone"] = "down";
    nodes.resize(2);
    f.cluster.calls.clear();
    auto report = swarm.converge(nodes, std::chrono::seconds(60));
    REQUIRE(report.has_value());
    CHECK(report->removed == std::vector<std::string>{"gone", "mgone"});
    CHECK_FALSE(f.cluster.roles.contains("id-gone"));
    CHECK_FALSE(f.cluster.roles.contains("id-mgone"));  // demoted, then removed
    CHECK(f.cluster.roles.contains("id-live"));
    REQUIRE(report->warnings.size() == 1);
    CHECK(report->warnings[0] == "live is in the fleet's swarm but is not a machine of the spec; left as it is");
    CHECK(report->ready == 2);
}

TEST_CASE("swarm: leave takes machines out of their swarm - those in none are skipped", "[swarm]") {
    Fixture f;
    auto nodes = f.make({{"m1", "manager"}, {"w1", "worker"}, {"x1", "worker"}});
    SwarmService swarm(f.service);
    nodes.resize(2);
    REQUIRE(swarm.converge(nodes, std::chrono::seconds(60)).has_value());
    f.cluster.calls.clear();
    auto left = swarm.leave({"w1", "m1", "x1"});
    REQUIRE(left.has_value());
    CHECK(*left == std::vector<std::string>{"w1", "m1"});
    CHECK(f.count_calls("POST /swarm/leave?force=true") == 2);
    CHECK(f.count_calls("x1 POST") == 0);
    auto again = swarm.leave({"w1", "m1"});
    REQUIRE(again.has_value());
    CHECK(again->empty());
}

TEST_CASE("swarm: apply's nodes are the spec's ready machines with the spec's roles", "[swarm][fleet]") {
    FleetSpec spec;
    for (const char* name : {"a", "b", "c"}) {
        FleetMachineSpec m;
        m.name = name;
        spec.machines.push_back(m);
    }
    std::vector<std::string> skipped;
    auto none = swarm_nodes(spec, {}, skipped);
    REQUIRE(none.has_value());
    CHECK(none->empty());  // no swarm: in the spec

    spec.swarm = FleetSwarmSpec{{"a"}, {}};
    auto nodes = swarm_nodes(spec, {{"a", true, "10.0.0.1"}, {"b", false, ""}, {"c", true, "10.0.0.3"}}, skipped);
    REQUIRE(nodes.has_value());
    REQUIRE(nodes->size() == 2);
    CHECK((*nodes)[0].machine == "a");
    CHECK((*nodes)[0].role == "manager");
    CHECK((*nodes)[1].role == "worker");
    CHECK((*nodes)[1].address == "10.0.0.3");
    CHECK(skipped == std::vector<std::string>{"b"});

    skipped.clear();
    auto headless = swarm_nodes(spec, {{"a", false, ""}, {"b", true, "10.0.0.2"}}, skipped);
    REQUIRE_FALSE(headless.has_value());
    CHECK(headless.error().message == "no manager of the fleet's swarm is ready (a is not ready)");
}

TEST_CASE("swarm: a machine the apply removed leaves the swarm at once - before the manager sees it down", "[swarm]") {
    Fixture f;
    auto nodes = f.make({{"m1", "manager"}, {"w1", "worker"}, {"pruned", "worker"}});
    SwarmService swarm(f.service);
    REQUIRE(swarm.converge(nodes, std::chrono::seconds(60)).has_value());
    nodes.resize(2);  // pruned's VM is gone; the manager still lists it ready
    auto report = swarm.converge(nodes, std::chrono::seconds(60), {"pruned"});
    REQUIRE(report.has_value());
    CHECK(report->removed == std::vector<std::string>{"pruned"});
    CHECK(report->warnings.empty());
    CHECK_FALSE(f.cluster.roles.contains("id-pruned"));
}
