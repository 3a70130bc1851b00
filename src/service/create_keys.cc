#include <berth/service/create_keys.h>

#include <berth/provision/engine_checks.h>

#include <charconv>

namespace berth {
namespace {

Result<int> whole(const std::vector<std::string>& v) {
    int n = 0;
    const std::string& s = v.at(0);
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || end != s.data() + s.size()) return fail_usage("\"" + s + "\" is not a whole number");
    return n;
}

#define BERTH_LIST(field) [](CreateRequest& r, const std::vector<std::string>& v) -> Result<void> { r.field = v; return {}; }
#define BERTH_ONE(field) [](CreateRequest& r, const std::vector<std::string>& v) -> Result<void> { r.field = v.at(0); return {}; }
#define BERTH_INT(field)                                                          \
    [](CreateRequest& r, const std::vector<std::string>& v) -> Result<void> {     \
        auto n = whole(v);                                                        \
        if (!n) return std::unexpected(n.error());                                \
        r.field = *n;                                                             \
        return {};                                                                \
    }

Result<void> set_ssh_timeout(CreateRequest& r, const std::vector<std::string>& v) {
    auto n = whole(v);
    if (!n) return std::unexpected(n.error());
    if (*n < 1) return fail_usage("ssh-timeout must be at least 1 second");
    r.provision.ssh_timeout = std::chrono::seconds(*n);
    return {};
}

/// Checked here too, so that a spec's error names the value's place (create checks it again).
Result<void> set_apt_proxy(CreateRequest& r, const std::vector<std::string>& v) {
    if (auto ok = check_apt_proxy_url(v.at(0)); !ok) return ok;
    r.engine.apt_proxy = v.at(0);
    return {};
}

Result<void> set_templates_dir(CreateRequest& r, const std::vector<std::string>& v) {
    r.provision.templates_dir = v.at(0);
    return {};
}

Result<void> set_authz_policy(CreateRequest& r, const std::vector<std::string>& v) {
    r.provision.authz_policy = v.at(0);
    return {};
}

const std::vector<CreateKey>& table() {
    using T = OptionType;
    static const std::vector<CreateKey> keys = {
        {"engine-label", T::StringList, "Label for the Docker engine, key=value (repeatable)", false,
         BERTH_LIST(engine.labels)},
        {"tls-san", T::StringList,
         "Extra IP address or DNS name for the server certificate, no wildcard (repeatable)", false,
         BERTH_LIST(tls_sans)},
        {"tls-key-type", T::String, "Key type of the machine's CA and certificates", false, BERTH_ONE(tls_key_type)},
        {"tls-ca-days", T::Int, "Validity of the machine's CA, in days (at most 3650)", false, BERTH_INT(tls_ca_days)},
        {"tls-cert-days", T::Int, "Validity of the server and client certificates, in days (at most 825)", false,
         BERTH_INT(tls_cert_days)},
        {"engine-install", T::String,
         "Docker package: docker.io (the distribution's) or docker-ce (Docker's repository)", false,
         BERTH_ONE(engine.install)},
        {"engine-version", T::String,
         "Pin the Docker package to this version (a Debian or RPM package version, e.g. 20.10.24+dfsg1-1)", false,
         BERTH_ONE(engine.version)},
        {"engine-opt", T::StringList,
         "daemon.json setting KEY=VALUE (repeatable; hosts and tls* are refused, settings that weaken the "
         "hardening need --insecure-engine-opt)",
         false, BERTH_LIST(engine.opts)},
        {"insecure-engine-opt", T::StringList,
         "daemon.json setting KEY=VALUE that weakens the hardening, e.g. icc=true (repeatable; kept in the "
         "record, shown by ls and inspect; see docs/hardening.md)",
         false, BERTH_LIST(engine.insecure_opts)},
        {"engine-insecure-registry", T::StringList, "Registry reached without TLS (repeatable; weakens the hardening)",
         false, BERTH_LIST(engine.insecure_registries)},
        {"engine-registry-mirror", T::StringList, "Registry mirror URL (repeatable)", false,
         BERTH_LIST(engine.registry_mirrors)},
        {"engine-storage-driver", T::String, "Docker storage driver (default: Docker's)", false,
         BERTH_ONE(engine.storage_driver)},
        {"engine-env", T::StringList,
         "Environment variable KEY=VALUE for dockerd, kept in a root-only file (repeatable; no control characters)",
         false, BERTH_LIST(engine.env)},
        {"engine-apt-proxy", T::String,
         "apt proxy or mirror URL the machine's package downloads go through, e.g. http://apt-cache.lan:3142 "
         "(http:// or https://, no user:pass@; Debian and Ubuntu hosts only)",
         false, set_apt_proxy},
        {"templates-dir", T::String, "Directory of templates that replace berth's own (see templates/README.md)",
         true, set_templates_dir},
        {"ssh-timeout", T::Int, "Seconds to keep trying to reach the machine over SSH", false, set_ssh_timeout},
        {"authz-policy", T::String,
         "berth-authz policy FILE replacing the default (checked, kept in the store, replayed by every provision; "
         "\"default\" goes back to berth's own; see docs/hardening.md)",
         true, set_authz_policy},
        {"authz-owner-role", T::String,
         "Role of the machine's own client certificate in the default policy: restricted (default) or admin, "
         "which weakens the hardening (it may then do what berth-authz refuses)",
         false, BERTH_ONE(provision.authz_owner_role)},
    };
    return keys;
}

#undef BERTH_LIST
#undef BERTH_ONE
#undef BERTH_INT

}  // namespace

std::span<const CreateKey> create_keys() { return table(); }

const CreateKey* find_create_key(std::string_view name) {
    for (const auto& key : table())
        if (key.name == name) return &key;
    return nullptr;
}

std::string create_key_help(std::string_view name) {
    const CreateKey* key = find_create_key(name);
    return key ? key->help : std::string();
}

}  // namespace berth
