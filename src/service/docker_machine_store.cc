// docker-machine 0.16's store, read for `berth import`: config.json's fields as libmachine writes
// them (host.Host, drivers.BaseDriver, the generic and virtualbox drivers, auth.Options,
// engine.Options), each checked with berth's own rules.

#include <berth/service/docker_machine_store.h>

#include <berth/core/machine_name.h>
#include <berth/driver/user_name.h>
#include <berth/store/atomic_file.h>
#include <berth/store/store.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <map>

namespace berth {
namespace {

using Json = nlohmann::json;

/// What a machine's config.json failed on: its name, the field, what is wrong.
struct Fields {
    const Json& object;
    std::string where;  ///< "machines/web1/config.json: Driver"

    /// "machines/web1/config.json: Driver.SSHPort"
    std::string field(const std::string& key) const {
        return where + (where.ends_with(".json") ? ": " : ".") + key;
    }
    Error bad(const std::string& key, const std::string& why) const {
        return Error{ErrorKind::Failed, field(key) + " " + why,
                     "berth reads docker-machine 0.16's config.json as docker-machine wrote it; fix or remove the field", {}};
    }
    /// A string field; "" when absent or null (Go's zero value), an error when of another type.
    Result<std::string> text(const std::string& key) const {
        auto it = object.find(key);
        if (it == object.end() || it->is_null()) return std::string();
        if (!it->is_string()) return std::unexpected(bad(key, "is not a string"));
        return it->get<std::string>();
    }
    Result<std::int64_t> number(const std::string& key, std::int64_t fallback) const {
        auto it = object.find(key);
        if (it == object.end() || it->is_null()) return fallback;
        if (!it->is_number_integer()) return std::unexpected(bad(key, "is not a whole number"));
        return it->get<std::int64_t>();
    }
    Result<bool> flag(const std::string& key) const {
        auto it = object.find(key);
        if (it == object.end() || it->is_null()) return false;
        if (!it->is_boolean()) return std::unexpected(bad(key, "is not true or false"));
        return it->get<bool>();
    }
    Result<std::vector<std::string>> list(const std::string& key) const {
        auto it = object.find(key);
        if (it == object.end() || it->is_null()) return std::vector<std::string>{};
        if (!it->is_array()) return std::unexpected(bad(key, "is not a list"));
        std::vector<std::string> out;
        for (const auto& v : *it) {
            if (!v.is_string()) return std::unexpected(bad(key, "holds something other than strings"));
            out.push_back(v.get<std::string>());
        }
        return out;
    }
    Result<Fields> child(const std::string& key) const {
        auto it = object.find(key);
        if (it == object.end() || !it->is_object()) return std::unexpected(bad(key, "is missing or not an object"));
        return Fields{*it, field(key)};
    }
};

bool lexically_under(const std::filesystem::path& path, const std::filesystem::path& dir) {
    auto rel = path.lexically_normal().lexically_relative(dir.lexically_normal());
    return !rel.empty() && *rel.begin() != "..";
}

/// Where berth reads the files config.json names: the store given, and the one it was written in.
struct Paths {
    std::filesystem::path store;     ///< the store berth was given (absolute)
    std::filesystem::path written;   ///< Driver.StorePath: the store docker-machine wrote it in ("" unknown)

