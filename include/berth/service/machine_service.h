#pragma once
/// What the verbs call: create, open, list, provision and remove machines. It ties the Store, the
/// driver table, PKI and the provisioner together through its Ports; the CLI only parses, calls
/// one of these and formats the result. Every call returns what it did (a report); the service
/// keeps no state between calls, so one MachineService serves several machines at once (one
/// thread each: the fleet's parallel create). Work on one machine holds that machine's lock.

#include <berth/core/error.h>
#include <berth/driver/driver.h>
#include <berth/provision/provisioner.h>
#include <berth/service/machine_settings.h>
#include <berth/service/cert_expiry.h>
#include <berth/service/ports.h>
#include <berth/store/machine_record.h>

#include <memory>
#include <semaphore>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace berth {

/// How to reach and provision a machine over SSH.
struct ProvisionOptions {
    std::string replace_host_key;  ///< "SHA256:...": pin the host key with this fingerprint ("" = only pinned keys)
    std::optional<std::filesystem::path> templates_dir;  ///< override the machine's recorded one
    std::chrono::seconds ssh_timeout{120};      ///< how long to keep trying to connect
    /// --authz-policy FILE: berth-authz's policy from now on (copied into the store); "default"
    /// goes back to berth's own. Empty: keep the machine's.
    std::optional<std::filesystem::path> authz_policy;
    std::string authz_owner_role;  ///< --authz-owner-role restricted|admin ("" = keep the machine's)
    /// Package installs at once across machines (berth apply); null: no cap. Not saved.
    std::shared_ptr<std::counting_semaphore<>> package_gate;
    /// berth apply: the machine's engine settings from now on (saved before the provision).
    std::optional<EngineConfig> engine;
};

/// A per-user client certificate create issues from the new CA before the first provision, so the
/// host's first policy already gives the CN its role (user_certs.h; a spec's `users:` row).
struct CreateUser {
    std::string cn;                   ///< validate_user_cn()
    std::string role = "restricted";  ///< restricted | admin
    int days = 0;                     ///< 0 = --tls-cert-days
};

struct CreateRequest {
    std::string name;
    std::string driver;
    OptionValues driver_flags;               ///< only the driver options given as flags
    EngineConfig engine;                     ///< --engine-*, saved in the record as given
    ProvisionOptions provision;
    std::vector<std::string> tls_sans;       ///< extra server certificate SANs
    std::string tls_key_type = "ecdsa-p256";
    int tls_ca_days = 1826;
    int tls_cert_days = 730;
    /// berth apply: the fleet the machine belongs to, saved with the first ("creating") record,
    /// so an apply that is interrupted finds the half-made machines of its fleet.
    FleetMembership fleet;
    std::vector<CreateUser> users;           ///< per-user certificates (`berth certs issue`), issued at create
};

/// `berth set`: what a change of a made machine's settings asks for. Driver settings (memory,
/// CPUs) take effect when the VM next starts; engine settings are written by a provision.
struct SetRequest {
    std::string name;
    /// Driver name -> the settable options given for it (--<driver>-memory ...); only the
    /// machine's own driver may have any.
    std::map<std::string, OptionValues> driver_flags;
    EngineEdits engine;
    /// Stop and start the machine when a driver change needs it (it runs), and start a stopped
    /// machine whose engine settings change. Without it such a set changes nothing and says so.
    bool restart = false;
    ProvisionOptions provision;
};

struct SetReport {
    std::vector<std::string> driver_changes;  ///< "memory: 2048 -> 4096 MiB"
    std::vector<std::string> engine_changes;  ///< describe_engine_change()
    bool restarted = false;      ///< stopped and started for the driver changes (or started)
    bool at_next_start = false;  ///< the machine is stopped: the driver changes apply when it starts
    std::optional<ProvisionReport> provision;  ///< the provision that wrote the engine settings
    [[nodiscard]] bool nothing() const { return driver_changes.empty() && engine_changes.empty(); }
};

