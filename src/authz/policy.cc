#include <berth/authz/policy.h>

#include <yaml-cpp/yaml.h>

#include <exception>
#include <set>
#include <utility>

namespace berth::authz {
namespace {

constexpr std::array<std::string_view, k_rule_count> k_rule_names = {
    "privileged", "exec_privileged", "cap_add",   "security_opt", "userns_host",
    "host_namespaces", "devices",    "bind_mounts", "docker_socket", "sysctls",
    "plugins",    "build_network_host", "swarm",  "revoked", "malformed",
};

const char* const k_default_allow = "/srv/berth";

// The position of a node, 1-based, for messages; yaml-cpp marks are 0-based (-1 when unknown).
std::string where(std::string_view origin, const YAML::Mark& mark) {
    std::string out(origin);
    if (mark.line >= 0) out += ":" + std::to_string(mark.line + 1);
    return out;
}

struct Failure {
    std::string text;
};

class Reader {
public:
    explicit Reader(std::string_view origin) : m_origin(origin) {}

    [[noreturn]] void fail(const YAML::Node& at, const std::string& what) const {
        throw Failure{where(m_origin, at.Mark()) + ": " + what};
    }

    std::string scalar(const YAML::Node& node, const std::string& what) const {
        if (!node.IsScalar()) fail(node, what + " must be a single value (a string)");
        return node.Scalar();
    }

    // Each key of `map` once, and only those in `known`.
    void check_keys(const YAML::Node& map, const std::string& what,
                    std::initializer_list<std::string_view> known) const {
        std::set<std::string, std::less<>> seen;
        for (const auto& item : map) {
            const std::string key = scalar(item.first, "a key of " + what);
            if (!seen.insert(key).second) fail(item.first, "duplicate key \"" + key + "\" in " + what);
            bool ok = false;
            for (auto k : known) ok = ok || key == k;
            if (ok) continue;
            std::string list;
            for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
            fail(item.first, "unknown key \"" + key + "\" in " + what + " (known keys: " + list + ")");
        }
    }

    Role role(const std::string& name, const YAML::Node& node) const {
        if (!node.IsMap()) fail(node, "role \"" + name + "\" must be a map with waive and bind_allow");
        check_keys(node, "role \"" + name + "\"", {"waive", "bind_allow"});
        Role role;
        role.name = name;
        read_waive(role, node["waive"]);
        role.bind_allow = {k_default_allow};
        if (auto allow = node["bind_allow"]) read_allow(role, allow);
        return role;
    }

    void read_waive(Role& role, const YAML::Node& node) const {
        if (!node || node.IsNull()) return;
        if (node.IsScalar() && node.Scalar() == "all") {
            role.waived.fill(true);
            role.waived[static_cast<std::size_t>(Rule::malformed)] = false;
            role.waived[static_cast<std::size_t>(Rule::revoked)] = false;
            return;
        }
        if (!node.IsSequence()) fail(node, "waive of role \"" + role.name + "\" must be `all` or a list of rule names");
        for (const auto& item : node) {
            const std::string name = scalar(item, "a rule name");
            auto rule = rule_from_name(name);
            if (rule == Rule::malformed)
                fail(item, "the rule malformed (a request that cannot be read) cannot be waived");
            if (rule == Rule::revoked)
                fail(item, "the rule revoked (a revoked client certificate) cannot be waived");
            if (!rule) {
                std::string list;
                for (std::size_t i = 0; i < static_cast<std::size_t>(Rule::revoked); ++i)
                    list += (i ? ", " : "") + std::string(k_rule_names[i]);
                fail(item, "unknown rule \"" + name + "\" (rules: " + list + ")");
            }
            role.waived[static_cast<std::size_t>(*rule)] = true;
        }
    }

    void read_allow(Role& role, const YAML::Node& node) const {
        if (!node.IsSequence())
            fail(node, "bind_allow of role \"" + role.name + "\" must be a list of absolute paths ([] for none)");
        role.bind_allow.clear();
        for (const auto& item : node) {
            const std::string path = scalar(item, "a bind_allow path");
            if (!path.starts_with('/'))
                fail(item, "bind_allow path \"" + path + "\" of role \"" + role.name + "\" is not absolute");
            if (path.find('\0') != std::string::npos) fail(item, "bind_allow path holds a NUL byte");
            role.bind_allow.push_back(path);
        }
    }

    void read_roles(Policy& policy, const YAML::Node& root) const {
        auto node = root["roles"];
        if (!node) fail(root, "the policy has no roles");
        if (!node.IsMap() || node.size() == 0) fail(node, "roles must be a map of role names to roles");
        for (const auto& item : node) {
            const std::string name = scalar(item.first, "a role name");
            if (name.empty()) fail(item.first, "a role name is empty");
            if (policy.roles.contains(name)) fail(item.first, "role \"" + name + "\" is defined twice");
            policy.roles.emplace(name, role(name, item.second));
        }
    }

