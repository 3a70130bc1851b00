#pragma once
/// A machine's record, machines/<name>/machine.json. Versioned: a record written by a newer
/// berth (higher schema_version) is refused, never misread. Holds no secrets: keys live in files
/// beside it.

#include <berth/core/error.h>
#include <berth/store/authz_config.h>
#include <berth/store/engine_config.h>
#include <berth/store/swarm_config.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace berth {

/// Where the machine is in its life, as berth last recorded it (not the VM's live state).
enum class MachineStatus {
    Creating,  ///< saved before anything was made; a crash leaves this for `rm` to clean up
    Ready,     ///< created (and provisioned, for drivers that provision)
    Error,     ///< a step failed; last_error says which
};

[[nodiscard]] std::string_view to_string(MachineStatus status);


/// What the last provision wrote and saw.
struct ProvisionState {
    std::string templates_dir;                   ///< --templates-dir given at create ("" = embedded)
    std::string provisioned_at;                  ///< RFC 3339
    std::string os;                              ///< "debian 12"
    std::map<std::string, std::string> digests;  ///< path on the host -> sha256 of berth's content
    std::vector<std::string> security_options;   ///< as /info reported them
    std::string host_key;                        ///< "SHA256:..." of the pinned SSH host key
};

struct TlsSettings {
    std::string key_type = "ecdsa-p256";
    std::vector<std::string> sans;    ///< SANs of the current server certificate
    std::vector<std::string> extra_sans;  ///< from --tls-san, kept for re-issues
    int ca_days = 1826;
    int leaf_days = 730;
    std::string ca_fingerprint;       ///< SHA-256 of the CA certificate
    std::string server_not_after;     ///< RFC 3339
    std::string client_not_after;
    /// A new CA or server certificate is in the store but no provision has installed it on the
    /// host yet (the host was down): `regenerate-certs --if-expiring` installs it on its next run.
    /// JSON "install_pending", only when true.
    bool install_pending = false;
};

/// The fleet a machine belongs to (`berth apply`): JSON "fleet", only for machines an apply made.
struct FleetMembership {
    std::string fleet;         ///< the spec's `fleet:` label; "" = not in a fleet
    std::string group;         ///< the spec group that names the machine
    std::string spec_file;     ///< the spec file's path when last applied (for messages only)
    /// The machine's desired settings as the spec gave them (fleet_plan.h desired_json): what the
    /// next apply compares against to decide create, change or unchanged.
    nlohmann::json desired = nlohmann::json::object();
    [[nodiscard]] bool empty() const { return fleet.empty(); }
};

/// One per-person client certificate issued from the machine's CA (`berth certs issue`): JSON
/// "users". Its key and certificate live in machines/NAME/users/CN/ (0600).
struct UserCert {
    std::string cn;            ///< the certificate's CN: what berth-authz sees as the user
    std::string role = "restricted";  ///< the role the machine's policy gives this CN
    std::string serial;        ///< upper-case hex, no separators, as berth-authz compares it
    std::string not_after;     ///< RFC 3339
    std::string issued_at;     ///< RFC 3339
    bool revoked = false;      ///< berth-authz refuses this serial (policy `revoked:`)
};

/// Where a machine came from when berth adopted it (`berth import` from a docker-machine store):
/// JSON "imported", only when set (older readers ignore it). `hardened` is false until a berth
/// provision gives the machine a CA of its own and its hardening; until then `ls` and `audit` say so.
struct ImportedFrom {
    std::string tool;         ///< "docker-machine"
    std::string from;         ///< the source store's machine directory (for messages only)
    std::string imported_at;  ///< RFC 3339
    bool hardened = false;    ///< true once `berth provision` replaced docker-machine's TLS and hardened it
    [[nodiscard]] bool empty() const { return tool.empty(); }
    /// Imported and not yet hardened by berth: docker-machine's certificates and host setup.
    [[nodiscard]] bool not_hardened() const { return !empty() && !hardened; }
};

struct MachineRecord {
    /// 2: the docker CLI's files moved into the machine's certs/ (store.h); schema 1 still loads.
    static constexpr int k_schema_version = 2;

    int schema_version = k_schema_version;
    std::string name;
    std::string driver_name;
    MachineStatus status = MachineStatus::Creating;
    std::string created_at;  ///< RFC 3339, UTC
    std::string last_error;  ///< "" unless status is Error
    nlohmann::json driver = nlohmann::json::object();  ///< the driver's own saved settings
    EngineConfig engine;     ///< JSON "engine" (its pin as "version_pin")
    std::string docker_version;  ///< seen at the last provision ("" unknown); JSON "engine"."version"
    TlsSettings tls;
    ProvisionState provision;
    AuthzConfig authz;       ///< JSON "authz", only when not the default (older readers ignore it)
    FleetMembership fleet;   ///< JSON "fleet", only when set
    std::vector<UserCert> users;  ///< JSON "users", only when not empty; revoked ones stay listed
    SwarmMembership swarm;   ///< JSON "swarm", only when set
    ImportedFrom imported;   ///< JSON "imported", only when set (`berth import`)

    [[nodiscard]] nlohmann::json to_json() const;
    /// `origin` names the file in messages. Refuses schema_version > k_schema_version.
    [[nodiscard]] static Result<MachineRecord> from_json(const nlohmann::json& j,
                                                         const std::string& origin);
};

/// A time as RFC 3339 UTC with seconds ("2026-11-23T19:30:00Z").
[[nodiscard]] std::string rfc3339(std::chrono::system_clock::time_point t);
/// Now, as rfc3339().
[[nodiscard]] std::string now_rfc3339();

}  // namespace berth
