#include "container_rules.h"

#include <berth/authz/ascii.h>
#include <berth/authz/go_json.h>
#include <berth/authz/host_path.h>

#include <sys/stat.h>

#include <algorithm>
#include <array>

namespace berth::authz {
namespace {

using nlohmann::json;

// Docker 20.10's default capability set (oci/caps/defaults.go): adding one of these changes nothing.
constexpr std::array<std::string_view, 14> k_default_caps = {
    "CHOWN",  "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD",     "NET_RAW",          "SETGID",
    "SETUID", "SETFCAP",      "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
};
// dockerd's masked and read-only /proc and /sys paths (oci/defaults.go); a HostConfig that
// leaves one out is what `--security-opt systempaths=unconfined` sends.
constexpr std::array<std::string_view, 10> k_masked_paths = {
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
};
constexpr std::array<std::string_view, 5> k_readonly_paths = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};
// The sockets that hand out root: dockerd's and containerd's.
constexpr std::array<std::string_view, 5> k_sockets = {
    "/run/docker.sock", "/var/run/docker.sock", "/run/containerd/containerd.sock",
    "/var/run/containerd/containerd.sock", "/run/docker/containerd/containerd.sock",
};

[[noreturn]] void malformed(std::string_view where, std::string_view name, std::string_view expected) {
    throw Malformed{std::string(where) + "." + std::string(name) + " is not " + std::string(expected)};
}

// Whether the resolved host path `path` is a docker or containerd socket, or a directory that
// holds one (by name, or the same file under another name: a hard link).
bool reaches_docker_socket(const std::string& path) {
    struct stat target {};
    const bool have_target = ::stat(path.c_str(), &target) == 0;
    for (auto socket : k_sockets) {
        std::string names[2] = {std::string(socket), resolve_host_path(socket).value_or(std::string(socket))};
        for (const auto& name : names)
            if (path_within(name, path)) return true;
        struct stat st {};
        if (have_target && ::stat(names[0].c_str(), &st) == 0 && st.st_dev == target.st_dev && st.st_ino == target.st_ino)
            return true;
    }
    return false;
}

std::string allow_list_text(const Role& role) {
    if (role.bind_allow.empty()) return "no allow-list";
    std::string out;
    for (const auto& dir : role.bind_allow) out += (out.empty() ? "" : ", ") + dir;
    return "the allow-list " + out;
}

// The source of a bind mount: refused when it reaches a docker socket, or (unless bind_mounts is
// waived) when it lies outside the role's allow-list. dockerd may clean the path before the kernel
// follows its symlinks, so both readings must pass.
void check_bind_source(const std::string& source, const std::string& what, Findings& findings) {
    if (!source.starts_with('/')) {
        findings.add(Rule::bind_mounts, what + " (not an absolute host path)");
        return;
    }
    for (const auto& candidate : {source, clean_path(source)}) {
        auto resolved = resolve_host_path(candidate);
        if (!resolved) {
            findings.add(Rule::bind_mounts, what + " (its host path cannot be resolved)");
            return;
        }
        if (reaches_docker_socket(*resolved)) {
            findings.add(Rule::docker_socket, what);
            return;
        }
        const auto& allow = findings.role().bind_allow;
        const bool inside = std::any_of(allow.begin(), allow.end(), [&](const std::string& dir) {
            auto real = resolve_host_path(dir);
            return real && path_within(*resolved, *real);
        });
        if (!inside) {
            findings.add(Rule::bind_mounts, what + " (" + *resolved + " on the host, outside " +
                                                allow_list_text(findings.role()) + ")");
            return;
        }
    }
}

void check_binds(const json& hc, std::string_view where, Findings& findings) {
    for (const auto& bind : read_strings(hc, "Binds", where)) {
        const auto colon = bind.find(':');
        if (colon == std::string::npos) continue;  // "/data": an anonymous volume
        const std::string source = bind.substr(0, colon);
        if (source.starts_with('/') || source.find('/') != std::string::npos || source.starts_with('.'))
            check_bind_source(source, "-v " + bind, findings);
        // else a named volume: always allowed
    }
}

void check_mounts(const json& hc, std::string_view where, Findings& findings) {
    const json* mounts = read_array(hc, "Mounts", where);
    if (!mounts) return;
    const std::string in = std::string(where) + ".Mounts[]";
    for (const auto& mount : *mounts) {
        if (!mount.is_object()) malformed(where, "Mounts[]", "an object");
        const std::string type = ascii_lower(read_string(mount, "Type", in));
        const std::string source = read_string(mount, "Source", in);
        if (type == "bind") {
            check_bind_source(source, "--mount type=bind,source=" + source, findings);
        } else if (type == "volume") {
            const json* options = read_object(mount, "VolumeOptions", in);
            const json* driver = options ? read_object(*options, "DriverConfig", in + ".VolumeOptions") : nullptr;
            if (!driver) continue;
            const std::string where_driver = in + ".VolumeOptions.DriverConfig";
            check_volume_options(read_string(*driver, "Name", where_driver),
                                 read_object(*driver, "Options", where_driver),
                                 "--mount type=volume,source=" + source, findings);
        }
    }
}

// One SecurityOpt entry as dockerd splits it ("key=value", or the old "key:value").
void check_security_opt(const std::string& opt, Findings& findings) {
    const auto split = opt.find('=') != std::string::npos ? opt.find('=') : opt.find(':');
    if (split == std::string::npos) return;
    const std::string key = opt.substr(0, split), value = opt.substr(split + 1);
    const std::string what = "--security-opt " + opt;
    if (key == "seccomp" && value == "unconfined") findings.add(Rule::security_opt, what);
    else if (key == "seccomp" && value.find('{') != std::string::npos)
        findings.add(Rule::security_opt, "--security-opt seccomp=<a profile file>");
    else if (key == "apparmor" && value == "unconfined") findings.add(Rule::security_opt, what);
    else if (key == "label" && (value == "disable" || value == "type:spc_t")) findings.add(Rule::security_opt, what);
    else if (key == "systempaths" && value == "unconfined") findings.add(Rule::security_opt, what);
    else if (key == "no-new-privileges") {
        // dockerd reads the value with Go's strconv.ParseBool.
        for (auto no : {"0", "f", "F", "false", "FALSE", "False"})
            if (value == no) findings.add(Rule::security_opt, what);
    }
}

void check_system_paths(const json& hc, std::string_view where, Findings& findings) {
    auto keeps_all = [&](std::string_view name, auto defaults) {
        if (!read_array(hc, name, where)) return true;  // absent: dockerd's defaults
        const auto given = read_strings(hc, name, where);
        return std::all_of(defaults.begin(), defaults.end(), [&](std::string_view p) {
            return std::find(given.begin(), given.end(), p) != given.end();
        });
    };
    if (!keeps_all("MaskedPaths", k_masked_paths) || !keeps_all("ReadonlyPaths", k_readonly_paths))
        findings.add(Rule::security_opt, "--security-opt systempaths=unconfined");
}

void check_capabilities(const json& hc, std::string_view where, Findings& findings) {
    for (const auto& cap : read_strings(hc, "CapAdd", where)) {
        std::string name = ascii_upper(cap);
        if (name.starts_with("CAP_")) name.erase(0, 4);
        if (std::find(k_default_caps.begin(), k_default_caps.end(), name) == k_default_caps.end())
            findings.add(Rule::cap_add, "--cap-add " + cap);
    }
}

void check_namespaces(const json& hc, std::string_view where, Findings& findings) {
    if (ascii_lower(read_string(hc, "UsernsMode", where)) == "host") findings.add(Rule::userns_host, "--userns=host");
    const std::pair<std::string_view, std::string_view> modes[] = {
        {"PidMode", "--pid=host"}, {"IpcMode", "--ipc=host"}, {"UTSMode", "--uts=host"},
        {"NetworkMode", "--network=host"}, {"CgroupnsMode", "--cgroupns=host"},
    };
    for (const auto& [field, flag] : modes)
        if (ascii_lower(read_string(hc, field, where)) == "host") findings.add(Rule::host_namespaces, std::string(flag));
}

void check_sysctls(const json& hc, std::string_view where, Findings& findings) {
    const json* sysctls = read_object(hc, "Sysctls", where);
    if (!sysctls) return;
    const bool host_network = ascii_lower(read_string(hc, "NetworkMode", where)) == "host";
    for (auto it = sysctls->begin(); it != sysctls->end(); ++it) {
        if (!it.value().is_string()) malformed(where, "Sysctls", "a map of strings");
        std::string key = it.key();
        std::replace(key.begin(), key.end(), '/', '.');
        const bool namespaced = key.starts_with("kernel.msg") || key == "kernel.sem" || key.starts_with("kernel.shm") ||
                                key.starts_with("fs.mqueue.") || (key.starts_with("net.") && !host_network);
        if (!namespaced) findings.add(Rule::sysctls, "--sysctl " + it.key());
    }
}

}  // namespace

