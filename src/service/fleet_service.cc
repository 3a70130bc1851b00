// berth apply: the plan (the store's records and one check-only provision per existing ready
// machine, in parallel), then the plan run with bounded parallelism, one thread per machine.

#include <berth/service/fleet_service.h>

#include <berth/core/log.h>
#include <berth/core/machine_name.h>
#include <berth/service/user_certs.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace berth {
namespace {

int default_parallel() {
    const unsigned cores = std::thread::hardware_concurrency();
    return static_cast<int>(std::clamp(cores, 1u, 4u));
}

/// A record of `fleet` left "creating" by a berth that is gone (an apply killed mid-create): its
/// lock is free. A create still under way holds it. A machine directory without its record
/// (killed before the first save) counts the same.
bool left_half_made(const Store& store, const StoredMachine& stored, const std::string& fleet) {
    const bool no_record =
        !stored.record && !std::filesystem::exists(store.machine_file(stored.name, k_record_file));
    const bool ours_creating = stored.record && stored.record->status == MachineStatus::Creating &&
                               stored.record->fleet.fleet == fleet;
    if (!no_record && !ours_creating) return false;
    auto lock = store.lock(stored.name);
    return lock.has_value();
}

/// Sends a machine's Done or Failed event (the owner of its scope sends these).
void finish_event(const ProgressSink& sink, const MachineOutcome& outcome) {
    if (!sink) return;
    ProgressEvent event;
    event.machine = outcome.name;
    event.at = std::chrono::system_clock::now();
    if (outcome.error) {
        event.kind = ProgressEvent::Kind::Failed;
        event.message = error_line(*outcome.error);
    } else {
        event.kind = ProgressEvent::Kind::Done;
        switch (outcome.action) {
            case PlanAction::Create: event.message = "created"; break;
            case PlanAction::Change: event.message = "changed"; break;
            case PlanAction::Replace: event.message = "replaced"; break;
            case PlanAction::Remove: event.message = "removed"; break;
            default: event.message = "unchanged"; break;
        }
    }
    sink(event);
}

}  // namespace

void run_bounded(std::size_t count, int parallel, const std::function<void(std::size_t)>& work) {
    std::atomic<std::size_t> next{0};
    const auto threads = std::min<std::size_t>(count, static_cast<std::size_t>(std::max(1, parallel)));
    std::vector<std::jthread> pool;
    pool.reserve(threads);
    for (std::size_t t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            for (std::size_t i = next++; i < count; i = next++) work(i);
        });
}

std::string error_line(const Error& error) {
    std::string line = error.message;
    if (auto nl = line.find('\n'); nl != std::string::npos) line.resize(nl);
    return line;
}

int ApplyReport::failures() const {
    return static_cast<int>(std::count_if(outcomes.begin(), outcomes.end(),
                                          [](const MachineOutcome& o) { return o.error.has_value(); })) +
           (swarm_error ? 1 : 0);
}

FleetService::FleetService(MachineService& machines) : m_machines(machines) {}

Result<FleetPlan> FleetService::plan(const FleetSpec& spec, const PlanOptions& options) const {
    return plan_with(spec, options, {}, spec.parallel > 0 ? spec.parallel : default_parallel(), nullptr);
}

Result<std::vector<StoredMachine>> FleetService::stored_machines(const std::string& fleet,
                                                                 std::set<std::string>* half_made) const {
    const Store& store = m_machines.store();
    auto names = store.list_names();
    if (!names) return std::unexpected(names.error());
    std::vector<StoredMachine> stored;
    for (const auto& name : *names) {
        StoredMachine item;
        item.name = name;
        auto record = store.load(name);
        if (record) item.record = std::move(*record);
        else item.error = record.error().message;
        // Half made by an apply that was killed: planned as absent (created again after its
        // leftovers are removed), so the next apply converges.
        if (left_half_made(store, item, fleet)) {
            if (half_made) half_made->insert(name);
            continue;
        }
        stored.push_back(std::move(item));
    }
    return stored;
}

