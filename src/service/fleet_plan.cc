// The plan of `berth apply` (docs/fleet.md "The plan"): each spec machine's desired settings as
// canonical JSON, keyed by the spec's own key names, compared with what the record kept from the
// last apply. A difference a provision applies is a change; one only a new machine can carry
// (the driver, its options, the certificates' key type, validity and names) is a replace.

#include <berth/service/fleet_plan.h>

#include <berth/core/digest.h>
#include <berth/core/escape.h>
#include <berth/store/store.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace berth {

std::string_view plan_symbol(PlanAction action) {
    switch (action) {
        case PlanAction::Create: return "+";
        case PlanAction::Change: return "~";
        case PlanAction::Replace: return "-/+";
        case PlanAction::Remove: return "-";
        case PlanAction::Unchanged: return "=";
        case PlanAction::Conflict: return "!";
    }
    return "?";
}

int FleetPlan::count(PlanAction action) const {
    return static_cast<int>(
        std::count_if(entries.begin(), entries.end(), [action](const PlanEntry& e) { return e.action == action; }));
}

namespace {

/// "default", or "sha256:HEX" of the policy file's content ("unreadable:PATH" when it cannot be
/// read: a later read that works then counts as a change).
std::string policy_digest(const ProvisionOptions& options) {
    if (!options.authz_policy || *options.authz_policy == "default") return "default";
    std::ifstream in(*options.authz_policy, std::ios::binary);
    if (!in) return "unreadable:" + options.authz_policy->string();
    std::ostringstream buf;
    buf << in.rdbuf();
    return "sha256:" + sha256_hex(buf.str());
}

/// The keys whose change only a new machine can carry; everything else a provision applies
/// (tls-san: a new server certificate from the machine's CA, then a provision).
bool needs_replace(const std::string& key) {
    static const std::set<std::string> keys = {"driver", "tls-key-type", "tls-ca-days", "tls-cert-days"};
    return keys.contains(key) || key.starts_with("driver-option ");
}

std::string show(const nlohmann::json& value) {
    if (value.is_null()) return "(none)";
    if (value.is_string()) return value.get<std::string>().empty() ? "\"\"" : value.get<std::string>();
    if (value.is_array()) {
        std::string out = "[";
        for (const auto& item : value) out += (out.size() > 1 ? ", " : "") + show(item);
        return out + "]";
    }
    return value.dump();
}

/// The settings as one flat map: the driver's options become "driver-option NAME".
std::map<std::string, nlohmann::json> flatten(const nlohmann::json& desired) {
    std::map<std::string, nlohmann::json> out;
    if (!desired.is_object()) return out;
    for (const auto& [key, value] : desired.items()) {
        if (key != "driver-options" || !value.is_object()) {
            out[key] = value;
            continue;
        }
        for (const auto& [option, v] : value.items()) out["driver-option " + option] = v;
    }
    return out;
}

struct Differences {
    std::vector<std::string> replace;  ///< "driver: libvirt -> none"
    std::vector<std::string> change;
};

Differences differences(const nlohmann::json& stored, const nlohmann::json& wanted) {
    auto before = flatten(stored);
    auto after = flatten(wanted);
    std::set<std::string> keys;
    for (const auto& [k, v] : before) keys.insert(k);
    for (const auto& [k, v] : after) keys.insert(k);
    Differences out;
    for (const auto& key : keys) {
        const nlohmann::json a = before.contains(key) ? before[key] : nlohmann::json();
        const nlohmann::json b = after.contains(key) ? after[key] : nlohmann::json();
        if (a == b) continue;
        const std::string name = key.starts_with("driver-option ") ? key.substr(14) : key;
        (needs_replace(key) ? out.replace : out.change).push_back(name + ": " + show(a) + " -> " + show(b));
    }
    return out;
}

/// The entry of one machine that is in the store.
PlanEntry existing(const FleetSpec& spec, const FleetMachineSpec& machine, const StoredMachine& stored,
                   const PlanOptions& options) {
    PlanEntry entry{machine.name, PlanAction::Conflict, {}, machine};
    if (!stored.record) {
        entry.reasons.push_back("its record cannot be read: " + stored.error);
        return entry;
    }
    const MachineRecord& record = *stored.record;
    if (record.fleet.fleet != spec.fleet) {
        entry.reasons.push_back(record.fleet.empty() ? "a machine of this name exists outside the fleet"
                                                     : "it belongs to fleet \"" + record.fleet.fleet + "\"");
        return entry;
    }
    if (record.status == MachineStatus::Creating) {
        entry.reasons.push_back("its status is creating (a create is running, or was cut off: `berth rm " +
                                machine.name + "` and apply again)");
        return entry;
    }
    Differences diff;
    if (record.fleet.desired.is_object() && !record.fleet.desired.empty())
        diff = differences(record.fleet.desired, desired_json(machine));
    else
        diff.change.push_back("desired settings not recorded");
    if (!diff.replace.empty()) {
        entry.action = options.recreate ? PlanAction::Replace : PlanAction::Conflict;
        entry.reasons = diff.replace;
        entry.reasons.insert(entry.reasons.end(), diff.change.begin(), diff.change.end());
        if (!options.recreate) entry.reasons.push_back("a provision cannot change this: apply --recreate replaces the machine");
        return entry;
    }
    entry.reasons = diff.change;
    if (record.status == MachineStatus::Error)
        entry.reasons.push_back("status: error" + (record.last_error.empty() ? "" : " (" + record.last_error + ")"));
    if (stored.drift)
        for (const auto& step : *stored.drift) entry.reasons.push_back("drift: " + step);
    entry.action = entry.reasons.empty() ? PlanAction::Unchanged : PlanAction::Change;
    return entry;
}

}  // namespace

