#pragma once
// The rules on a container's HostConfig, an update's resources and a local volume's options
// (internal to the authz area; evaluate.cc routes requests to them).

#include <berth/authz/policy.h>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace berth::authz {

/// Thrown by the readers below on a field of an unexpected type; evaluate() refuses the request
/// under `malformed` with `why`. It never leaves the authz area.
struct Malformed {
    std::string why;
};

struct Finding {
    Rule rule;
    std::string what;  ///< as the docker CLI flag
};

/// What a request asks for that some rule refuses, in the order found, for one role (its
/// allow-list decides bind mounts).
class Findings {
public:
    explicit Findings(const Role& role) : m_role(role) {}
    void add(Rule rule, std::string what) { m_list.push_back({rule, std::move(what)}); }
    [[nodiscard]] const Role& role() const { return m_role; }
    /// The first finding whose rule the role does not waive, or nullptr.
    [[nodiscard]] const Finding* first_refusal() const;

private:
    const Role& m_role;
    std::vector<Finding> m_list;
};

/// A JSON member read as the type dockerd decodes it into; absent or null is the zero value.
/// Throws Malformed on another type. `where` names the object in the message ("HostConfig").
[[nodiscard]] bool read_bool(const nlohmann::json& object, std::string_view name, std::string_view where);
[[nodiscard]] std::string read_string(const nlohmann::json& object, std::string_view name, std::string_view where);
[[nodiscard]] std::vector<std::string> read_strings(const nlohmann::json& object, std::string_view name,
                                                    std::string_view where);
/// An array or object member (nullptr when absent or null).
[[nodiscard]] const nlohmann::json* read_array(const nlohmann::json& object, std::string_view name, std::string_view where);
[[nodiscard]] const nlohmann::json* read_object(const nlohmann::json& object, std::string_view name, std::string_view where);

/// Every HostConfig rule on `host_config` (a create body's HostConfig, or the body itself: dockerd
/// still reads HostConfig fields at the top level of a create body).
void check_host_config(const nlohmann::json& host_config, std::string_view where, Findings& findings);
/// Devices, DeviceCgroupRules and DeviceRequests (a HostConfig, or an update's resources).
void check_devices(const nlohmann::json& resources, std::string_view where, Findings& findings);
/// The options of a volume of `driver` ("" is local): a local bind or a device mount.
void check_volume_options(std::string_view driver, const nlohmann::json* options, std::string_view what,
                          Findings& findings);

}  // namespace berth::authz