Result<FleetPlan> FleetService::plan_with(const FleetSpec& spec, const PlanOptions& options, const ProgressSink& sink,
                                          int parallel, std::set<std::string>* half_made) const {
    std::set<std::string> stale;
    auto stored = stored_machines(spec.fleet, &stale);
    if (!stored) return std::unexpected(stored.error());
    // One check-only provision per existing ready machine the spec names: the host's drift.
    std::map<std::string, const FleetMachineSpec*> wanted;
    for (const auto& m : spec.machines) wanted[m.name] = &m;
    std::vector<StoredMachine*> to_check;
    for (auto& item : *stored)
        if (item.record && item.record->status == MachineStatus::Ready && wanted.contains(item.name))
            to_check.push_back(&item);
    run_bounded(to_check.size(), parallel, [&](std::size_t i) {
        StoredMachine& item = *to_check[i];
        ProgressScope progress(item.name, sink);
        auto drift = m_machines.drift(item.name, wanted.at(item.name)->request.provision);
        if (drift) item.drift = std::move(*drift);
        else item.drift = std::vector<std::string>{"check failed: " + error_line(drift.error())};
    });
    FleetPlan plan = make_plan(spec, *stored, options);
    // Leftovers of this fleet that the spec no longer names: removed (they were never made).
    for (const auto& name : stale) {
        if (wanted.contains(name)) continue;
        auto record = m_machines.store().load(name);
        if (!record || record->fleet.fleet != spec.fleet) continue;
        plan.entries.push_back({name, PlanAction::Remove, {"left half-made by an interrupted apply"}, std::nullopt});
    }
    if (half_made) *half_made = std::move(stale);
    return plan;
}

MachineOutcome FleetService::run_entry(const FleetSpec& spec, const PlanEntry& entry, const ApplyOptions& options,
                                       const RunShared& shared) const {
    MachineOutcome outcome;
    outcome.name = entry.name;
    outcome.action = entry.action;
    const auto start = std::chrono::steady_clock::now();
    MachineLogScope log_scope{entry.name};
    ProgressScope progress(entry.name, options.progress);
    Result<void> done = {};
    try {
        done = run_action(spec, entry, shared, outcome);
    } catch (const std::exception& e) {
        done = fail(std::string("internal error: ") + e.what());
    }
    if (!done) outcome.error = done.error();
    outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    finish_event(options.progress, outcome);
    return outcome;
}

Result<void> FleetService::run_action(const FleetSpec& spec, const PlanEntry& entry, const RunShared& shared,
                                      MachineOutcome& outcome) const {
    if (entry.action == PlanAction::Remove) return remove_machine(entry.name, shared);
    const FleetMachineSpec& desired = *entry.desired;
    const FleetMembership membership{spec.fleet, desired.group, spec.file.string(), desired_json(desired)};
    if (entry.action == PlanAction::Change) {
        ProvisionOptions options = desired.request.provision;
        options.package_gate = shared.package_gate;
        options.engine = desired.request.engine;
        // New SANs need a new server certificate (from the machine's own CA), which the
        // provision then installs: dockerd restarts, live-restore keeps the containers.
        auto record = m_machines.store().load(entry.name);
        if (!record) return std::unexpected(record.error());
        const bool new_sans = record->tls.extra_sans != desired.request.tls_sans;
        if (new_sans) progress_step("certificates");
        Result<ProvisionReport> report = ProvisionReport{};
        if (new_sans) {
            auto regenerated = m_machines.regenerate_certs(entry.name, CertRenewal::server_only(), options,
                                                           desired.request.tls_sans);
            if (!regenerated) return std::unexpected(regenerated.error());
            report = regenerated->value_or(ProvisionReport{});
        } else {
            report = m_machines.provision(entry.name, options);
        }
        if (!report) return std::unexpected(report.error());
        outcome.remote_commands = report->remote_commands;
        outcome.changed = report->changed;
        outcome.changed.insert(outcome.changed.end(), report->restarted.begin(), report->restarted.end());
        return m_machines.set_fleet(entry.name, membership);
    }
    if (entry.action == PlanAction::Replace || shared.half_made.contains(entry.name)) {
        progress_step("removing");
        if (auto gone = m_machines.remove(entry.name, shared.half_made.contains(entry.name)); !gone)
            return std::unexpected(gone.error());
    }
    return create_machine(desired, membership, shared, outcome);
}

Result<void> FleetService::create_machine(const FleetMachineSpec& desired, const FleetMembership& membership,
                                          const RunShared& shared, MachineOutcome& outcome) const {
    CreateRequest request = desired.request;
    request.name = desired.name;
    request.fleet = membership;
    request.provision.package_gate = shared.package_gate;
    // The user's certificate is issued by create from the new CA, before the first provision, so
    // the host's first policy already gives the CN its role.
    if (!desired.user.empty()) request.users = {CreateUser{desired.user, desired.user_role, 0}};
    auto created = m_machines.create(request);
    if (!created) return std::unexpected(created.error());
    outcome.remote_commands = created->remote_commands();
    if (created->provision) outcome.changed = created->provision->changed;
    if (desired.context) {
        progress_step("context");
        auto context = write_docker_context(m_machines, desired.name);
        if (!context) return std::unexpected(context.error());
    }
    if (shared.bundles_dir && !desired.user.empty()) {
        progress_step("bundle");
        if (auto ok = validate_user_cn(desired.user); !ok) return ok;
        std::error_code ec;
        std::filesystem::create_directories(*shared.bundles_dir, ec);
        if (ec) return fail("cannot make " + shared.bundles_dir->string() + ": " + ec.message());
        auto bundle = write_bundle(m_machines, desired.name, desired.user, *shared.bundles_dir / (desired.user + ".tar.gz"));
        if (!bundle) return bundle;
    }
    return {};
}

