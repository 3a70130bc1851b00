#include <berth/provision/provisioner.h>

#include <berth/provision/apt_status.h>

#include <berth/core/log.h>
#include <berth/core/progress.h>
#include <berth/docker/docker_client.h>
#include <berth/provision/engine_options.h>
#include <berth/provision/engine_checks.h>
#include <berth/provision/desired_files.h>
#include <berth/provision/facts.h>
#include <berth/provision/host_paths.h>
#include <berth/provision/package_config_step.h>
#include <berth/provision/packages_step.h>
#include <berth/provision/plan.h>

#include "join.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

namespace berth {
namespace {

// A remote step that must succeed; its failure names the step, the exit status and stderr's tail.
Result<RemoteResult> remote_step(Session& session, const std::string& machine, const std::string& what,
                                 const std::string& script, std::chrono::seconds timeout = std::chrono::seconds(0),
                                 const std::function<void(std::string_view)>& on_out = {}) {
    auto r = on_out ? session.run_streaming(script, timeout, on_out) : session.run(script, timeout);
    if (!r) {
        Error e = r.error();
        e.message = what + " on " + machine + " failed: " + e.message;
        return std::unexpected(e);
    }
    if (r->exit_status != 0) {
        const bool sudo_refused = r->err.find("sudo:") != std::string::npos &&
                                  (r->err.find("password") != std::string::npos ||
                                   r->err.find("not in the sudoers") != std::string::npos);
        return std::unexpected(Error{ErrorKind::Failed,
                                     what + " on " + machine + " failed (exit " + std::to_string(r->exit_status) +
                                         "): " + tail_lines(r->err.empty() ? r->out : r->err, 5),
                                     sudo_refused ? "berth needs root or passwordless sudo for the SSH user "
                                                    "(e.g. `USER ALL=(ALL) NOPASSWD:ALL` in /etc/sudoers.d/)"
                                                  : "",
                                     {{"step", what}, {"stderr", tail_lines(r->err, 20)}}});
    }
    return r;
}

// Both families' packages: which family the host is, the facts tell.
std::vector<std::string> all_packages(const EngineConfig& engine) {
    std::vector<std::string> all = package_names(OsFamily::Debian, engine);
    for (const auto& p : package_names(OsFamily::Rhel, engine))
        if (std::find(all.begin(), all.end(), p) == all.end()) all.push_back(p);
    return all;
}

Result<void> check_install(const EngineConfig& engine) {
    if (engine.install != "docker.io" && engine.install != "docker-ce")
        return fail_usage("--engine-install takes docker.io or docker-ce, not \"" + engine.install + "\"");
    return {};
}

// The --engine-* values of a request (from the record, which an older berth may have written with
// a value that reaches a root shell unquoted), checked before any remote command.
Result<void> check_saved_engine(const std::string& machine, const EngineConfig& engine,
                                std::optional<OsFamily> family = std::nullopt) {
    auto ok = family ? check_engine_version(engine.version, family) : check_engine_config(engine);
    if (ok) return ok;
    Error e = ok.error();
    e.message = "the engine settings saved for " + machine + " are refused, nothing was run: " + e.message;
    e.hint += "; remove the machine (`berth rm " + machine + "`) and create it again with valid --engine-* values";
    return std::unexpected(e);
}

Result<OsInfo> supported_os(const Facts& facts) {
    auto os = parse_os_release(facts.os_release);
    if (!os) return std::unexpected(os.error());
    if (auto ok = check_supported(*os); !ok) return std::unexpected(ok.error());
    return os;
}

// `e` with the tail of dockerd's journal, which says why it did not start.
Error with_docker_journal(Session& session, Error e) {
    auto journal = session.run("journalctl -u docker --no-pager -n 30 2>&1 | tail -n 30");
    if (journal && !journal->out.empty()) e.message += "\njournalctl -u docker:\n" + journal->out;
    return e;
}

nlohmann::json parse_option_value(const std::string& v) {
    if (v == "true") return true;
    if (v == "false") return false;
    int number = 0;
    if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos && v.size() < 10 &&
        std::from_chars(v.data(), v.data() + v.size(), number).ec == std::errc())
        return number;
    return v;
}

}  // namespace

Provisioner::Provisioner(Session& session, const TemplateSet& templates, DockerProbe& docker)
    : m_session(session), m_templates(templates), m_docker(docker) {}

