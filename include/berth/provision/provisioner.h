#pragma once
/// Turns a reachable host into a hardened Docker host, through one Session. The plan:
///   1. one facts command (facts.h): OS, packages, the digest/mode/owner of every file berth
///      manages, services, sshd's ports, which of Docker's paths exist;
///   2. the packages step (packages_step.h): docker.io or docker-ce, apparmor or SELinux, auditd,
///      nftables, installed if missing, after which the facts are read again. Before an install,
///      the files it reads (apt's proxy, --engine-apt-proxy: desired_files.h) are uploaded when
///      they differ;
///   3. the steps of the plan (plan.h), each checking its part of the desired state, rendered
///      from templates, against the facts: host name, subordinate ids, TLS files, daemon.json,
///      the dockerd drop-in, audit rules, sshd, the firewall, the docker service. Applying them
///      batches the changes (changes.h): one "preparing the host" command, one command that
///      installs all the files that differ (Session::upload_all), one "applying the
///      configuration" command that reloads or restarts only what changed;
///   4. the daemon is verified through the Docker API over mutual TLS (DockerProbe).
/// On a host that already matches, step 1 is the only remote command: nothing is uploaded and
/// nothing restarts. check() runs step 1 only and reports each step's drift.

#include <berth/core/error.h>
#include <berth/docker/docker_probe.h>
#include <berth/provision/changes.h>
#include <berth/provision/os_release.h>
#include <berth/store/authz_config.h>
#include <berth/store/engine_config.h>
#include <berth/store/machine_record.h>
#include <berth/store/swarm_config.h>
#include <berth/provision/step.h>
#include <berth/provision/templates.h>
#include <berth/transport/session.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <semaphore>
#include <string>
#include <vector>

namespace berth {


struct ProvisionRequest {
    std::string machine;
    std::string hostname;               ///< "" leaves the host name alone (generic hosts)
    EngineConfig engine;
    std::vector<int> ssh_ports;         ///< ports berth reaches sshd by, always let through
    std::string ca_pem;
    std::string server_cert_pem;
    std::string server_key_pem;
    bool upgrade = false;               ///< upgrade the Docker packages first (berth upgrade)
    AuthzConfig authz;                  ///< the owner's role in the default policy
    SwarmMembership swarm;              ///< the firewall opens the swarm ports to these peers only
    std::string authz_policy;           ///< a custom policy's text ("" = the default, from its template)
    std::string authz_owner_cn;         ///< the machine's client certificate CN (pki::client_common_name)
    std::string authz_binary;           ///< the berth-authz program (an ELF file) to install
    /// Package installs at once across machines (berth apply's --package-parallel): the
    /// packages step waits for a slot while it installs. Null: no cap.
    std::shared_ptr<std::counting_semaphore<>> package_gate;
    /// Per-user certificates (`berth certs`): the default policy gives each CN with a certificate
    /// that is not revoked its role; every revoked serial goes into the revocation list.
    std::vector<UserCert> authz_users;
};

struct ProvisionReport {
    OsInfo os;
    std::vector<std::string> installed;  ///< packages installed or upgraded
    std::vector<std::string> changed;    ///< files written (paths) and settings changed
    std::vector<std::string> restarted;  ///< services restarted or reloaded
    std::string docker_version;
    std::vector<std::string> security_options;
    std::map<std::string, std::string> digests;  ///< path -> sha256 of what berth manages there
    std::vector<std::string> warnings;
    std::vector<std::pair<std::string, double>> timings;  ///< phase -> seconds
    int remote_commands = 0;  ///< commands run on the host (all the files written count one)
};

/// One step's drift in a check-only run.
struct StepDrift {
    std::string step;  ///< Step::name()
    Drift drift;       ///< empty when the host matches
};

/// What a check-only run found: every step in plan order (packages first) with its drift.
struct CheckReport {
    OsInfo os;
    std::vector<StepDrift> steps;
    std::map<std::string, std::string> digests;  ///< path -> sha256 of what berth wants there
    std::vector<std::string> warnings;           ///< engine options that weaken the hardening

    /// True when no step drifted.
    [[nodiscard]] bool clean() const;
};

class Provisioner {
public:
    Provisioner(Session& session, const TemplateSet& templates, DockerProbe& docker);

    [[nodiscard]] Result<ProvisionReport> run(const ProvisionRequest& request);

    /// What the last run() did to the host, also when it failed: packages installed (or being
    /// installed when it failed), files written, services restarted (or being restarted). Empty
    /// lists: it changed nothing.
    [[nodiscard]] const ProvisionReport& progress() const { return m_progress; }

    /// The check-only run: the facts command and nothing else (no upload, no install, no
    /// restart, no Docker API call); the desired files are still rendered to compare their
    /// digests, modes and owners. Missing packages are reported, and the files compared with the
    /// facts as they are (an install would change them).
    [[nodiscard]] Result<CheckReport> check(const ProvisionRequest& request);

    /// daemon.json: the rendered template merged with the engine options; `warnings` gets a line
    /// for every option that weakens the hardening. One key per line, "hosts" on one line.
    [[nodiscard]] static Result<std::string> daemon_json(const std::string& rendered, const EngineConfig& engine,
                                                         std::vector<std::string>& warnings);

private:
    [[nodiscard]] Result<void> run_steps(const ProvisionRequest& request, ProvisionReport& report);
    [[nodiscard]] Result<Facts> read_facts(const ProvisionRequest& request);
    [[nodiscard]] Result<std::vector<std::string>> write_pre_install_files(const ProvisionRequest& request,
                                                                           const Facts& facts,
                                                                           OsFamily family);
    [[nodiscard]] Result<void> install_packages(const ProvisionRequest& request, const Changes& changes);
    [[nodiscard]] Result<void> write_files(const ProvisionRequest& request, const Changes& changes);
    [[nodiscard]] Result<void> upload_files(const std::string& machine, const std::vector<ManagedFile>& uploads);
    [[nodiscard]] Result<std::vector<std::string>> apply_changes(const ProvisionRequest& request,
                                                                 const Changes& changes);
    [[nodiscard]] Result<void> verify(const ProvisionRequest& request, bool selinux, ProvisionReport& report);

    Session& m_session;
    const TemplateSet& m_templates;
    DockerProbe& m_docker;
    ProvisionReport m_progress;
};

}  // namespace berth
