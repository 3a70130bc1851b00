#pragma once
/// What `berth apply` will do: the spec against the store (and, for existing machines, the
/// host's drift), one entry per machine. Pure: the store's records and the drift checks come in
/// as values, so the planner is tested table-driven (store state x spec -> plan).

#include <berth/service/fleet_spec.h>
#include <berth/store/machine_record.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace berth {

enum class PlanAction {
    Create,     ///< "+": named in the spec, not in the store
    Change,     ///< "~": settings differ in a way a provision applies, or the host drifted
    Replace,    ///< "-/+": settings a provision cannot change (driver, its options, key type);
                ///<        only with --recreate, else a plan error
    Remove,     ///< "-": carries the fleet label, no longer in the spec (with --prune)
    Unchanged,  ///< "=": nothing to do
    Conflict,   ///< "!": cannot be planned (exists outside the fleet, record unreadable,
                ///<        Replace without --recreate, status creating); apply stops before
                ///<        doing anything, naming each conflict
};
/// "+", "~", "-/+", "-", "=", "!".
[[nodiscard]] std::string_view plan_symbol(PlanAction action);

struct PlanEntry {
    std::string name;
    PlanAction action = PlanAction::Unchanged;
    std::vector<std::string> reasons;   ///< "engine-opt: [a] -> [a, b]", "drift: daemon.json", ...
    std::optional<FleetMachineSpec> desired;  ///< none for Remove
};

struct FleetPlan {
    std::vector<PlanEntry> entries;  ///< spec order, then removals in natural order
    [[nodiscard]] int count(PlanAction action) const;
    [[nodiscard]] bool has_conflicts() const { return count(PlanAction::Conflict) > 0; }
};

/// The machine's desired settings as canonical JSON (keys sorted, defaults filled the same way
/// every time): what the record keeps in fleet.desired and the next plan compares.
[[nodiscard]] nlohmann::json desired_json(const FleetMachineSpec& machine);

/// A machine found in the store: its record, or why it could not be read.
struct StoredMachine {
    std::string name;
    std::optional<MachineRecord> record;
    std::string error;  ///< when record is empty
    /// The check-only provision's result for a ready machine (nullopt: not checked); a list of
    /// the drifted steps' names, empty when clean.
    std::optional<std::vector<std::string>> drift;
};

struct PlanOptions {
    bool prune = false;
    bool recreate = false;
};

[[nodiscard]] FleetPlan make_plan(const FleetSpec& spec, const std::vector<StoredMachine>& stored,
                                  const PlanOptions& options);

/// The plan as `apply` prints it: one line per entry ("+ node-01  create (libvirt)"), reasons
/// indented below, then "Plan: 2 to create, 1 to change, 0 to remove, 5 unchanged."
[[nodiscard]] std::string format_plan(const FleetPlan& plan);

}  // namespace berth
