// berth apply -f FILE: converges the store and the hosts to a fleet spec. Prints the plan, then
// live progress (a terminal: one line per machine redrawn in place; piped or --progress plain:
// timestamped lines; --json: one JSON event per line), then a summary. Exit 1 if any machine
// failed, 2 for a bad spec or flags.

#include "app.h"
#include "progress_render.h"

#include <berth/service/fleet_service.h>

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <condition_variable>
#include <iostream>
#include <thread>

namespace berth::cli {
namespace {

struct ApplyFlags {
    std::string file;
    int parallel = 0;
    int package_parallel = 0;
    bool prune = false;
    bool recreate = false;
    bool dry_run = false;
    std::string progress = "auto";
    bool json = false;
    std::string bundles_dir;
};

nlohmann::json plan_json(const FleetPlan& plan) {
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& e : plan.entries)
        entries.push_back({{"machine", e.name}, {"action", std::string(plan_symbol(e.action))}, {"reasons", e.reasons}});
    return {{"event", "plan"},
            {"entries", entries},
            {"create", plan.count(PlanAction::Create)},
            {"change", plan.count(PlanAction::Change) + plan.count(PlanAction::Replace)},
            {"remove", plan.count(PlanAction::Remove)},
            {"unchanged", plan.count(PlanAction::Unchanged)},
            {"conflict", plan.count(PlanAction::Conflict)}};
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

/// The swarm phase's part of the summary (null when the phase had nothing to do).
nlohmann::json swarm_json(const ApplyReport& report) {
    if (!report.swarm && !report.swarm_error && report.swarm_left.empty()) return nullptr;
    nlohmann::json j = {{"provisioned", report.swarm_provisioned}, {"left", report.swarm_left}};
    if (report.swarm)
        j.update({{"manager", report.swarm->manager},
                  {"initialized", report.swarm->initialized},
                  {"joined", report.swarm->joined},
                  {"roles_changed", report.swarm->roles_changed},
                  {"removed", report.swarm->removed},
                  {"ready", report.swarm->ready},
                  {"warnings", report.swarm->warnings}});
    if (report.swarm_error) j["error"] = first_line(report.swarm_error->message);
    return j;
}

void print_swarm(const ApplyReport& report) {
    if (!report.swarm_left.empty()) std::cout << "Swarm: left by " << joined(report.swarm_left) << " (the spec has no swarm:).\n";
    if (const auto& s = report.swarm; s && !s->manager.empty()) {
        std::cout << "Swarm: " << s->ready << " node" << (s->ready == 1 ? "" : "s") << " ready, manager " << s->manager;
        if (!s->initialized.empty()) std::cout << "; initialised on " << joined(s->initialized);
        if (!s->joined.empty()) std::cout << "; joined: " << joined(s->joined);
        if (!s->roles_changed.empty()) std::cout << "; role changed: " << joined(s->roles_changed);
        if (!s->removed.empty()) std::cout << "; removed: " << joined(s->removed);
        if (!report.swarm_provisioned.empty()) std::cout << "; firewall and policy written on " << joined(report.swarm_provisioned);
        std::cout << ".\n";
    }
    if (report.swarm)
        for (const auto& w : report.swarm->warnings) std::cout << "  warning: " << w << "\n";
    if (report.swarm_error) {
        std::cout << "Swarm failed: " << first_line(report.swarm_error->message) << "\n";
        if (!report.swarm_error->hint.empty()) std::cout << "  " << report.swarm_error->hint << "\n";
    }
}

/// The summary: counts, then each failure with its error's line, then the swarm.
void print_summary(const ApplyReport& report, bool json) {
    std::map<PlanAction, int> done;
    nlohmann::json failed = nlohmann::json::array();
    for (const auto& o : report.outcomes) {
        if (o.error) failed.push_back({{"machine", o.name}, {"error", first_line(o.error->message)}});
        else ++done[o.action];
    }
    if (json) {
        std::cout << nlohmann::json{{"event", "summary"},
                                    {"created", done[PlanAction::Create] + done[PlanAction::Replace]},
                                    {"changed", done[PlanAction::Change]},
                                    {"removed", done[PlanAction::Remove]},
                                    {"unchanged", done[PlanAction::Unchanged]},
                                    {"failed", failed},
                                    {"swarm", swarm_json(report)}}
                         .dump()
                  << "\n";
        return;
    }
    std::cout << "Apply: " << done[PlanAction::Create] + done[PlanAction::Replace] << " created, "
              << done[PlanAction::Change] << " changed, " << done[PlanAction::Remove] << " removed, "
              << done[PlanAction::Unchanged] << " unchanged, " << failed.size() << " failed.\n";
    for (const auto& f : failed)
        std::cout << "  " << f["machine"].get<std::string>() << ": " << f["error"].get<std::string>() << "\n";
    print_swarm(report);
}

std::unique_ptr<ProgressRenderer> pick_renderer(const ApplyFlags& flags) {
    if (flags.json) return make_json_renderer(std::cout);
    const bool tty = flags.progress == "tty" || (flags.progress == "auto" && ::isatty(STDOUT_FILENO) == 1);
    return tty ? make_tty_renderer(std::cout) : make_plain_renderer(std::cout);
}

/// Redraws the terminal form once a second (elapsed times) until it goes.
class Ticker {
public:
    Ticker(ProgressRenderer& renderer, std::mutex& mutex)
        : m_thread([&renderer, &mutex, this](std::stop_token stop) {
              std::unique_lock lock(mutex);
              while (!stop.stop_requested()) {
                  m_wake.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });
                  if (!stop.stop_requested()) renderer.tick(std::chrono::system_clock::now());
              }
          }) {}

private:
    std::condition_variable_any m_wake;
    std::jthread m_thread;
};