    std::string role_name(const Policy& policy, const YAML::Node& node, const std::string& what) const {
        const std::string name = scalar(node, what);
        if (!policy.roles.contains(name)) fail(node, what + " names the unknown role \"" + name + "\"");
        return name;
    }

    void read_users(Policy& policy, const YAML::Node& node) const {
        if (!node || node.IsNull()) return;
        if (!node.IsMap()) fail(node, "users must be a map of certificate CNs to role names");
        std::set<std::string, std::less<>> seen;
        for (const auto& item : node) {
            const std::string cn = scalar(item.first, "a user's CN");
            if (!seen.insert(cn).second) fail(item.first, "user \"" + cn + "\" is listed twice");
            policy.users.emplace(cn, role_name(policy, item.second, "user \"" + cn + "\""));
        }
    }

    Policy policy(const YAML::Node& root) const {
        if (!root.IsMap()) fail(root, "the policy must be a YAML map (version, default_role, roles, users)");
        check_keys(root, "the policy", {"version", "default_role", "roles", "users"});
        Policy policy;
        auto version = root["version"];
        if (!version) fail(root, "the policy has no version (write `version: 1`)");
        if (scalar(version, "version") != "1") fail(version, "unsupported policy version (this berth-authz reads version 1)");
        read_roles(policy, root);
        auto def = root["default_role"];
        if (!def) fail(root, "the policy has no default_role (the role of CNs not listed under users)");
        policy.default_role = role_name(policy, def, "default_role");
        read_users(policy, root["users"]);
        return policy;
    }

    std::set<std::string, std::less<>> revoked(const YAML::Node& root) const {
        if (!root.IsMap()) fail(root, "the revocation list must be a YAML map (version, revoked)");
        check_keys(root, "the revocation list", {"version", "revoked"});
        auto version = root["version"];
        if (!version || scalar(version, "version") != "1")
            fail(version ? version : root, "the revocation list needs `version: 1`");
        std::set<std::string, std::less<>> out;
        auto list = root["revoked"];
        if (!list || list.IsNull()) return out;
        if (!list.IsSequence()) fail(list, "revoked must be a list of {serial, user}");
        for (const auto& item : list) {
            if (!item.IsMap()) fail(item, "an entry of revoked must be a map with serial and user");
            check_keys(item, "an entry of revoked", {"serial", "user"});
            if (!item["serial"]) fail(item, "an entry of revoked has no serial");
            std::string serial = scalar(item["serial"], "serial");
            for (char& c : serial) {
                if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
                if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
                    fail(item["serial"], "serial \"" + serial + "\" is not hexadecimal");
            }
            if (serial.empty() || serial.size() > 64) fail(item["serial"], "a serial is 1 to 64 hex digits");
            out.insert(std::move(serial));
        }
        return out;
    }

private:
    std::string_view m_origin;
};

// Runs `read` on the YAML in `text`, turning every failure into "origin:line: what".
template <typename Read>
auto read_yaml(std::string_view text, std::string_view origin, const char* what, Read read)
    -> std::expected<decltype(read(std::declval<Reader&>(), YAML::Node())), std::string> {
    try {
        Reader reader(origin);
        return read(reader, YAML::Load(std::string(text)));
    } catch (const Failure& f) {
        return std::unexpected(f.text);
    } catch (const YAML::Exception& e) {
        return std::unexpected(where(origin, e.mark) + ": not valid YAML: " + e.msg);
    } catch (const std::exception& e) {
        return std::unexpected(std::string(origin) + ": cannot read the " + what + ": " + e.what());
    } catch (...) {
        return std::unexpected(std::string(origin) + ": cannot read the " + what);
    }
}

}  // namespace

std::string_view rule_name(Rule rule) {
    const auto i = static_cast<std::size_t>(rule);
    return i < k_rule_count ? k_rule_names[i] : "unknown";
}

std::optional<Rule> rule_from_name(std::string_view name) {
    for (std::size_t i = 0; i < k_rule_count; ++i)
        if (k_rule_names[i] == name) return static_cast<Rule>(i);
    return std::nullopt;
}

const Role& Policy::role_for(std::string_view user) const {
    static const Role k_waives_nothing{"(no such role)", {}, {}};  // a Policy not made by parse_policy
    auto it = users.find(user);
    auto role = roles.find(it == users.end() ? std::string_view(default_role) : std::string_view(it->second));
    return role == roles.end() ? k_waives_nothing : role->second;
}

std::expected<Policy, std::string> parse_policy(std::string_view text, std::string_view origin) {
    return read_yaml(text, origin, "policy", [](Reader& r, const YAML::Node& root) { return r.policy(root); });
}

std::expected<std::set<std::string, std::less<>>, std::string> parse_revoked(std::string_view text,
                                                                             std::string_view origin) {
    return read_yaml(text, origin, "revocation list",
                     [](Reader& r, const YAML::Node& root) { return r.revoked(root); });
}

}  // namespace berth::authz