Result<std::string> Provisioner::daemon_json(const std::string& rendered, const EngineConfig& engine,
                                             std::vector<std::string>& warnings) {
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(rendered, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return fail("the daemon.json template does not render to a JSON object", "check --templates-dir");
    auto set = [&](const std::string& key, const nlohmann::json& value, const std::string& flag) {
        if (auto why = weakening_reason(key); !why.empty())
            warnings.push_back(flag + " weakens the hardening: " + why);
        j[key] = value;
    };
    if (!engine.labels.empty()) set("labels", engine.labels, "--engine-label");
    if (!engine.insecure_registries.empty())
        set("insecure-registries", engine.insecure_registries, "--engine-insecure-registry");
    if (!engine.registry_mirrors.empty()) set("registry-mirrors", engine.registry_mirrors, "--engine-registry-mirror");
    if (!engine.storage_driver.empty()) set("storage-driver", engine.storage_driver, "--engine-storage-driver");
    std::map<std::string, std::vector<nlohmann::json>> opts;
    std::vector<std::pair<std::string, std::string>> order;  // key, the flag that gave it first
    // Validated at create; checked again here for records made before the policy (an owned key
    // is refused, a weakening one in --engine-opt is applied with a warning, as it was then).
    for (const auto* list : {&engine.opts, &engine.insecure_opts}) {
        for (const auto& text : *list) {
            const std::string flag = list == &engine.opts ? "--engine-opt" : "--insecure-engine-opt";
            auto opt = parse_engine_opt(text, flag);
            if (!opt) return std::unexpected(opt.error());
            if (!opts.contains(opt->key)) order.emplace_back(opt->key, flag);
            opts[opt->key].push_back(parse_option_value(opt->value));
        }
    }
    for (const auto& [key, flag] : order) {
        const auto& values = opts[key];
        const bool list = values.size() > 1 || (j.contains(key) && j[key].is_array());
        set(key, list ? nlohmann::json(values) : values.front(), flag + " " + key);
    }
    // journald bounds its own size; a file log driver chosen with --engine-opt gets berth's
    // rotation unless log-opts were given too.
    if (j.contains("log-driver") && (j["log-driver"] == "json-file" || j["log-driver"] == "local") &&
        !opts.contains("log-opts"))
        j["log-opts"] = {{"max-size", "10m"}, {"max-file", "3"}};
    // One key per line keeps diffs readable and "hosts" on one line.
    std::string out = "{\n";
    size_t i = 0;
    for (auto it = j.begin(); it != j.end(); ++it, ++i) {
        out += "  " + nlohmann::json(it.key()).dump() + ": " + it.value().dump() + (i + 1 < j.size() ? ",\n" : "\n");
    }
    return out + "}\n";
}

Result<ProvisionReport> Provisioner::run(const ProvisionRequest& req) {
    m_progress = {};
    if (auto ok = run_steps(req, m_progress); !ok) return std::unexpected(ok.error());
    return m_progress;
}

Result<void> Provisioner::run_steps(const ProvisionRequest& req, ProvisionReport& report) {
    auto phase_start = std::chrono::steady_clock::now();
    auto lap = [&](const std::string& phase) {
        auto now = std::chrono::steady_clock::now();
        report.timings.emplace_back(phase, std::chrono::duration<double>(now - phase_start).count());
        phase_start = now;
    };
    const std::string& m = req.machine;
    if (auto ok = check_install(req.engine); !ok) return std::unexpected(ok.error());
    if (auto ok = check_saved_engine(m, req.engine); !ok) return std::unexpected(ok.error());
    spdlog::info("[{}] Reading the host's state...", m);
    progress_step("facts");
    auto facts = read_facts(req);
    if (!facts) return std::unexpected(facts.error());
    auto os = supported_os(*facts);
    if (!os) return std::unexpected(os.error());
    if (auto ok = check_saved_engine(m, req.engine, os->family); !ok) return std::unexpected(ok.error());
    if (auto ok = check_apt_proxy_host(req.engine, *os, m); !ok) return std::unexpected(ok.error());
    report.os = *os;

    Changes changes;
    PackagesStep(os->family, req.engine, req.upgrade).apply(*facts, changes);
    std::vector<std::string> written_early;  // the files the install reads (apt's proxy)
    if (!changes.install_script.empty()) {
        report.installed = changes.installed;  // before: a failed install may have done part of it
        auto early = write_pre_install_files(req, *facts, os->family);
        if (!early) return std::unexpected(early.error());
        written_early = *early;
        if (auto ok = install_packages(req, changes); !ok) return std::unexpected(ok.error());
        lap("packages");
        // Paths and versions changed: read the state again (one more command, only after an install).
        facts = read_facts(req);
        if (!facts) return std::unexpected(facts.error());
    }
    if (facts->dockerd.empty())
        return fail("dockerd is not on " + m + " after installing " + package_names(os->family, req.engine).front(),
                    "check the host's package sources, then run `berth provision " + m + "`");

    auto plan = make_plan(m_templates, *facts, req, os->family);
    if (!plan) return std::unexpected(plan.error());
    report.warnings = plan->warnings;
    report.digests = plan->digests;
    for (const auto& w : report.warnings) spdlog::warn("{}: {}", m, w);
    changes.docker_active = facts->unit_active("docker");
    for (const auto& step : plan->steps) step->apply(*facts, changes);

    progress_step("hardening");
    if (auto ok = write_files(req, changes); !ok) return std::unexpected(ok.error());
    report.changed = written_early;
    report.changed.insert(report.changed.end(), changes.changed.begin(), changes.changed.end());
    lap("hardening");
    report.restarted = changes.restarted();  // before: a failed apply may have done part of it
    progress_step("restart");
    auto restarted = apply_changes(req, changes);
    if (!restarted) return std::unexpected(restarted.error());
    report.restarted = *restarted;
    lap("restarts");
    progress_step("verify");
    if (auto ok = verify(req, os->family != OsFamily::Debian, report); !ok) return std::unexpected(ok.error());
    lap("verify");
    return {};
}

Result<CheckReport> Provisioner::check(const ProvisionRequest& req) {
    if (auto ok = check_install(req.engine); !ok) return std::unexpected(ok.error());
    if (auto ok = check_saved_engine(req.machine, req.engine); !ok) return std::unexpected(ok.error());
    spdlog::info("[{}] Reading the host's state...", req.machine);
    auto facts = read_facts(req);
    if (!facts) return std::unexpected(facts.error());
    auto os = supported_os(*facts);
    if (!os) return std::unexpected(os.error());
    if (auto ok = check_apt_proxy_host(req.engine, *os, req.machine); !ok) return std::unexpected(ok.error());
    CheckReport report;
    report.os = *os;
    const PackagesStep packages(os->family, req.engine, req.upgrade);
    report.steps.push_back({packages.name(), packages.check(*facts)});
    auto plan = make_plan(m_templates, *facts, req, os->family);
    if (!plan) return std::unexpected(plan.error());
    for (const auto& step : plan->steps) report.steps.push_back({step->name(), step->check(*facts)});
    report.digests = plan->digests;
    report.warnings = plan->warnings;
    return report;
}

bool CheckReport::clean() const {
    return std::all_of(steps.begin(), steps.end(), [](const StepDrift& s) { return s.drift.empty(); });
}

Result<Facts> Provisioner::read_facts(const ProvisionRequest& req) {
    auto out = remote_step(m_session, req.machine, "reading the host's state", facts_script(all_packages(req.engine)));
    if (!out) return std::unexpected(out.error());
    return parse_facts(out->out);
}

Result<void> Provisioner::install_packages(const ProvisionRequest& req, const Changes& changes) {
    const std::string what = join(changes.installed, ", ");
    // At most --package-parallel installs at once across the fleet: one mirror is not hammered.
    struct Slot {
        std::counting_semaphore<>* gate;
        ~Slot() {
            if (gate) gate->release();
        }
    } slot{nullptr};
    if (req.package_gate) {
        progress_step("packages (waiting)");
        req.package_gate->acquire();
        slot.gate = req.package_gate.get();
    }
    progress_step("packages");
    spdlog::info("[{}] Installing {}...", req.machine, what);
    // apt's status lines on stdout become the step's progress bar (download, then install).
    AptStatusReader status;
    auto ok = remote_step(m_session, req.machine, "installing " + what, changes.install_script, std::chrono::seconds(1800),
                          [&status](std::string_view chunk) { status.feed(chunk); });
    if (!ok) return std::unexpected(ok.error());
    return {};
}

// The files the package install reads (apt's proxy), uploaded right before it when they differ
// from the facts, with the upload write_files makes; the plan's step then finds them in place.
Result<std::vector<std::string>> Provisioner::write_pre_install_files(const ProvisionRequest& req,
                                                                      const Facts& facts, OsFamily family) {
    auto files = render_pre_install_files(m_templates, req, family);
    if (!files) return std::unexpected(files.error());
    Changes differ;
    PackageConfigStep(*files).apply(facts, differ);
    if (auto ok = upload_files(req.machine, differ.uploads); !ok) return std::unexpected(ok.error());
    std::vector<std::string> written;
    for (const auto& f : differ.uploads) written.push_back(f.path);
    return written;
}

// The "preparing the host" command (host name, subordinate ids, the directories the files go
// in), then every file that differs with one upload_all: one command whatever their number.
Result<void> Provisioner::write_files(const ProvisionRequest& req, const Changes& changes) {
    const std::string& m = req.machine;
    std::string prepare = changes.prepare;
    if (!changes.uploads.empty())
        prepare += "install -d -m 0755 /etc/docker /etc/systemd/system/docker.service.d /etc/audit/rules.d "
                   "/etc/ssh/sshd_config.d /etc/berth /usr/local/sbin && install -d -m 0700 " +
                   shell_quote(k_tls_dir) + "\n";
    if (!prepare.empty()) {
        auto ok = remote_step(m_session, m, "preparing the host", prepare);
        if (!ok) return std::unexpected(ok.error());
        // What the preparing command changed (host name, subordinate ids), for a failure report.
        for (const auto& c : changes.changed)
            if (std::none_of(changes.uploads.begin(), changes.uploads.end(),
                             [&](const ManagedFile& f) { return f.path == c; }))
                m_progress.changed.push_back(c);
    }
    if (changes.uploads.empty()) return {};
    spdlog::info("[{}] Hardening Docker, sshd, auditd and the firewall...", m);
    return upload_files(m, changes.uploads);
}

// `uploads` with one upload_all (one command whatever their number), each written one recorded
// in the progress report for a failure's account.
Result<void> Provisioner::upload_files(const std::string& m, const std::vector<ManagedFile>& uploads) {
    if (uploads.empty()) return {};
    std::vector<FileUpload> files;
    for (const auto& f : uploads) {
        spdlog::debug("{}writing {} ({})", log_prefix(m), f.path, mode_text(f.mode));
        files.push_back({f.path, f.content, f.mode, f.owner});
    }
    auto ok = m_session.upload_all(files);
    // Written: all of them, or those before the file that failed. When the error cannot tell
    // (the connection was lost while they were installed), every file is reported: any may be.
    std::size_t written = files.size();
    if (!ok)
        for (const auto& [key, value] : ok.error().context)
            if (key == k_files_written) std::from_chars(value.data(), value.data() + value.size(), written);
    written = std::min(written, files.size());
    for (std::size_t i = 0; i < written; ++i) m_progress.changed.push_back(files[i].path);
    return ok;
}

// The "applying the configuration" command: reload and restart only what changed.
Result<std::vector<std::string>> Provisioner::apply_changes(const ProvisionRequest& req, const Changes& changes) {
    const std::string apply = changes.apply_script();
    std::vector<std::string> restarted = changes.restarted();
    if (apply.empty()) return restarted;
    spdlog::info("[{}] Applying: {}", req.machine,
                 restarted.empty() ? std::string("service settings") : join(restarted, ", "));
    auto ok = remote_step(m_session, req.machine, "applying the configuration", "set -e\n" + apply,
                          std::chrono::seconds(300));
    if (!ok) return std::unexpected(changes.restart_docker ? with_docker_journal(m_session, ok.error()) : ok.error());
    return restarted;
}

// Verify through the Docker API over mutual TLS.
Result<void> Provisioner::verify(const ProvisionRequest& req, bool selinux, ProvisionReport& report) {
    const std::string& m = req.machine;
    spdlog::info("[{}] Verifying Docker through its API over mutual TLS...", m);
    if (auto ok = m_docker.wait_until_ready(std::chrono::seconds(120)); !ok)
        return std::unexpected(with_docker_journal(m_session, ok.error()));
    auto info = m_docker.info();
    if (!info) return std::unexpected(info.error());
    if (info->contains("SecurityOptions") && (*info)["SecurityOptions"].is_array())
        for (const auto& o : (*info)["SecurityOptions"])
            if (o.is_string()) report.security_options.push_back(o.get<std::string>());
    if (auto ok = check_security_options(*info, {"userns", "seccomp", selinux ? "selinux" : "apparmor"}); !ok) {
        Error e = ok.error();
        e.message = "Docker on " + m + " failed the hardening check: " + e.message;
        return std::unexpected(e);
    }
    auto version = m_docker.version();
    if (!version) return std::unexpected(version.error());
    report.docker_version = version->value("Version", "");
    return {};
}

}  // namespace berth