const Finding* Findings::first_refusal() const {
    for (const auto& f : m_list)
        if (!m_role.waives(f.rule)) return &f;
    return nullptr;
}

bool read_bool(const json& object, std::string_view name, std::string_view where) {
    const json* v = go_field(object, name);
    if (!v) return false;
    if (!v->is_boolean()) malformed(where, name, "true or false");
    return v->get<bool>();
}

std::string read_string(const json& object, std::string_view name, std::string_view where) {
    const json* v = go_field(object, name);
    if (!v) return "";
    if (!v->is_string()) malformed(where, name, "a string");
    return v->get<std::string>();
}

std::vector<std::string> read_strings(const json& object, std::string_view name, std::string_view where) {
    std::vector<std::string> out;
    const json* v = read_array(object, name, where);
    if (!v) return out;
    for (const auto& item : *v) {
        if (!item.is_string()) malformed(where, name, "a list of strings");
        out.push_back(item.get<std::string>());
    }
    return out;
}

const json* read_array(const json& object, std::string_view name, std::string_view where) {
    const json* v = go_field(object, name);
    if (v && !v->is_array()) malformed(where, name, "a list");
    return v;
}

const json* read_object(const json& object, std::string_view name, std::string_view where) {
    const json* v = go_field(object, name);
    if (v && !v->is_object()) malformed(where, name, "an object");
    return v;
}