/// `berth import`: one machine of a docker-machine store taken over.
struct ImportRequest {
    std::filesystem::path from;  ///< the docker-machine store (docker_machine_store.h)
    std::string name;            ///< the machine's name there, and in berth's store
    bool provision = false;      ///< harden it at once: a CA of its own, then the plan
    ProvisionOptions options;    ///< for that provision
};

/// What an import did.
struct ImportReport {
    MachineRecord record;                      ///< as saved (imported.hardened after a provision)
    std::vector<std::string> ignored;          ///< docker-machine settings berth did not carry over
    std::optional<ProvisionReport> provision;  ///< with ImportRequest::provision
};

/// Phase -> seconds, in the order the phases ran ("machine", "ssh", "packages", ...).
using Timings = std::vector<std::pair<std::string, double>>;

/// What a create did.
struct CreateReport {
    MachineRecord record;                    ///< as saved, status Ready
    Timings timings;
    std::optional<ProvisionReport> provision;  ///< the first provision; none for hosts berth does not reach
    /// Remote commands the first provision ran over its one SSH connection (0: none).
    [[nodiscard]] int remote_commands() const { return provision ? provision->remote_commands : 0; }
};

/// A machine's record with its driver, loaded and ready to ask.
struct Machine {
    MachineRecord record;
    std::unique_ptr<Driver> driver;
};

/// One row of `ls`: the machine, or why it could not be read, and its live state.
struct MachineListing {
    std::string name;
    std::optional<Machine> machine;  ///< empty when the record could not be read
    std::optional<Error> error;      ///< why not, or the state query's error
    MachineState state = MachineState::Error;
};

/// Where the docker CLI reaches a machine: what `env` and `config` print.
struct DockerEndpoint {
    std::string url;                   ///< tcp://HOST:PORT
    std::filesystem::path cert_dir;    ///< holds ca.pem, cert.pem, key.pem
    DockerTls tls;
};

class MachineService {
public:
    explicit MachineService(Ports ports);

    /// Makes a machine: validates everything first (Usage errors), takes the machine's lock,
    /// refuses an existing name, runs the driver's pre-create check (PrecreateCheck), saves the
    /// record as "creating", creates, issues the certificates, provisions and saves it "ready". A
    /// failure after the first save removes what was made; nothing is left half-made.
    [[nodiscard]] Result<CreateReport> create(const CreateRequest& request) const;
    /// Every check create makes before it takes the machine's lock (name, driver and its options,
    /// TLS, engine settings, templates, authz policy), making and locking nothing: what a fleet
    /// spec runs on each machine (CreateValidator). Usage errors as create's.
    [[nodiscard]] Result<void> validate_create(const CreateRequest& request) const;

    /// Takes over a machine of a docker-machine store: reads and checks its config.json, key
    /// and certificates (nothing in that store is changed), refuses a name berth has, then copies
    /// the key (0600) and certificates into the store and saves the record last, "imported", not
    /// hardened (docker-machine's CA kept, so `env` works as before); a failure leaves nothing.
    /// With `provision`, then provision() as `berth provision` runs it.
    [[nodiscard]] Result<ImportReport> import_machine(const ImportRequest& request) const;

    /// Loads a machine's record and its driver.
    [[nodiscard]] Result<Machine> open(std::string_view name) const;

    /// Every machine, in natural name order, with states asked per driver in one batch.
    [[nodiscard]] Result<std::vector<MachineListing>> list() const;

    /// Removes what the driver made, then the machine's directory. With `force`, a driver
    /// failure or an unreadable record is a warning and the local files go anyway.
    /// Returns the driver's note on what it left in place ("" if none).
    [[nodiscard]] Result<std::string> remove(std::string_view name, bool force) const;

    /// Runs the provisioning plan again over one SSH connection (host key must match the pinned
    /// one unless options.replace_host_key names its fingerprint), verifies through the Docker API and records the result.
    [[nodiscard]] Result<ProvisionReport> provision(std::string_view name, const ProvisionOptions& options,
                                                    bool upgrade = false) const;

    /// The check-only provision (the facts command only: nothing changes on the host, the same
    /// run `berth audit` starts with): the names of the plan's steps that drifted, empty when the
    /// host matches. nullopt for a machine berth does not reach over SSH (none driver): nothing
    /// to check. Takes no lock (it reads).
    [[nodiscard]] Result<std::optional<std::vector<std::string>>> drift(std::string_view name,
                                                                        const ProvisionOptions& options = {}) const;

