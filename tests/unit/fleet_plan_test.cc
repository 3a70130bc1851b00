// The planner, table-driven: a store state and a spec in, a plan out (docs/fleet.md "The plan").
#include <berth/service/fleet_plan.h>

#include "temp_dir.h"

#include <catch2/catch.hpp>

using namespace berth;

namespace {

FleetMachineSpec machine(const std::string& name, const std::string& driver = "none") {
    FleetMachineSpec m;
    m.name = name;
    m.group = "g";
    m.request.name = name;
    m.request.driver = driver;
    m.request.driver_flags["url"] = {"tcp://192.0.2.1:2376"};
    m.request.engine.opts = {"a=1"};
    return m;
}

FleetSpec spec_of(std::vector<FleetMachineSpec> machines) {
    FleetSpec spec;
    spec.fleet = "lab";
    spec.machines = std::move(machines);
    return spec;
}

/// A ready record an apply of `desired` left behind, in fleet `fleet`.
StoredMachine stored(const FleetMachineSpec& desired, const std::string& fleet = "lab",
                     std::optional<std::vector<std::string>> drift = std::vector<std::string>{}) {
    MachineRecord r;
    r.name = desired.name;
    r.driver_name = desired.request.driver;
    r.status = MachineStatus::Ready;
    if (!fleet.empty()) r.fleet = FleetMembership{fleet, desired.group, "fleet.yaml", desired_json(desired)};
    return StoredMachine{desired.name, r, "", std::move(drift)};
}

struct Row {
    std::string what;
    std::vector<StoredMachine> store;
    PlanOptions options;
    std::vector<std::pair<PlanAction, std::string>> want;  ///< action, name, in order
    std::vector<std::string> reasons_of_first;             ///< the first entry's reasons (when checked)
};

}  // namespace

TEST_CASE("the plan of a spec against the store - table-driven", "[fleet][plan]") {
    const auto a = machine("a");
    const auto b = machine("b");
    auto a_more = a;
    a_more.request.engine.opts = {"a=1", "b=2"};
    auto a_libvirt = machine("a", "libvirt");
    auto a_days = a;
    a_days.request.tls_cert_days = 365;
    auto a_user = a;
    a_user.user = "alice";
    auto a_san = a;
    a_san.request.tls_sans = {"docker.example.org"};
    auto a_proxy = a;
    a_proxy.request.engine.apt_proxy = "http://10.0.0.2:3142";
    auto a_other_proxy = a;
    a_other_proxy.request.engine.apt_proxy = "http://10.0.0.3:3142";
    const auto old = machine("old");
    auto creating = stored(a);
    creating.record->status = MachineStatus::Creating;
    auto failed = stored(a);
    failed.record->status = MachineStatus::Error;
    failed.record->last_error = "packages: apt failed";
    auto no_desired = stored(a);
    no_desired.record->fleet.desired = nlohmann::json::object();
    const StoredMachine unreadable{"a", std::nullopt, "machine.json: not JSON", std::nullopt};
    using P = PlanAction;

    const std::vector<std::pair<std::vector<FleetMachineSpec>, Row>> table = {
        {{a, b}, {"empty store: all created", {}, {}, {{P::Create, "a"}, {P::Create, "b"}}, {}}},
        {{a}, {"converged: unchanged", {stored(a)}, {}, {{P::Unchanged, "a"}}, {}}},
        {{a}, {"drift not checked: unchanged", {stored(a, "lab", std::nullopt)}, {}, {{P::Unchanged, "a"}}, {}}},
        {{a}, {"drift: change", {stored(a, "lab", std::vector<std::string>{"daemon", "firewall"})}, {},
               {{P::Change, "a"}}, {"drift: daemon", "drift: firewall"}}},
        {{a_more}, {"an engine option: change", {stored(a)}, {}, {{P::Change, "a"}},
                    {"engine-opt: [a=1] -> [a=1, b=2]"}}},
        {{a_user}, {"a user: change", {stored(a)}, {}, {{P::Change, "a"}},
                    {"user: \"\" -> alice", "user-role: \"\" -> restricted"}}},
        {{a_proxy}, {"an apt proxy: change", {stored(a)}, {}, {{P::Change, "a"}},
                     {"engine-apt-proxy: (none) -> http://10.0.0.2:3142"}}},
        {{a_other_proxy}, {"another apt proxy: change", {stored(a_proxy)}, {}, {{P::Change, "a"}},
                           {"engine-apt-proxy: http://10.0.0.2:3142 -> http://10.0.0.3:3142"}}},
        {{a}, {"the apt proxy removed: change", {stored(a_proxy)}, {}, {{P::Change, "a"}},
               {"engine-apt-proxy: http://10.0.0.2:3142 -> (none)"}}},
        {{a_libvirt}, {"the driver without --recreate: conflict", {stored(a)}, {}, {{P::Conflict, "a"}},
                       {"driver: none -> libvirt",
                        "a provision cannot change this: apply --recreate replaces the machine"}}},
        {{a_days}, {"certificate days with --recreate: replace", {stored(a)}, {false, true}, {{P::Replace, "a"}},
                    {"tls-cert-days: 730 -> 365"}}},
        {{a_san}, {"a new tls-san: change (a new server certificate), no --recreate needed", {stored(a)}, {},
                   {{P::Change, "a"}}, {"tls-san: [] -> [docker.example.org]"}}},
        {{a}, {"outside the fleet: conflict", {stored(a, "")}, {}, {{P::Conflict, "a"}},
               {"a machine of this name exists outside the fleet"}}},
        {{a}, {"another fleet: conflict", {stored(a, "other")}, {}, {{P::Conflict, "a"}},
               {"it belongs to fleet \"other\""}}},
        {{a}, {"unreadable record: conflict", {unreadable}, {}, {{P::Conflict, "a"}},
               {"its record cannot be read: machine.json: not JSON"}}},
        {{a}, {"creating: conflict", {creating}, {}, {{P::Conflict, "a"}}, {}}},
        {{a}, {"status error: change", {failed}, {}, {{P::Change, "a"}}, {"status: error (packages: apt failed)"}}},
        {{a}, {"no desired settings kept: change", {no_desired}, {}, {{P::Change, "a"}},
               {"desired settings not recorded"}}},
        {{a}, {"dropped, no --prune: kept", {stored(a), stored(old)}, {}, {{P::Unchanged, "a"}, {P::Unchanged, "old"}}, {}}},
        {{a}, {"dropped, --prune: removed", {stored(a), stored(old)}, {true, false},
               {{P::Unchanged, "a"}, {P::Remove, "old"}}, {}}},
        {{a}, {"--prune leaves other fleets and loose machines", {stored(old, "other"), stored(machine("x"), "")},
               {true, false}, {{P::Create, "a"}}, {}}},
    };
    for (const auto& [machines, row] : table) {
        INFO(row.what);
        const FleetPlan plan = make_plan(spec_of(machines), row.store, row.options);
        std::vector<std::pair<PlanAction, std::string>> got;
        for (const auto& e : plan.entries) got.emplace_back(e.action, e.name);
        CHECK(got == row.want);
        if (!row.reasons_of_first.empty() && !plan.entries.empty()) {
            CHECK(plan.entries.front().reasons == row.reasons_of_first);
        }
        for (const auto& e : plan.entries) CHECK(e.desired.has_value() == (e.action != P::Remove && e.name != "old"));
    }
}

