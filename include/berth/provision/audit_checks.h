#pragma once
/// berth audit's checks: pure functions from what was read (the audit command's AuditHost, the
/// Docker API's answers, the check-only run's CheckReport) to results, one per check, named by
/// CIS Docker Benchmark 1.6.0 ids where one exists ("1.1.3", "2.12", "3.14", "5.4") and by
/// berth's own otherwise ("berth.drift", "berth.suid"). docs/hardening.md lists every check.

#include <berth/docker/docker_probe.h>
#include <berth/provision/audit_host.h>
#include <berth/provision/provisioner.h>

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

enum class AuditStatus { Pass, Warn, Info };

/// "PASS", "WARN", "INFO".
[[nodiscard]] std::string_view to_string(AuditStatus status);

struct AuditResult {
    std::string id;           ///< "2.12", "berth.drift"
    AuditStatus status = AuditStatus::Info;
    bool scored = true;       ///< a WARN of a scored check fails the audit
    std::string title;        ///< what is checked, one line
    std::string detail;       ///< what was found
    std::string remediation;  ///< what to do when it is not PASS, one line
};

/// What the Docker API told the audit.
struct AuditApi {
    nlohmann::json info = nlohmann::json::object();  ///< GET /info
    std::vector<nlohmann::json> containers;          ///< inspect objects of the running containers
    std::optional<ApiAnswer> probe;                  ///< the authorization probe's answer
    std::string probe_error;                         ///< why there is none
    std::string anonymous_error;  ///< "" when the daemon refuses a client without a certificate
};

/// Everything one audit of one machine read.
struct AuditInput {
    AuditHost host;
    AuditApi api;
    std::optional<CheckReport> check;                     ///< Provisioner::check()
    std::map<std::string, std::string> recorded_digests;  ///< what the record says berth wrote
};

/// The absolute host paths the containers bind-mount (Mounts of type bind), sorted, once each.
[[nodiscard]] std::vector<std::string> bind_sources(const std::vector<nlohmann::json>& containers);

/// 1.1.1 (own filesystem), 1.1.2 (docker group), 1.1.3-1.1.18 (audit rules).
[[nodiscard]] std::vector<AuditResult> host_checks(const AuditHost& host);
/// 2.2-2.18 from daemon.json, dockerd's command line and the live daemon.
[[nodiscard]] std::vector<AuditResult> daemon_checks(const AuditHost& host, const AuditApi& api);
/// 3.1-3.24: owner and mode of Docker's files.
[[nodiscard]] std::vector<AuditResult> file_checks(const AuditHost& host);
/// berth.drift: each step of the check-only run, and the record's digests.
[[nodiscard]] std::vector<AuditResult> drift_checks(const CheckReport& check,
                                                    const std::map<std::string, std::string>& recorded);
/// 5.4, 5.5, 5.9, 5.15, 5.16, 5.20, 5.30, 5.31 over the running containers.
[[nodiscard]] std::vector<AuditResult> runtime_checks(const std::vector<nlohmann::json>& containers);
/// berth.suid: SUID/SGID files and file capabilities in the bind-mounted directories.
[[nodiscard]] AuditResult suid_check(const AuditHost& host, const std::vector<std::string>& sources);

/// Every check above, in that order.
[[nodiscard]] std::vector<AuditResult> evaluate_audit(const AuditInput& input);

/// True when no scored check is WARN.
[[nodiscard]] bool audit_passed(const std::vector<AuditResult>& results);

}  // namespace berth
