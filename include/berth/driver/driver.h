#pragma once
/// A driver makes a machine exist and be reachable; it knows nothing about Docker's
/// configuration. Drivers declare CLI-neutral options; the core maps each to a flag
/// (--<driver>-<option>), an environment variable (BERTH_<DRIVER>_<OPTION>) and a YAML key.
/// Drivers are listed in one explicit table (driver_table.h); a driver is one folder in drivers/.

#include <berth/core/clock.h>
#include <berth/core/error.h>
#include <berth/process/runner.h>
#include <berth/store/file_lock.h>
#include <berth/transport/session.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace berth {

/// The live state of a machine, named as docker-machine names them.
enum class MachineState { None, Running, Paused, Saved, Stopped, Stopping, Starting, Error, Timeout };

[[nodiscard]] std::string_view to_string(MachineState state);

enum class OptionType { String, Int, Bool, StringList };

struct DriverOption {
    std::string name;           ///< "memory"; lower-case words joined by '-'
    std::string help;
    std::string default_value;  ///< "" for none
    OptionType type = OptionType::String;
    bool required = false;
    bool unprefixed = false;    ///< flag without the driver prefix (none's --url, as docker-machine)
    bool settable = false;      ///< `berth set` can change it on a made machine (at its next start)
};

/// Option values by option name; a list option may have several, the others one.
using OptionValues = std::map<std::string, std::vector<std::string>>;

/// "--libvirt-memory" (or "--url" for unprefixed options).
[[nodiscard]] std::string option_flag(std::string_view driver, const DriverOption& option);
/// "BERTH_LIBVIRT_MEMORY".
[[nodiscard]] std::string option_env_var(std::string_view driver, const DriverOption& option);

/// How to reach a machine's SSH server.
struct SshEndpoint {
    std::string host;
    int port = 22;
    std::string user;
    std::filesystem::path key_path;
};

/// Opens a Session to an endpoint with the machine's pinned host key (drivers that act through
/// SSH, like generic's stop and restart).
using SessionFactory = std::function<Result<std::unique_ptr<Session>>(const SshEndpoint&)>;

/// A VM image from berth's image cache (`berth image`), as files on this host.
struct ImageFiles {
    std::string name;                 ///< "debian-12"
    std::filesystem::path disk;       ///< qcow2
    std::string sha256;               ///< of the disk file: names the base volume it becomes
    std::filesystem::path kernel;     ///< for direct kernel boot ("" when the disk has a bootloader)
    std::filesystem::path initrd;
    std::string kernel_cmdline;       ///< with kernel: e.g. "root=/dev/vda rw console=ttyS0 net.ifnames=0"
};

/// Finds (and, where it can, fetches) an image by name, URL or path.
using ImageResolver = std::function<Result<ImageFiles>(std::string_view)>;

/// Takes the store-wide lock named `key` ("base-0123456789abcdef"), waiting for another berth
/// process that holds it; `what` names the work in messages.
using SharedLock = std::function<Result<FileLock>(std::string_view key, std::string_view what)>;

/// What a driver instance may use: the machine it is for and the collaborators it needs.
struct DriverContext {
    std::string machine;
    std::filesystem::path machine_dir;
    Runner* runner = nullptr;
    SessionFactory ssh;
    ImageResolver image;
    /// The machine's --templates-dir (from create, then its record): drivers that render
    /// templates (a domain XML, a cloud-init seed) load them with TemplateSet::load(templates_dir).
    std::optional<std::filesystem::path> templates_dir;
    /// Serialises work that machines share (uploading one base image) across berth processes:
    /// waits while another process holds `key`, and holds it until the FileLock goes.
    SharedLock shared_lock;
    /// The store's cache directory (<root>/cache): what a driver may keep to save work and can
    /// do without (the libvirt driver's records of verified volumes). "": nothing is kept.
    std::filesystem::path cache_dir;
    /// What waits read and sleep on; null: the process-wide SystemClock (driver_clock()).
    Clock* clock = nullptr;
};

/// The context's clock, or system_clock() when it has none.
[[nodiscard]] Clock& driver_clock(const DriverContext& ctx);

/// A machine another tool made that berth takes over (`berth import` from docker-machine).
struct AdoptedMachine {
    std::string vm_name;            ///< the hypervisor's name of the VM ("" for a host berth does not make)
    std::string address;            ///< where it was last reached (docker-machine's IPAddress)
    int ssh_port = 22;              ///< as the other tool recorded it
    std::filesystem::path ssh_key;  ///< the private key that logs in: copied, never moved
};

class Driver {
public:
    virtual ~Driver() = default;

    [[nodiscard]] virtual std::string_view name() const = 0;

    /// Takes the resolved option values at create time; a Usage error for a bad value.
    [[nodiscard]] virtual Result<void> configure(const OptionValues& values) = 0;
    /// Checks that create can work (tools present, hypervisor reachable...) before anything is
    /// made; its errors become exit code 3.
    [[nodiscard]] virtual Result<void> precreate_check() = 0;
    /// Makes the machine exist and run. Idempotent where it can be.
    [[nodiscard]] virtual Result<void> create() = 0;
    /// After configure() with the adopted machine's settings: takes over a machine that exists
    /// already (berth import): reads what it needs from the hypervisor, changes nothing there,
    /// and copies the SSH key into the machine's directory (0600). Default: a Usage error.
    [[nodiscard]] virtual Result<void> adopt(const AdoptedMachine& machine) {
        (void)machine;
        return fail_usage("the " + std::string(name()) + " driver cannot import machines");
    }