TEST_CASE("removals come after the spec's machines - in natural order", "[fleet][plan]") {
    std::vector<StoredMachine> store;
    for (const std::string name : {"n10", "n2", "n1"}) store.push_back(stored(machine(name)));
    const FleetPlan plan = make_plan(spec_of({machine("z")}), store, {true, false});
    REQUIRE(plan.entries.size() == 4);
    CHECK(plan.entries[0].name == "z");
    CHECK(plan.entries[1].name == "n1");
    CHECK(plan.entries[2].name == "n2");
    CHECK(plan.entries[3].name == "n10");
    CHECK(plan.count(PlanAction::Remove) == 3);
    CHECK_FALSE(plan.has_conflicts());
}

TEST_CASE("desired_json is canonical and hashes the authz policy's content", "[fleet][plan]") {
    berth::test::TempDir dir;
    auto m = machine("a");
    CHECK(desired_json(m) == desired_json(m));
    CHECK(desired_json(m).dump() == desired_json(machine("a")).dump());
    CHECK(desired_json(m)["authz-policy"] == "default");
    CHECK(desired_json(m)["authz-owner-role"] == "restricted");
    CHECK_FALSE(desired_json(m).contains("engine-apt-proxy"));  // the settings recorded before it compare equal
    berth::test::write_text(dir / "p.yaml", "version: 1\n");
    m.request.provision.authz_policy = dir / "p.yaml";
    const auto first = desired_json(m)["authz-policy"].get<std::string>();
    CHECK(first.starts_with("sha256:"));
    berth::test::write_text(dir / "p.yaml", "version: 1\n# changed\n");
    CHECK(desired_json(m)["authz-policy"].get<std::string>() != first);
    m.request.driver_flags["url"] = {"tcp://192.0.2.9:2376"};
    CHECK(desired_json(m)["driver-options"]["url"] == nlohmann::json::array({"tcp://192.0.2.9:2376"}));
}

TEST_CASE("format_plan prints symbols - reasons and counts - control characters are shown - not sent", "[fleet][plan]") {
    FleetPlan plan;
    plan.entries.push_back({"node-01", PlanAction::Create, {}, machine("node-01", "libvirt")});
    plan.entries.push_back({"n2", PlanAction::Change, {"engine-opt: [a] -> [a, \x1b[2Jb]"}, machine("n2")});
    plan.entries.push_back({"n3", PlanAction::Unchanged, {}, machine("n3")});
    plan.entries.push_back({"old", PlanAction::Remove, {"no longer in the spec"}, std::nullopt});
    CHECK(format_plan(plan) ==
          "+   node-01  create (libvirt)\n"
          "~   n2       change\n"
          "        engine-opt: [a] -> [a, \\x1b[2Jb]\n"
          "=   n3       unchanged\n"
          "-   old      remove\n"
          "        no longer in the spec\n"
          "Plan: 1 to create, 1 to change, 1 to remove, 1 unchanged.\n");
    plan.entries.push_back({"x", PlanAction::Conflict, {"it belongs to fleet \"other\""}, machine("x")});
    plan.entries.push_back({"y", PlanAction::Replace, {}, machine("y")});
    CHECK(format_plan(plan).ends_with("Plan: 1 to create, 1 to change, 1 to replace, 1 to remove, 1 unchanged, 1 conflict.\n"));
    CHECK(plan_symbol(PlanAction::Replace) == "-/+");
}