Result<void> FleetService::remove_machine(const std::string& name, const RunShared& shared) const {
    progress_step("removing");
    const bool half_made = shared.half_made.contains(name);
    auto gone = m_machines.remove(name, half_made);
    if (!gone) return std::unexpected(gone.error());
    auto context = remove_docker_context(name);
    if (!context) return std::unexpected(context.error());
    return {};
}

Result<FileLock> FleetService::fleet_lock(const FleetSpec& spec) const {
    // The label names a file: it has a machine name's syntax (the parser checks it; so does this).
    if (auto ok = validate_machine_name(spec.fleet); !ok)
        return fail_usage("the fleet label \"" + spec.fleet + "\" is not valid: " + ok.error().message);
    // One apply of a fleet at a time: a second `berth apply` of the same fleet waits, then plans
    // against what the first one made.
    return FileLock::acquire(m_machines.store().root() / "locks" / ("fleet-" + spec.fleet + ".lock"),
                             "fleet " + spec.fleet, std::chrono::hours(6), [](const std::string& message) {
                                 spdlog::info("{}; waiting for it", message);
                             });
}

Result<ApplyReport> FleetService::apply(const FleetSpec& spec, const ApplyOptions& options) const {
    const int parallel = options.parallel > 0 ? options.parallel : (spec.parallel > 0 ? spec.parallel : default_parallel());
    const int packages = options.package_parallel > 0 ? options.package_parallel
                                                       : (spec.package_parallel > 0 ? spec.package_parallel : 2);
    std::optional<FileLock> lock;
    if (!options.dry_run) {
        if (auto ok = m_machines.store().ensure_layout(); !ok) return std::unexpected(ok.error());
        auto held = fleet_lock(spec);
        if (!held) return std::unexpected(held.error());
        lock.emplace(std::move(*held));
    }
    RunShared shared;
    auto plan = plan_with(spec, options.plan, options.progress, parallel, &shared.half_made);
    if (!plan) return std::unexpected(plan.error());
    if (options.on_plan) options.on_plan(*plan);
    ApplyReport report;
    report.plan = std::move(*plan);
    if (report.plan.has_conflicts()) {
        std::string names;
        for (const auto& e : report.plan.entries)
            if (e.action == PlanAction::Conflict)
                names += "\n  " + e.name + (e.reasons.empty() ? std::string() : ": " + e.reasons.front());
        return fail_kind(ErrorKind::Conflict, "the plan has conflicts; nothing was changed:" + names,
                         "resolve each, then apply again (`--recreate` replaces machines a provision cannot change)");
    }
    if (options.dry_run) return report;

    shared.package_gate = std::make_shared<std::counting_semaphore<>>(packages);
    shared.bundles_dir = options.bundles_dir ? options.bundles_dir : spec.bundles_dir;
    std::vector<const PlanEntry*> work;
    for (const auto& e : report.plan.entries) {
        if (e.action == PlanAction::Unchanged) {
            report.outcomes.push_back({e.name, e.action, std::nullopt, 0, 0, {}});
            continue;
        }
        work.push_back(&e);
        report.outcomes.push_back({});
    }
    std::vector<MachineOutcome> done(work.size());
    run_bounded(work.size(), parallel, [&](std::size_t i) { done[i] = run_entry(spec, *work[i], options, shared); });
    // Outcomes in plan order.
    std::size_t next = 0;
    for (std::size_t i = 0; i < report.outcomes.size(); ++i)
        if (report.plan.entries[i].action != PlanAction::Unchanged) report.outcomes[i] = std::move(done[next++]);
    // Then the swarm: its failure is reported like a machine's, after the machines'.
    try {
        if (auto ok = converge_swarm(spec, options, report); !ok) report.swarm_error = ok.error();
    } catch (const std::exception& e) {
        report.swarm_error = Error{ErrorKind::Failed, std::string("internal error in the swarm phase: ") + e.what(), {}, {}};
    }
    // The swarm's progress line ends like a machine's.
    if (options.progress && (report.swarm || report.swarm_error || !report.swarm_left.empty())) {
        ProgressEvent event;
        event.machine = "swarm";
        event.at = std::chrono::system_clock::now();
        event.kind = report.swarm_error ? ProgressEvent::Kind::Failed : ProgressEvent::Kind::Done;
        event.message = report.swarm_error ? error_line(*report.swarm_error)
                        : report.swarm_left.empty() ? "converged" : "left";
        options.progress(event);
    }
    return report;
}

}  // namespace berth