    [[nodiscard]] virtual Result<void> start() = 0;
    [[nodiscard]] virtual Result<void> stop() = 0;
    [[nodiscard]] virtual Result<void> restart() = 0;
    [[nodiscard]] virtual Result<void> kill() = 0;
    /// Removes what the driver made. Idempotent: removing a half-made or gone machine succeeds.
    [[nodiscard]] virtual Result<void> remove() = 0;
    /// Called once after create, when berth's first SSH connection to the machine was verified
    /// against the host key pinned before its first boot: detaches and deletes what only that boot
    /// needed (the cloud-init seed, which holds the VM's private host key). Default: nothing.
    [[nodiscard]] virtual Result<void> discard_seed() { return {}; }
    /// What `rm` leaves behind on purpose, for the user to read ("" when it removes everything).
    [[nodiscard]] virtual std::string removal_note() const { return ""; }
    /// False for a host that existed before berth (generic): a create that fails after changing
    /// it keeps the record and the pinned host key, and says what it changed, instead of
    /// forgetting a host it cannot undo.
    [[nodiscard]] virtual bool owns_host() const { return true; }

    [[nodiscard]] virtual Result<MachineState> state() = 0;
    /// The address the machine is reached at (IP or DNS name).
    [[nodiscard]] virtual Result<std::string> ip() = 0;
    /// tcp://HOST:PORT of the Docker daemon.
    [[nodiscard]] virtual Result<std::string> docker_url() = 0;
    /// The URL `ls` shows for a running machine, without an external call where the driver can
    /// (ls makes a constant number of calls per driver, whatever the number of machines). By
    /// default docker_url(); drivers whose docker_url() asks the hypervisor give the address the
    /// last docker_url()/ip() found.
    [[nodiscard]] virtual Result<std::string> listed_docker_url() { return docker_url(); }
    [[nodiscard]] virtual Result<SshEndpoint> ssh_endpoint() = 0;
    /// The ports sshd and dockerd listen on inside the machine, when the driver reaches them
    /// through forwarded ports (virtualbox's NAT: 127.0.0.1:41000 -> 22); nullopt when the ports
    /// of ssh_endpoint() and docker_url() are the machine's own.
    struct GuestPorts {
        int ssh = 22;
        int engine = 2376;
    };
    [[nodiscard]] virtual std::optional<GuestPorts> guest_ports() const { return std::nullopt; }
    /// Names and addresses the server certificate must carry (besides 127.0.0.1, localhost).
    [[nodiscard]] virtual std::vector<std::string> cert_sans() = 0;

    /// The driver's settings, stored in the record's "driver" object, and read back.
    [[nodiscard]] virtual nlohmann::json save() const = 0;
    [[nodiscard]] virtual Result<void> load(const nlohmann::json& saved) = 0;

    /// `berth set`: the settable options (DriverOption::settable) in `values`, checked as
    /// configure() checks them, and what they would change on this machine, one line each
    /// ("memory: 2048 -> 4096 MiB"); empty when the machine has them already. Changes nothing.
    /// Default: a Usage error, the driver has no settable options.
    [[nodiscard]] virtual Result<std::vector<std::string>> settings_change(const OptionValues& values) const;
    /// Writes them into the definition of the machine, which the caller has stopped, and into what
    /// save() returns; they take effect when it next starts. Default: as settings_change().
    [[nodiscard]] virtual Result<void> change_settings(const OptionValues& values);
};

/// One row of the driver table.
struct DriverInfo {
    std::string name;
    std::string description;
    std::vector<DriverOption> options;
    std::function<std::unique_ptr<Driver>(const DriverContext&)> make;
    /// States of many machines of this driver with one external call (ls stays O(1) per
    /// driver). Empty: the core asks each driver's state() in turn.
    std::function<std::vector<Result<MachineState>>(const std::vector<Driver*>&)> states;
    /// berth reaches the machine over SSH and provisions it (false: a host known only by its URL),
    /// so create needs berth-authz at hand before it makes anything.
    bool provisions = true;
};

/// `berth set`: a Usage error naming the first option in `values` that is not a settable one of
/// `options` (its --<driver>-<option> flag, and the flags that are settable).
[[nodiscard]] Result<void> check_settable(std::string_view driver, const std::vector<DriverOption>& options,
                                          const OptionValues& values);

/// The first value of option `name`, or `fallback` when it has none (or an empty one).
[[nodiscard]] std::string option_value(const OptionValues& values, const std::string& name,
                                       const std::string& fallback = {});
/// A Bool option given (as "true", "1" or "yes").
[[nodiscard]] bool option_flag_set(const OptionValues& values, const std::string& name);
/// A whole-number option from `min` to `max` (`fallback` when absent); otherwise a Usage error
/// naming --<driver>-<name> and the range, `unit` (" (MiB)") after it.
[[nodiscard]] Result<int> option_int(const OptionValues& values, std::string_view driver, const std::string& name,
                                     int fallback, int min, int max, const std::string& unit = {});

/// The option values for `info`: for each option, the values given on the command line, else
/// its environment variable (through `getenv`), else its default. A required option with no
/// value is a Usage error naming its flag and variable.
[[nodiscard]] Result<OptionValues> resolve_options(
    const DriverInfo& info, const OptionValues& from_flags,
    const std::function<std::optional<std::string>(const std::string&)>& getenv);

}  // namespace berth
