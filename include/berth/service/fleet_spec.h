#pragma once
/// A fleet spec (`berth apply -f FILE`), read with yaml-cpp: which machines a fleet has and how
/// each is made, as the CreateRequest `berth create` would build from flags. docs/fleet.md is the
/// full reference. In short:
///
///     version: 1
///     fleet: course-2027            # the fleet label every machine of this spec carries
///     parallel: 4                   # optional; default min(4, cores)
///     package-parallel: 2           # optional; package installs at once (one mirror)
///     bundles-dir: bundles          # optional; where apply writes each user's bundle
///     defaults:                     # any create flag by its name, without "--"
///       driver: libvirt
///       libvirt-memory: 2048
///       engine-opt: [log-level=warn]
///       context: true               # a docker context per machine (create --context)
///     groups:
///       - name: students
///         users: students.csv       # one machine per row; first row names the fields
///         pattern: "{user}-vm"      # {field} from the row
///         engine-label: ["student={user}"]
///       - name: pool
///         count: 3
///         pattern: "node-{01..03}"  # {A..B}: zero-padded as written
///         machines:                 # per-machine overrides
///           node-02: {libvirt-memory: 4096}
///     swarm:                        # optional: the fleet's machines are one Docker Swarm
///       managers: [node-01]         # default: the spec's first machine
///
/// Settings merge defaults -> group -> machine; a list given at a lower level replaces the one
/// above. Keys are create's flag names (`libvirt-cpu-count`, `engine-opt`, `tls-san`,
/// `authz-policy`, ...): the driver table is the one source of the driver keys, so a driver's
/// new option is a spec key with no change here. Relative paths (users CSV, templates-dir,
/// authz-policy, bundles-dir) are relative to the spec file.
///
/// Every error names the place: "fleet.yaml:12:5: unknown key \"cpu-count\" (did you mean
/// \"libvirt-cpu-count\"?)". Values go through create's own validators (MachineService::
/// validate_create) before anything is made; a name given twice is an error naming both places.

#include <berth/core/error.h>
#include <berth/service/machine_service.h>

#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace berth {

/// A place in the spec (or the users CSV), 1-based; line 0 = unknown.
struct SpecMark {
    std::string file;
    int line = 0;
    int column = 0;
    /// "fleet.yaml:12:5" ("fleet.yaml" when the line is unknown).
    [[nodiscard]] std::string str() const;
};

/// One machine as the spec wants it.
struct FleetMachineSpec {
    std::string name;
    std::string group;
    CreateRequest request;     ///< driver, driver_flags, engine, tls, provision (templates, authz)
    bool context = false;      ///< write a docker context named after the machine
    /// The CSV row's user (the `user-field` column, default "user"): apply issues a certificate
    /// with this CN from the machine's CA, with role `user_role`, and writes its bundle. "" = none.
    std::string user;
    std::string user_role = "restricted";
    std::map<std::string, std::string> fields;  ///< the CSV row, by column name (empty without users:)
    SpecMark mark;             ///< where the machine is named
};

/// `swarm:`: the fleet is one Docker Swarm (SwarmService). Every machine of the spec is a node;
/// `managers` are managers, the rest workers. Only drivers berth provisions over SSH can be
/// nodes (the firewall opens the swarm ports to the other nodes only).
struct FleetSwarmSpec {
    std::vector<std::string> managers;  ///< resolved: never empty (default the spec's first machine)
    SpecMark mark;
};

struct FleetSpec {
    std::filesystem::path file;  ///< as given
    int version = 1;
    std::string fleet;           ///< the fleet label (a machine name's syntax)
    int parallel = 0;            ///< 0 = default min(4, cores)
    int package_parallel = 0;    ///< 0 = default 2
    std::optional<std::filesystem::path> bundles_dir;  ///< absolute
    std::vector<FleetMachineSpec> machines;  ///< in spec order
    std::optional<FleetSwarmSpec> swarm;     ///< none: the fleet is no swarm
    /// The machine named `name`, or nullptr.
    [[nodiscard]] const FleetMachineSpec* find(std::string_view name) const;
    /// "manager" or "worker" for a machine of a swarm: spec ("" without swarm:).
    [[nodiscard]] std::string swarm_role(std::string_view name) const;
};

/// Checks one machine's request as create would, making nothing (MachineService::validate_create).
using CreateValidator = std::function<Result<void>(const CreateRequest&)>;

/// Parses spec text. `origin` names the file in messages and anchors relative paths. Usage
/// errors carry "FILE:LINE:COLUMN: " at the start of their message.
[[nodiscard]] Result<FleetSpec> parse_fleet_spec(std::string_view text, const std::filesystem::path& origin,
                                                 std::span<const DriverInfo> drivers,
                                                 const CreateValidator& validate);
/// Reads and parses a spec file (NotFound when missing).
[[nodiscard]] Result<FleetSpec> load_fleet_spec(const std::filesystem::path& file,
                                                std::span<const DriverInfo> drivers,
                                                const CreateValidator& validate);

/// The closest of `candidates` to `word` by edit distance, if close enough to suggest ("" if none).
[[nodiscard]] std::string did_you_mean(std::string_view word, std::span<const std::string> candidates);

}  // namespace berth