Result<int> run_apply(Context& ctx, const ApplyFlags& flags) {
    Services services(ctx);
    MachineService& machines = services.machines();
    auto spec = load_fleet_spec(flags.file, machines.ports().drivers,
                                [&machines](const CreateRequest& r) { return machines.validate_create(r); });
    if (!spec) return std::unexpected(spec.error());
    auto renderer = pick_renderer(flags);
    std::mutex mutex;
    ApplyOptions options;
    options.plan.prune = flags.prune;
    options.plan.recreate = flags.recreate;
    options.dry_run = flags.dry_run;
    options.parallel = flags.parallel;
    options.package_parallel = flags.package_parallel;
    if (!flags.bundles_dir.empty()) options.bundles_dir = std::filesystem::absolute(flags.bundles_dir);
    options.progress = make_locked_sink(*renderer, mutex);
    options.on_plan = [&](const FleetPlan& plan) {
        std::lock_guard lock(mutex);
        if (flags.json) std::cout << plan_json(plan).dump() << "\n";
        else std::cout << format_plan(plan);
        std::cout << std::flush;
    };
    // The progress lines tell the story; the log's info lines would only interleave with them.
    const auto level = spdlog::get_level();
    if (!ctx.debug) spdlog::set_level(spdlog::level::warn);
    std::optional<Ticker> ticker;
    if (!flags.json && !flags.dry_run) ticker.emplace(*renderer, mutex);
    FleetService fleet(machines);
    auto report = fleet.apply(*spec, options);
    ticker.reset();
    renderer->finish();
    spdlog::set_level(level);
    if (!report) return std::unexpected(report.error());
    if (flags.dry_run) {
        if (spec->swarm && !flags.json)
            std::cout << "Swarm: manager" << (spec->swarm->managers.size() == 1 ? " " : "s ") << joined(spec->swarm->managers)
                      << "; the spec's " << spec->machines.size() << " machines are made one swarm after the plan runs.\n";
        return k_exit_ok;
    }
    print_summary(*report, flags.json);
    return report->failures() > 0 ? k_exit_error : k_exit_ok;
}

}  // namespace

void add_apply(CLI::App& app, Context& ctx) {
    auto flags = std::make_shared<ApplyFlags>();
    auto* sub = app.add_subcommand("apply", "Make the store and the hosts match a fleet spec (docs/fleet.md)");
    sub->add_option("-f,--file", flags->file, "The fleet spec (YAML)")->required();
    sub->add_option("--parallel", flags->parallel, "Machines worked on at once (default: the spec's, else min(4, cores))")
        ->check(CLI::Range(1, 64));
    sub->add_option("--package-parallel", flags->package_parallel,
                    "Package installs at once, so one mirror is not hammered (default: the spec's, else 2)")
        ->check(CLI::Range(1, 64));
    sub->add_flag("--prune", flags->prune, "Remove machines of the spec's fleet that it no longer names");
    sub->add_flag("--recreate", flags->recreate,
                  "Replace machines whose settings a provision cannot change (driver, its options, key type)");
    sub->add_flag("--dry-run", flags->dry_run, "Print the plan (drift checks included) and stop");
    sub->add_option("--progress", flags->progress,
                    "auto: one line per machine redrawn in place on a terminal, else plain; tty; plain: "
                    "timestamped lines")
        ->check(CLI::IsMember({"auto", "tty", "plain"}));
    sub->add_flag("--json", flags->json, "One JSON event per line on stdout (the plan, progress, the summary)");
    sub->add_option("--bundles-dir", flags->bundles_dir,
                    "Where each user's bundle goes (USER.tar.gz); overrides the spec's bundles-dir");
    sub->callback([&ctx, flags] { ctx.action = [&ctx, flags]() -> Result<int> { return run_apply(ctx, *flags); }; });
}

}  // namespace berth::cli