void check_devices(const json& resources, std::string_view where, Findings& findings) {
    if (const json* devices = read_array(resources, "Devices", where)) {
        for (const auto& device : *devices) {
            if (!device.is_object()) malformed(where, "Devices[]", "an object");
            findings.add(Rule::devices, "--device " + read_string(device, "PathOnHost", std::string(where) + ".Devices[]"));
        }
    }
    for (const auto& rule : read_strings(resources, "DeviceCgroupRules", where))
        findings.add(Rule::devices, "--device-cgroup-rule " + rule);
    if (const json* requests = read_array(resources, "DeviceRequests", where); requests && !requests->empty())
        findings.add(Rule::devices, "--gpus");
}

void check_volume_options(std::string_view driver, const json* options, std::string_view what, Findings& findings) {
    if (!options || !(driver.empty() || driver == "local")) return;
    for (auto it = options->begin(); it != options->end(); ++it)
        if (!it.value().is_string()) throw Malformed{std::string(what) + ": the volume options are not strings"};
    auto option = [&](const char* key) { return options->contains(key) ? options->at(key).get<std::string>() : ""; };
    const std::string device = option("device"), o = option("o");
    if (device.empty()) return;
    bool bind = false;
    for (std::size_t start = 0; start <= o.size();) {
        const auto end = std::min(o.find(',', start), o.size());
        const std::string token = o.substr(start, end - start);
        bind = bind || token == "bind" || token == "rbind";
        start = end + 1;
    }
    const std::string flag = std::string(what) + " with the local driver's device=" + device;
    if (bind) check_bind_source(device, flag, findings);
    else if (device.starts_with('/')) findings.add(Rule::devices, flag);
}

void check_host_config(const json& hc, std::string_view where, Findings& findings) {
    if (read_bool(hc, "Privileged", where)) findings.add(Rule::privileged, "--privileged");
    check_capabilities(hc, where, findings);
    for (const auto& opt : read_strings(hc, "SecurityOpt", where)) check_security_opt(opt, findings);
    check_system_paths(hc, where, findings);
    check_namespaces(hc, where, findings);
    check_devices(hc, where, findings);
    check_binds(hc, where, findings);
    check_mounts(hc, where, findings);
    check_sysctls(hc, where, findings);
}

}  // namespace berth::authz
