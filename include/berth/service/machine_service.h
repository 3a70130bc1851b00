#pragma once
/// What the verbs call: create, open, list and remove machines. It ties the Store, the driver
/// table and PKI together; the CLI only parses, calls one of these and formats the result.

#include <berth/core/environment.h>
#include <berth/core/error.h>
#include <berth/driver/driver.h>
#include <berth/service/driver_table.h>
#include <berth/process/runner.h>
#include <berth/provision/provisioner.h>
#include <berth/store/store.h>
#include <berth/transport/libssh_session.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace berth {

/// How to reach and provision a machine over SSH.
struct ProvisionOptions {
    bool replace_host_key = false;              ///< accept a changed SSH host key and pin it
    std::optional<std::filesystem::path> templates_dir;  ///< override the machine's recorded one
    std::chrono::seconds ssh_timeout{120};      ///< how long to keep trying to connect
};

struct CreateRequest {
    std::string name;
    std::string driver;
    OptionValues driver_flags;               ///< only the driver options given as flags
    EngineOptions engine;                    ///< --engine-* (labels also in engine_labels)
    ProvisionOptions provision;
    std::vector<std::string> engine_labels;  ///< "key=value"
    std::vector<std::string> tls_sans;       ///< extra server certificate SANs
    std::string tls_key_type = "ecdsa-p256";
    int tls_ca_days = 1826;
    int tls_cert_days = 730;
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

class MachineService {
public:
    /// `drivers` is the driver table (tests pass their own with fake drivers).
    MachineService(const Store& store, Runner& runner, GetEnv getenv = process_env(),
                   std::span<const DriverInfo> drivers = driver_table());

    /// Makes a machine: validates everything first (Usage errors), takes the machine's lock,
    /// refuses an existing name, runs the driver's pre-create check (PrecreateCheck), saves the
    /// record as "creating", creates, issues the certificates and saves it "ready". A failure
    /// after the first save removes what was made; nothing is left half-made.
    [[nodiscard]] Result<MachineRecord> create(const CreateRequest& request);

    /// Loads a machine's record and its driver.
    [[nodiscard]] Result<Machine> open(std::string_view name) const;

    /// Every machine, in natural name order, with states asked per driver in one batch.
    [[nodiscard]] Result<std::vector<MachineListing>> list() const;

    /// Removes what the driver made, then the machine's directory. With `force`, a driver
    /// failure or an unreadable record is a warning and the local files go anyway.
    /// Returns the driver's note on what it left in place ("" if none).
    [[nodiscard]] Result<std::string> remove(std::string_view name, bool force);

    /// Runs the provisioning plan again over one SSH connection (host key must match the pinned
    /// one unless options.replace_host_key), verifies through the Docker API and records the result.
    [[nodiscard]] Result<ProvisionReport> provision(std::string_view name, const ProvisionOptions& options,
                                                    bool upgrade = false);

    /// New server certificate from the machine's CA (with `client_certs`: a new CA and client
    /// certificate too, which invalidates the old client certificate), then a provision, which
    /// replaces only the TLS files and restarts dockerd (live-restore keeps containers running).
    [[nodiscard]] Result<ProvisionReport> regenerate_certs(std::string_view name, bool client_certs,
                                                           const ProvisionOptions& options);

    enum class Power { Start, Stop, Restart, Kill };
    /// One lifecycle call under the machine's lock. After start and restart, a machine whose
    /// address is no longer in its server certificate gets a new one from its CA, installed over
    /// SSH (docker-machine left users with an x509 error after an address change).
    [[nodiscard]] Result<void> power(std::string_view name, Power action, const ProvisionOptions& options = {});

    /// Timings of the last create, for its closing line: phase -> seconds.
    [[nodiscard]] const std::vector<std::pair<std::string, double>>& timings() const { return m_timings; }
    /// Remote commands the last create's provision ran over its one SSH connection (0: none).
    [[nodiscard]] int remote_commands() const { return m_remote_commands; }

    [[nodiscard]] const Store& store() const { return m_store; }

private:
    [[nodiscard]] Result<std::unique_ptr<Driver>> make_driver(
        const DriverInfo& info, std::string_view name,
        const std::optional<std::filesystem::path>& templates_dir) const;
    [[nodiscard]] Result<void> issue_certificates(MachineRecord& record, Driver& driver) const;
    [[nodiscard]] Result<ProvisionReport> provision_locked(Machine& machine, const ProvisionOptions& options,
                                                           bool first_contact, bool upgrade);
    [[nodiscard]] DriverContext context_for(std::string_view name,
                                            const std::optional<std::filesystem::path>& templates_dir) const;
    /// The machine's lock; NotFound (and no lock file left) when there is no such machine.
    [[nodiscard]] Result<FileLock> lock_existing(std::string_view name) const;
    /// A new server certificate from the machine's CA, for its current addresses.
    [[nodiscard]] Result<void> reissue_server_cert(Machine& machine);

    const Store& m_store;
    Runner& m_runner;
    GetEnv m_getenv;
    std::span<const DriverInfo> m_drivers;
    std::vector<std::pair<std::string, double>> m_timings;
    int m_remote_commands = 0;
};

/// The connection berth makes to a machine's SSH endpoint: its key, its own known_hosts.
[[nodiscard]] SshTarget ssh_target_for(const Store& store, std::string_view machine, const SshEndpoint& endpoint);

}  // namespace berth