    /// Records the machine's fleet membership (berth apply, after a successful create or
    /// provision of a spec's machine), under the machine's lock.
    [[nodiscard]] Result<void> set_fleet(std::string_view name, const FleetMembership& fleet) const;
    /// Records the machine's place in its fleet's swarm (berth apply's swarm phase), under the
    /// machine's lock: the role and peers the firewall opens the swarm ports to, and the
    /// owner's `swarm-owner` role (AuthzConfig::owner_swarm) when it is in a swarm. The next
    /// provision writes both; an empty membership takes them away.
    [[nodiscard]] Result<void> set_swarm(std::string_view name, const SwarmMembership& swarm) const;

    /// Makes anew the certificates `renew` names, from the machine's CA; renew.ca makes a new CA
    /// first (and so a new server and client certificate), which cuts off every certificate issued
    /// from the old one, per-user ones too. A new CA or server certificate is then installed by a
    /// provision, which replaces only the TLS files and restarts dockerd (live-restore keeps
    /// containers running); a new client certificate alone changes nothing on the host and needs
    /// no SSH. `tls_sans`: the extra SANs (--tls-san) the new server certificate carries from now
    /// on (berth apply, when a spec's tls-san changed); none: the recorded ones. Returns the
    /// provision's report; none when nothing was installed on a host (a client certificate only,
    /// or a host berth does not reach: the none driver).
    [[nodiscard]] Result<std::optional<ProvisionReport>> regenerate_certs(
        std::string_view name, const CertRenewal& renew, const ProvisionOptions& options,
        const std::optional<std::vector<std::string>>& tls_sans = std::nullopt) const;

    /// `berth set`: checks every change first (flags of the machine's driver only, values as
    /// create checks them) and changes nothing when one is bad, or when a change needs a stop and
    /// start that request.restart does not allow (a Conflict error that says so). Then, under
    /// the machine's lock: the driver's settings into the VM's definition (stopping and starting
    /// it with restart), and the engine settings through a provision, which rewrites only what
    /// differs. Nothing to change is not an error (report.nothing()).
    [[nodiscard]] Result<SetReport> set(const SetRequest& request) const;

    enum class Power { Start, Stop, Restart, Kill };
    /// One lifecycle call under the machine's lock. After start and restart, a machine whose
    /// address is no longer in its server certificate gets a new one from its CA, installed over
    /// SSH (docker-machine left users with an x509 error after an address change).
    [[nodiscard]] Result<void> power(std::string_view name, Power action, const ProvisionOptions& options = {}) const;

    /// Where the docker CLI reaches a running, ready machine, with its client files checked.
    [[nodiscard]] Result<DockerEndpoint> docker_endpoint(Machine& machine) const;
    /// The machine's SSH target for OpenSSH's client, with its pinned host key (berth ssh, scp).
    [[nodiscard]] Result<SshTarget> ssh_target(std::string_view name) const;
    /// The argv of OpenSSH's `ssh` that logs into the machine (or runs `command` there) with its
    /// key and its pinned host key only.
    [[nodiscard]] Result<std::vector<std::string>> ssh_argv(std::string_view name,
                                                            const std::vector<std::string>& command) const;
    /// An OpenSSH client config block "Host NAME" that reaches the machine with its key and its
    /// pinned host key only (UserKnownHostsFile, HostKeyAlias, StrictHostKeyChecking yes): for
    /// `ssh -F`, an ~/.ssh/config include, VS Code Remote. Paths are quoted with '%' doubled.
    [[nodiscard]] Result<std::string> ssh_config(std::string_view name) const;
    struct CopyOptions {
        bool recursive = false;
        bool delta = false;  ///< rsync instead of scp: only what differs is sent (berth scp -d)
    };
    /// Copies with OpenSSH's `scp` (through the Runner, on the user's terminal): NAME:PATH is a
    /// path on machine NAME, each machine reached through a private ssh_config of this copy
    /// (removed afterwards) with its own key and pinned host key; between two machines through
    /// this host (-3). With `delta`, rsync (-s -t, over `ssh -F` that same config) between this
    /// host and one machine. Fails when no path names a machine, or when scp or rsync fails.
    [[nodiscard]] Result<void> copy(const std::vector<std::string>& paths, const CopyOptions& options) const;

