#include <berth/store/machine_record.h>

#include <cstdint>
#include <ctime>
#include <optional>

namespace berth {

std::string_view to_string(MachineStatus status) {
    switch (status) {
        case MachineStatus::Creating: return "creating";
        case MachineStatus::Ready: return "ready";
        case MachineStatus::Error: return "error";
    }
    return "error";
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
    std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string now_rfc3339() { return rfc3339(std::chrono::system_clock::now()); }

nlohmann::json MachineRecord::to_json() const {
    nlohmann::json j = {
        {"schema_version", schema_version},
        {"name", name},
        {"driver_name", driver_name},
        {"status", std::string(to_string(status))},
        {"created_at", created_at},
        {"last_error", last_error},
        {"driver", driver},
        {"engine",
         {{"port", engine.port},
          {"labels", engine.labels},
          {"version", docker_version},
          {"install", engine.install},
          {"version_pin", engine.version},
          {"opts", engine.opts},
          {"insecure_registries", engine.insecure_registries},
          {"registry_mirrors", engine.registry_mirrors},
          {"storage_driver", engine.storage_driver},
          {"env", engine.env}}},
        {"provision",
         {{"templates_dir", provision.templates_dir},
          {"provisioned_at", provision.provisioned_at},
          {"os", provision.os},
          {"digests", provision.digests},
          {"security_options", provision.security_options},
          {"host_key", provision.host_key}}},
        {"tls",
         {{"key_type", tls.key_type},
          {"sans", tls.sans},
          {"extra_sans", tls.extra_sans},
          {"ca_days", tls.ca_days},
          {"leaf_days", tls.leaf_days},
          {"ca_fingerprint", tls.ca_fingerprint},
          {"server_not_after", tls.server_not_after},
          {"client_not_after", tls.client_not_after}}},
    };
    // Only when given, so that records without it are written as before.
    if (tls.install_pending) j["tls"]["install_pending"] = true;
    if (!engine.insecure_opts.empty()) j["engine"]["insecure_opts"] = engine.insecure_opts;
    if (!engine.apt_proxy.empty()) j["engine"]["apt_proxy"] = engine.apt_proxy;
    if (!authz.is_default())
        j["authz"] = {{"owner_role", authz.owner_role}, {"custom_policy", authz.custom_policy},
                      {"owner_swarm", authz.owner_swarm}};
    if (!swarm.empty()) j["swarm"] = {{"role", swarm.role}, {"peers", swarm.peers}};
    if (!fleet.empty())
        j["fleet"] = {{"fleet", fleet.fleet}, {"group", fleet.group}, {"spec_file", fleet.spec_file},
                      {"desired", fleet.desired}};
    if (!imported.empty())
        j["imported"] = {{"tool", imported.tool}, {"from", imported.from}, {"imported_at", imported.imported_at},
                         {"hardened", imported.hardened}};
    if (!users.empty()) {
        auto& list = j["users"] = nlohmann::json::array();
        for (const auto& u : users)
            list.push_back({{"cn", u.cn}, {"role", u.role}, {"serial", u.serial}, {"not_after", u.not_after},
                            {"issued_at", u.issued_at}, {"revoked", u.revoked}});
    }
    return j;
}

/// The record's "tls" into `tls`.
static void read_tls(const nlohmann::json& t, TlsSettings& tls) {
    tls.key_type = t.value("key_type", "ecdsa-p256");
    tls.sans = t.value("sans", std::vector<std::string>{});
    tls.extra_sans = t.value("extra_sans", std::vector<std::string>{});
    tls.ca_days = t.value("ca_days", 1826);
    tls.leaf_days = t.value("leaf_days", 730);
    tls.ca_fingerprint = t.value("ca_fingerprint", "");
    tls.server_not_after = t.value("server_not_after", "");
    tls.client_not_after = t.value("client_not_after", "");
    tls.install_pending = t.value("install_pending", false);
}

/// The record's "users" into `out`; why it is damaged, or nothing.
static std::optional<std::string> read_users(const nlohmann::json& users, std::vector<UserCert>& out) {
    if (!users.is_array()) return "\"users\" is not a list";
    for (const auto& u : users) {
        UserCert c;
        c.cn = u.value("cn", "");
        c.role = u.value("role", "restricted");
        c.serial = u.value("serial", "");
        c.not_after = u.value("not_after", "");
        c.issued_at = u.value("issued_at", "");
        c.revoked = u.value("revoked", false);
        if (c.cn.empty()) return "a user certificate has no \"cn\"";
        out.push_back(std::move(c));
    }
    return std::nullopt;
}

/// The record's berth-authz, swarm and fleet parts (each optional); what is damaged, if anything.
static std::optional<std::string> read_authz_swarm_fleet(const nlohmann::json& j, MachineRecord& r) {
    if (j.contains("authz")) {
        const auto& a = j["authz"];
        r.authz.owner_role = a.value("owner_role", "restricted");
        r.authz.custom_policy = a.value("custom_policy", false);
        r.authz.owner_swarm = a.value("owner_swarm", false);
    }
    if (j.contains("swarm")) {
        const auto& s = j["swarm"];
        r.swarm.role = s.value("role", "");
        r.swarm.peers = s.value("peers", std::vector<std::string>{});
        if (!r.swarm.role.empty() && r.swarm.role != "manager" && r.swarm.role != "worker")
            return "swarm role \"" + r.swarm.role + "\" is neither manager nor worker";
    }
    if (j.contains("fleet")) {
        const auto& f = j["fleet"];
        r.fleet.fleet = f.value("fleet", "");
        r.fleet.group = f.value("group", "");
        r.fleet.spec_file = f.value("spec_file", "");
        if (f.contains("desired") && f["desired"].is_object()) r.fleet.desired = f["desired"];
    }
    if (j.contains("imported")) {
        const auto& i = j["imported"];
        r.imported.tool = i.value("tool", "");
        r.imported.from = i.value("from", "");
        r.imported.imported_at = i.value("imported_at", "");
        r.imported.hardened = i.value("hardened", false);
        if (r.imported.tool.empty()) return std::string("\"imported\" names no tool");
    }
    return std::nullopt;
}

Result<MachineRecord> MachineRecord::from_json(const nlohmann::json& j, const std::string& origin) {
    auto corrupt = [&](const std::string& why) {
        return fail("machine record " + origin + " is damaged: " + why,
                    "fix or remove the file, or remove the machine with `berth rm -f`");
    };
    if (!j.is_object()) return corrupt("not a JSON object");
    if (!j.contains("schema_version") || !j["schema_version"].is_number_integer())
        return corrupt("no schema_version");
    // Read at full width, never narrowed: an int would take 4294967297 for 1.
    const auto& schema = j["schema_version"];
    const std::int64_t version = schema.is_number_unsigned() && schema.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)
                                     ? INT64_MAX
                                     : schema.get<std::int64_t>();
    if (version > k_schema_version)
        return fail("machine record " + origin + " was written by a newer berth (schema " +
                        std::to_string(version) + "; this berth reads up to " +
                        std::to_string(k_schema_version) + ")",
                    "upgrade berth to use this machine");
    if (version < 1) return corrupt("schema_version " + std::to_string(version));
    try {
        MachineRecord r;
        r.schema_version = static_cast<int>(version);
        r.name = j.at("name").get<std::string>();
        r.driver_name = j.at("driver_name").get<std::string>();
        const std::string status = j.at("status").get<std::string>();
        if (status == "creating") r.status = MachineStatus::Creating;
        else if (status == "ready") r.status = MachineStatus::Ready;
        else if (status == "error") r.status = MachineStatus::Error;
        else return corrupt("unknown status \"" + status + "\"");
        r.created_at = j.value("created_at", "");
        r.last_error = j.value("last_error", "");
        r.driver = j.value("driver", nlohmann::json::object());
        if (j.contains("engine")) {
            const auto& e = j["engine"];
            r.engine.port = e.value("port", 2376);
            r.engine.labels = e.value("labels", std::vector<std::string>{});
            r.docker_version = e.value("version", "");
            r.engine.install = e.value("install", "docker.io");
            r.engine.version = e.value("version_pin", "");
            r.engine.opts = e.value("opts", std::vector<std::string>{});
            r.engine.insecure_opts = e.value("insecure_opts", std::vector<std::string>{});
            r.engine.insecure_registries = e.value("insecure_registries", std::vector<std::string>{});
            r.engine.registry_mirrors = e.value("registry_mirrors", std::vector<std::string>{});
            r.engine.storage_driver = e.value("storage_driver", "");
            r.engine.env = e.value("env", std::vector<std::string>{});
            r.engine.apt_proxy = e.value("apt_proxy", "");
        }
        if (j.contains("provision")) {
            const auto& p = j["provision"];
            r.provision.templates_dir = p.value("templates_dir", "");
            r.provision.provisioned_at = p.value("provisioned_at", "");
            r.provision.os = p.value("os", "");
            r.provision.digests = p.value("digests", std::map<std::string, std::string>{});
            r.provision.security_options = p.value("security_options", std::vector<std::string>{});
            r.provision.host_key = p.value("host_key", "");
        }
        if (auto why = read_authz_swarm_fleet(j, r)) return corrupt(*why);
        if (j.contains("users"))
            if (auto why = read_users(j["users"], r.users)) return corrupt(*why);
        if (j.contains("tls")) read_tls(j["tls"], r.tls);
        return r;
    } catch (const nlohmann::json::exception& e) {
        return corrupt(e.what());
    }
}

}  // namespace berth