nlohmann::json desired_json(const FleetMachineSpec& machine) {
    const CreateRequest& r = machine.request;
    nlohmann::json options = nlohmann::json::object();
    for (const auto& [name, values] : r.driver_flags) options[name] = values;
    const EngineConfig& e = r.engine;
    const ProvisionOptions& p = r.provision;
    nlohmann::json desired = {
        {"driver", r.driver},
        {"driver-options", options},
        {"engine-install", e.install},
        {"engine-version", e.version},
        {"engine-opt", e.opts},
        {"insecure-engine-opt", e.insecure_opts},
        {"engine-label", e.labels},
        {"engine-insecure-registry", e.insecure_registries},
        {"engine-registry-mirror", e.registry_mirrors},
        {"engine-storage-driver", e.storage_driver},
        {"engine-env", e.env},
        {"tls-key-type", r.tls_key_type},
        {"tls-ca-days", r.tls_ca_days},
        {"tls-cert-days", r.tls_cert_days},
        {"tls-san", r.tls_sans},
        {"templates-dir", p.templates_dir ? p.templates_dir->string() : std::string()},
        {"authz-policy", policy_digest(p)},
        {"authz-owner-role", p.authz_owner_role.empty() ? std::string("restricted") : p.authz_owner_role},
        {"user", machine.user},
        {"user-role", machine.user.empty() ? std::string() : machine.user_role},
        {"context", machine.context},
    };
    // Only when given, so that the settings recorded before the key compare equal.
    if (!e.apt_proxy.empty()) desired["engine-apt-proxy"] = e.apt_proxy;
    return desired;
}

FleetPlan make_plan(const FleetSpec& spec, const std::vector<StoredMachine>& stored, const PlanOptions& options) {
    std::map<std::string, const StoredMachine*> by_name;
    for (const auto& s : stored) by_name[s.name] = &s;
    FleetPlan plan;
    std::set<std::string> named;
    for (const auto& machine : spec.machines) {
        named.insert(machine.name);
        auto it = by_name.find(machine.name);
        if (it == by_name.end()) {
            plan.entries.push_back({machine.name, PlanAction::Create, {}, machine});
            continue;
        }
        plan.entries.push_back(existing(spec, machine, *it->second, options));
    }
    std::vector<std::string> gone;
    for (const auto& s : stored)
        if (s.record && !named.contains(s.name) && !spec.fleet.empty() && s.record->fleet.fleet == spec.fleet)
            gone.push_back(s.name);
    std::sort(gone.begin(), gone.end(), [](const auto& a, const auto& b) { return natural_less(a, b); });
    for (const auto& name : gone) {
        if (options.prune)
            plan.entries.push_back({name, PlanAction::Remove, {"no longer in the spec"}, std::nullopt});
        else
            plan.entries.push_back({name, PlanAction::Unchanged, {"no longer in the spec; kept (--prune removes it)"},
                                    std::nullopt});
    }
    return plan;
}

std::string format_plan(const FleetPlan& plan) {
    std::size_t width = 0;
    for (const auto& e : plan.entries) width = std::max(width, terminal_text(e.name).size());
    std::string out;
    for (const auto& e : plan.entries) {
        std::string symbol(plan_symbol(e.action));
        std::string name = terminal_text(e.name);
        std::string what;
        switch (e.action) {
            case PlanAction::Create: what = "create (" + (e.desired ? e.desired->request.driver : "") + ")"; break;
            case PlanAction::Change: what = "change"; break;
            case PlanAction::Replace: what = "replace"; break;
            case PlanAction::Remove: what = "remove"; break;
            case PlanAction::Unchanged: what = "unchanged"; break;
            case PlanAction::Conflict: what = "conflict"; break;
        }
        out += symbol + std::string(4 - symbol.size(), ' ') + name + std::string(width - name.size() + 2, ' ') +
               terminal_text(what) + "\n";
        for (const auto& reason : e.reasons) out += "        " + terminal_text(reason) + "\n";
    }
    out += "Plan: " + std::to_string(plan.count(PlanAction::Create)) + " to create, " +
           std::to_string(plan.count(PlanAction::Change)) + " to change, ";
    if (int n = plan.count(PlanAction::Replace); n > 0) out += std::to_string(n) + " to replace, ";
    out += std::to_string(plan.count(PlanAction::Remove)) + " to remove, " +
           std::to_string(plan.count(PlanAction::Unchanged)) + " unchanged";
    if (int n = plan.count(PlanAction::Conflict); n > 0)
        out += ", " + std::to_string(n) + (n == 1 ? " conflict" : " conflicts");
    return out + ".\n";
}

}  // namespace berth