    [[nodiscard]] const Store& store() const { return *m_ports.store; }
    [[nodiscard]] const Ports& ports() const { return m_ports; }

private:
    [[nodiscard]] Result<std::unique_ptr<Driver>> make_driver(
        const DriverInfo& info, std::string_view name,
        const std::optional<std::filesystem::path>& templates_dir) const;
    [[nodiscard]] Result<void> issue_certificates(MachineRecord& record, Driver& driver) const;
    [[nodiscard]] Result<ProvisionReport> provision_locked(Machine& machine, const ProvisionOptions& options,
                                                           bool first_contact, bool upgrade) const;
    /// --authz-policy and --authz-owner-role of `options` into the machine's record and store
    /// (the policy's copy written atomically, 0600), checked against what the machine has.
    [[nodiscard]] Result<void> apply_authz_options(MachineRecord& record, const ProvisionOptions& options,
                                                   const std::optional<std::string>& policy) const;
    [[nodiscard]] DriverContext context_for(std::string_view name,
                                            const std::optional<std::filesystem::path>& templates_dir) const;
    /// The machine's lock; NotFound (and no lock file left) when there is no such machine.
    [[nodiscard]] Result<FileLock> lock_existing(std::string_view name) const;
    /// A machine opened for a change: its name checked, its lock held while this lives.
    struct Locked {
        FileLock lock;
        Machine machine;
    };
    [[nodiscard]] Result<Locked> open_locked(std::string_view name) const;
    /// The provision of an imported machine berth has not hardened: a CA of its own replaces
    /// docker-machine's first (put back if the provision fails before it changed the host).
    [[nodiscard]] Result<ProvisionReport> provision_imported(Machine& machine, const ProvisionOptions& options,
                                                             bool upgrade) const;
    /// A new server certificate from the machine's CA, for its current addresses.
    [[nodiscard]] Result<void> reissue_server_cert(Machine& machine) const;
    /// set()'s driver part: the change into the VM's definition, stopping and starting it when
    /// `running` (the caller has checked that restart allows it).
    [[nodiscard]] Result<void> change_driver_settings(Machine& machine, const OptionValues& values, bool running,
                                                      bool start, SetReport& report,
                                                      const ProvisionOptions& options) const;
    /// A new client certificate (certs/cert.pem, key.pem) from the machine's CA, same CN.
    [[nodiscard]] Result<void> reissue_client_cert(MachineRecord& record) const;
    /// After a start: a new certificate if the address moved, else a wait for the Docker API.
    [[nodiscard]] Result<void> after_start(Machine& machine, const ProvisionOptions& options) const;

    struct Prepared;
    /// validate_create's checks, with what they made ready (the configured driver, ...) but no lock.
    [[nodiscard]] Result<Prepared> check_create(const CreateRequest& request) const;
    /// Everything create checks before it makes anything.
    [[nodiscard]] Result<Prepared> prepare_create(const CreateRequest& request) const;
    /// The record create saves first, as "creating".
    [[nodiscard]] MachineRecord new_record(const CreateRequest& request, const Prepared& prepared) const;
    /// The driver's create, the certificates and the first provision, into `report`.
    [[nodiscard]] Result<void> make_machine(const CreateRequest& request, Prepared& prepared,
                                            CreateReport& report) const;
    /// make_machine, with an escaping exception turned into an "internal error" Error.
    [[nodiscard]] Result<void> make_machine_guarded(const CreateRequest& request, Prepared& prepared,
                                                    CreateReport& report) const;
    /// After a failed make_machine: the driver removes what it made, then the local files go.
    [[nodiscard]] Error roll_back(const CreateRequest& request, Prepared& prepared, MachineRecord& record,
                                  Error error) const;

    Ports m_ports;
};

}  // namespace berth