    /// `p` inside the given store: as written, or moved with the store; an error for a path
    /// outside it (a hostile config.json must not make berth copy ~/.ssh's key or /etc/shadow).
    Result<std::filesystem::path> resolve(const std::filesystem::path& p, const std::string& field) const {
        if (p.empty() || !p.is_absolute())
            return fail(field + " \"" + p.string() + "\" is not an absolute path", "fix the machine's config.json");
        std::filesystem::path candidate;
        std::error_code ec;
        if (lexically_under(p, store) && std::filesystem::exists(p, ec)) candidate = p.lexically_normal();
        else if (!written.empty() && lexically_under(p, written))
            candidate = store / p.lexically_normal().lexically_relative(written.lexically_normal());
        else if (lexically_under(p, store)) candidate = p.lexically_normal();
        else
            return fail(field + " \"" + p.string() + "\" is outside the docker-machine store " + store.string(),
                        "berth copies only files of the store it imports from");
        // A symlink in the store must not lead out of it either.
        const auto real = std::filesystem::weakly_canonical(candidate, ec);
        const auto real_store = std::filesystem::weakly_canonical(store, ec);
        if (!ec && !lexically_under(real, real_store))
            return fail(field + " \"" + candidate.string() + "\" leads outside the docker-machine store (to " +
                            real.string() + ")",
                        "berth copies only files of the store it imports from");
        return candidate;
    }
};

/// The first of `candidates` that exists (each resolved into the store), or "" when none does.
Result<std::filesystem::path> first_existing(const Paths& paths, const std::vector<std::pair<std::string, std::string>>& candidates) {
    for (const auto& [field, value] : candidates) {
        if (value.empty()) continue;
        auto p = paths.resolve(value, field);
        if (!p) return std::unexpected(p.error());
        std::error_code ec;
        if (std::filesystem::is_regular_file(*p, ec)) return *p;
    }
    return std::filesystem::path();
}

/// BaseDriver's fields, checked: address, SSH user, port and key.
Result<void> read_base(const Fields& d, const Paths& paths, DockerMachineHost& host) {
    auto ip = d.text("IPAddress");
    auto user = d.text("SSHUser");
    auto port = d.number("SSHPort", 22);
    auto key = d.text("SSHKeyPath");
    auto vm = d.text("MachineName");
    for (const auto* r : {&ip, &user, &key, &vm})
        if (!*r) return std::unexpected(r->error());
    if (!port) return std::unexpected(port.error());
    if (!ip->empty())
        if (auto ok = validate_ssh_host(*ip, d.field("IPAddress")); !ok) return ok;
    if (user->empty()) *user = host.driver_name == "virtualbox" ? "docker" : "root";  // docker-machine's defaults
    if (auto ok = validate_ssh_user(*user, d.field("SSHUser")); !ok) return ok;
    if (*port < 1 || *port > 65535) return std::unexpected(d.bad("SSHPort", "is not a port (1 to 65535)"));
    if (vm->empty()) *vm = host.name;
    if (auto ok = validate_machine_name(*vm); !ok)
        return std::unexpected(d.bad("MachineName", "is not a machine name: " + ok.error().message));
    auto key_file = first_existing(paths, {{d.field("SSHKeyPath"), *key},
                                           {"the machine's id_rsa", (paths.store / "machines" / host.name / "id_rsa").string()}});
    if (!key_file) return std::unexpected(key_file.error());
    if (key_file->empty())
        return fail(d.field("SSHKeyPath") + ": no SSH key at \"" + *key + "\" nor in machines/" + host.name + "/id_rsa",
                    "berth needs the key docker-machine logged in with");
    host.adopted = AdoptedMachine{*vm, *ip, static_cast<int>(*port), *key_file};
    host.driver_options["ssh-user"] = {*user};
    return {};
}

/// The generic driver's own fields: the address it needs, the engine port.
Result<void> read_generic(const Fields& d, DockerMachineHost& host) {
    auto engine_port = d.number("EnginePort", 2376);
    if (!engine_port) return std::unexpected(engine_port.error());
    if (*engine_port < 1 || *engine_port > 65535) return std::unexpected(d.bad("EnginePort", "is not a port (1 to 65535)"));
    if (host.adopted.address.empty()) return std::unexpected(d.bad("IPAddress", "is empty: the generic driver needs the host's address"));
    auto& o = host.driver_options;
    o["ip-address"] = {host.adopted.address};
    o["ssh-port"] = {std::to_string(host.adopted.ssh_port)};
    o["engine-port"] = {std::to_string(*engine_port)};
    o["ssh-key"] = {host.adopted.ssh_key.string()};
    host.engine.port = static_cast<int>(*engine_port);
    return {};
}

/// The virtualbox driver's fields as berth's --virtualbox-* options (the driver checks them).
Result<void> read_virtualbox(const Fields& d, DockerMachineHost& host) {
    auto& o = host.driver_options;
    for (auto [key, option] : {std::pair{"CPU", "cpu-count"}, std::pair{"Memory", "memory"}, std::pair{"DiskSize", "disk-size"}}) {
        auto n = d.number(key, 0);
        if (!n) return std::unexpected(n.error());
        if (*n != 0) o[option] = {std::to_string(*n)};
    }
    for (auto [key, option] : {std::pair{"HostOnlyCIDR", "hostonly-cidr"}, std::pair{"HostOnlyNicType", "hostonly-nictype"},
                               std::pair{"NatNicType", "nat-nictype"}, std::pair{"UIType", "ui-type"}}) {
        auto t = d.text(key);
        if (!t) return std::unexpected(t.error());
        if (!t->empty()) o[option] = {*t};
    }
    o["hostonly"] = {"true"};
    host.engine.port = 2376;
    // The folder docker-machine shared exists in the VM already; berth's setting only matters at create.
    if (auto share = d.text("ShareFolder"); !share) return std::unexpected(share.error());
    else if (!share->empty()) host.ignored.push_back("ShareFolder " + *share + " (the VM keeps its share)");
    return {};
}

/// HostOptions.EngineOptions: what berth's --engine-* have; the rest is listed as ignored.
Result<void> read_engine(const Fields& e, DockerMachineHost& host) {
    auto labels = e.list("Labels");
    auto insecure = e.list("InsecureRegistry");
    auto mirrors = e.list("RegistryMirror");
    auto env = e.list("Env");
    auto flags = e.list("ArbitraryFlags");
    auto dns = e.list("Dns");
    auto storage = e.text("StorageDriver");
    auto install = e.text("InstallURL");
    for (const auto* r : {&labels, &insecure, &mirrors, &env, &flags, &dns})
        if (!*r) return std::unexpected(r->error());
    if (!storage) return std::unexpected(storage.error());
    if (!install) return std::unexpected(install.error());
    host.engine.labels = *labels;
    host.engine.insecure_registries = *insecure;
    host.engine.registry_mirrors = *mirrors;
    host.engine.env = *env;
    host.engine.storage_driver = *storage;
    // docker-machine installed Docker's own packages (get.docker.com): keep them, not docker.io.
    host.engine.install = "docker-ce";
    for (const auto& f : *flags) host.ignored.push_back("engine flag --" + f);
    for (const auto& d : *dns) host.ignored.push_back("engine DNS " + d);
    return {};
}

/// AuthOptions: the TLS files the docker CLI used (the machine's copies first, as `docker-machine
/// env` named them) and the server's.
Result<void> read_auth(const Fields& a, const Paths& paths, DockerMachineHost& host) {
    std::map<std::string, std::string> v;
    for (const char* key : {"CaCertPath", "ClientCertPath", "ClientKeyPath", "ServerCertPath", "ServerKeyPath", "StorePath"}) {
        auto t = a.text(key);
        if (!t) return std::unexpected(t.error());
        v[key] = *t;
    }
    const std::string dir = (paths.store / "machines" / host.name).string();
    struct Want {
        std::filesystem::path* slot;
        const char* file;
        const char* key;
        bool required;
    };
    for (const auto& w : {Want{&host.ca_cert, "ca.pem", "CaCertPath", true}, Want{&host.client_cert, "cert.pem", "ClientCertPath", true},
                          Want{&host.client_key, "key.pem", "ClientKeyPath", true},
                          Want{&host.server_cert, "server.pem", "ServerCertPath", false},
                          Want{&host.server_key, "server-key.pem", "ServerKeyPath", false}}) {
        std::vector<std::pair<std::string, std::string>> candidates;
        if (!v["StorePath"].empty()) candidates.emplace_back(a.field("StorePath"), v["StorePath"] + "/" + w.file);
        candidates.emplace_back("the machine's " + std::string(w.file), dir + "/" + w.file);
        candidates.emplace_back(a.field(w.key), v[w.key]);
        if (std::string(w.key).starts_with("Server")) std::swap(candidates.front(), candidates.back());
        auto found = first_existing(paths, candidates);
        if (!found) return std::unexpected(found.error());
        if (found->empty() && w.required)
            return fail("machine " + host.name + " has no " + w.file + " (looked in " + dir + " and at " + a.field(w.key) + ")",
                        "berth keeps docker-machine's certificates until `berth provision` replaces them; without them, "
                        "recreate the machine with `berth create`");
        *w.slot = *found;
    }
    return {};
}

}  // namespace

std::filesystem::path docker_machine_default_store(
    const std::function<std::optional<std::string>(const std::string&)>& env) {
    if (auto path = env("MACHINE_STORAGE_PATH"); path && !path->empty()) return *path;
    auto home = env("HOME");
    return std::filesystem::path(home && !home->empty() ? *home : "/") / ".docker" / "machine";
}

Result<std::vector<std::string>> docker_machine_names(const std::filesystem::path& store) {
    const auto machines = store / "machines";
    std::error_code ec;
    if (!std::filesystem::is_directory(machines, ec))
        return fail_kind(ErrorKind::NotFound, "no docker-machine store at " + store.string() + " (no machines/ in it)",
                         "give the store with --from DIR (docker-machine's --storage-path, MACHINE_STORAGE_PATH)");
    std::vector<std::string> names;
    for (std::filesystem::directory_iterator it(machines, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code e2;
        if (it->is_directory(e2) && std::filesystem::exists(it->path() / "config.json", e2))
            names.push_back(it->path().filename().string());
    }
    if (ec) return fail("cannot read " + machines.string() + ": " + ec.message());
    std::sort(names.begin(), names.end(), [](const auto& a, const auto& b) { return natural_less(a, b); });
    return names;
}

Result<DockerMachineHost> parse_docker_machine_config(std::string_view text, const std::filesystem::path& store,
                                                      const std::string& dir_name) {
    const std::string where = "machines/" + dir_name + "/config.json";
    if (auto ok = validate_machine_name(dir_name); !ok) return std::unexpected(ok.error());
    const Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return fail(where + " is not a JSON object", "is it docker-machine's store? berth reads docker-machine 0.16's");
    const Fields top{j, where};
    auto version = top.number("ConfigVersion", 0);
    if (!version) return std::unexpected(version.error());
    if (*version != 3)
        return fail(where + " has ConfigVersion " + std::to_string(*version) + ", not 3",
                    "berth reads what docker-machine 0.7 to 0.16 write; run `docker-machine ls` with 0.16, which migrates older ones");
    DockerMachineHost host;
    auto name = top.text("Name");
    auto driver = top.text("DriverName");
    if (!name) return std::unexpected(name.error());
    if (!driver) return std::unexpected(driver.error());
    if (*name != dir_name) return std::unexpected(top.bad("Name", "is \"" + *name + "\", not its directory's name " + dir_name));
    host.name = *name;
    host.driver_name = *driver;
    if (*driver != "generic" && *driver != "virtualbox")
        return fail("machine " + host.name + " uses docker-machine's \"" + *driver + "\" driver, which berth cannot import",
                    "berth imports generic and virtualbox machines; make a new one with `berth create -d DRIVER " +
                        host.name + "`");
    auto d = top.child("Driver");
    if (!d) return std::unexpected(d.error());
    auto store_path = d->text("StorePath");
    if (!store_path) return std::unexpected(store_path.error());
    const Paths paths{std::filesystem::absolute(store).lexically_normal(), *store_path};
    if (auto ok = read_base(*d, paths, host); !ok) return std::unexpected(ok.error());
    if (auto ok = host.driver_name == "generic" ? read_generic(*d, host) : read_virtualbox(*d, host); !ok)
        return std::unexpected(ok.error());
    auto options = top.child("HostOptions");
    if (!options) return std::unexpected(options.error());
    if (auto engine = options->child("EngineOptions"); engine) {
        if (auto ok = read_engine(*engine, host); !ok) return std::unexpected(ok.error());
    }
    if (auto swarm = options->child("SwarmOptions"); swarm && swarm->flag("IsSwarm").value_or(false))
        host.ignored.push_back("docker-machine's swarm (berth apply makes Docker Swarm fleets)");
    auto auth = options->child("AuthOptions");
    if (!auth) return std::unexpected(auth.error());
    if (auto ok = read_auth(*auth, paths, host); !ok) return std::unexpected(ok.error());
    return host;
}

Result<DockerMachineHost> read_docker_machine(const std::filesystem::path& store, const std::string& name) {
    if (auto ok = validate_machine_name(name); !ok) return std::unexpected(ok.error());
    auto text = read_file(store / "machines" / name / "config.json");
    if (!text) {
        if (text.error().kind == ErrorKind::NotFound)
            return fail_kind(ErrorKind::NotFound, "no machine \"" + name + "\" in the docker-machine store " + store.string(),
                             "`docker-machine ls` lists them (with -s " + store.string() + ")");
        return std::unexpected(text.error());
    }
    return parse_docker_machine_config(*text, store, name);
}

}  // namespace berth
