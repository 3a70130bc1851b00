#pragma once
/// berth apply: converges the store and the hosts to a fleet spec. It plans (fleet_plan.h: the
/// store's records, plus one check-only provision per existing ready machine, run in parallel,
/// for drift), then runs the plan with bounded parallelism: each machine on its own thread
/// through MachineService (create, provision, remove), at most `parallel` at once and at most
/// `package_parallel` package installs at once. One machine's failure does not stop the others.
/// A converged fleet costs one remote command per machine (the drift check) and changes nothing.

#include <berth/core/progress.h>
#include <berth/service/fleet_plan.h>
#include <berth/service/machine_service.h>
#include <berth/service/swarm_service.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <semaphore>
#include <set>
#include <string>
#include <vector>

namespace berth {

struct ApplyOptions {
    PlanOptions plan;                 ///< --prune, --recreate
    bool dry_run = false;             ///< plan (with the drift checks) and stop
    int parallel = 0;                 ///< --parallel N; 0 = the spec's, else min(4, cores)
    int package_parallel = 0;         ///< 0 = the spec's, else 2
    std::optional<std::filesystem::path> bundles_dir;  ///< --bundles-dir; overrides the spec's
    ProgressSink progress;            ///< live events (may be empty)
    /// Called once with the plan, before anything runs (apply prints it here).
    std::function<void(const FleetPlan&)> on_plan;
};

/// What happened to one machine of the plan.
struct MachineOutcome {
    std::string name;
    PlanAction action = PlanAction::Unchanged;
    std::optional<Error> error;       ///< none: it succeeded
    double seconds = 0;
    int remote_commands = 0;
    std::vector<std::string> changed;  ///< files written, services restarted (from the provision)
};

struct ApplyReport {
    FleetPlan plan;
    std::vector<MachineOutcome> outcomes;  ///< plan order; empty for --dry-run
    /// The swarm phase (a spec with swarm:): what it did, or why it failed.
    std::optional<SwarmReport> swarm;
    std::optional<Error> swarm_error;
    std::vector<std::string> swarm_provisioned;  ///< provisioned again for their swarm membership
    std::vector<std::string> swarm_left;         ///< left the swarm (a spec without swarm:)
    /// Machines that failed, plus one for a failed swarm phase.
    [[nodiscard]] int failures() const;
};

/// A machine of the spec after the plan ran, as the swarm phase sees it.
struct FleetNodeState {
    std::string name;
    bool ready = false;    ///< ready and not failed in this apply
    std::string address;   ///< its IP address (the driver's)
};

/// The swarm's nodes: the spec's machines that are ready, in spec order, with the spec's roles.
/// The others are added to `skipped` (they join at the next apply). An error when managers
/// were named but none is ready.
[[nodiscard]] Result<std::vector<SwarmNode>> swarm_nodes(const FleetSpec& spec,
                                                         const std::vector<FleetNodeState>& machines,
                                                         std::vector<std::string>& skipped);

/// The first line of an error's message (a machine's line in apply's summary and progress).
[[nodiscard]] std::string error_line(const Error& error);

/// Runs `work(i)` for i in [0, count) on at most `parallel` threads; returns when all are done.
void run_bounded(std::size_t count, int parallel, const std::function<void(std::size_t)>& work);

class FleetService {
public:
    explicit FleetService(MachineService& machines);
    /// The plan only (drift checks included).
    [[nodiscard]] Result<FleetPlan> plan(const FleetSpec& spec, const PlanOptions& options) const;
    /// Plans, then runs. An Error only when nothing could be run (unreadable store, a plan with
    /// conflicts: Usage/Conflict naming each); machine failures are in the report.
    [[nodiscard]] Result<ApplyReport> apply(const FleetSpec& spec, const ApplyOptions& options) const;

private:
    /// What the machines' threads share during one apply.
    struct RunShared {
        std::shared_ptr<std::counting_semaphore<>> package_gate;
        std::optional<std::filesystem::path> bundles_dir;
        /// Records left "creating" by an apply that was killed: removed (forced) before their
        /// machine is made again.
        std::set<std::string> half_made;
    };
    [[nodiscard]] Result<std::vector<StoredMachine>> stored_machines(const std::string& fleet,
                                                                     std::set<std::string>* half_made) const;
    [[nodiscard]] Result<FleetPlan> plan_with(const FleetSpec& spec, const PlanOptions& options,
                                              const ProgressSink& sink, int parallel,
                                              std::set<std::string>* half_made) const;
    [[nodiscard]] Result<FileLock> fleet_lock(const FleetSpec& spec) const;
    [[nodiscard]] MachineOutcome run_entry(const FleetSpec& spec, const PlanEntry& entry, const ApplyOptions& options,
                                           const RunShared& shared) const;
    [[nodiscard]] Result<void> run_action(const FleetSpec& spec, const PlanEntry& entry, const RunShared& shared,
                                          MachineOutcome& outcome) const;
    [[nodiscard]] Result<void> create_machine(const FleetMachineSpec& desired, const FleetMembership& membership,
                                              const RunShared& shared, MachineOutcome& outcome) const;
    [[nodiscard]] Result<void> remove_machine(const std::string& name, const RunShared& shared) const;
    /// The swarm phase (fleet_swarm.cc): joins the ready machines into one swarm, or takes the
    /// fleet's machines out of it when the spec has no swarm:.
    [[nodiscard]] Result<void> converge_swarm(const FleetSpec& spec, const ApplyOptions& options,
                                              ApplyReport& report) const;
    [[nodiscard]] Result<void> leave_swarm(const FleetSpec& spec, const std::vector<std::string>& machines,
                                           const ApplyOptions& options, ApplyReport& report) const;
    [[nodiscard]] Result<void> set_and_provision(const FleetSpec& spec, const std::string& name,
                                                 const SwarmMembership& membership) const;

    MachineService& m_machines;
};

}  // namespace berth
