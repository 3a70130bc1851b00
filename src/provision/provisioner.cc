#include <berth/provision/provisioner.h>

#include <berth/core/digest.h>
#include <berth/core/log.h>
#include <berth/docker/docker_client.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <sstream>

namespace berth {
namespace {

constexpr const char* k_tls_dir = "/etc/docker/tls";
constexpr const char* k_daemon_json = "/etc/docker/daemon.json";
constexpr const char* k_dropin = "/etc/systemd/system/docker.service.d/10-berth.conf";
constexpr const char* k_audit_rules = "/etc/audit/rules.d/berth-docker.rules";
constexpr const char* k_sshd_dropin = "/etc/ssh/sshd_config.d/00-berth.conf";
constexpr const char* k_firewall = "/etc/berth/firewall.nft";
constexpr const char* k_firewall_unit = "/etc/systemd/system/berth-firewall.service";

// Docker's binaries, directories, units and files (CIS Docker Benchmark 1.1.3-1.1.18), at the
// places Debian, Ubuntu, Fedora and Docker's own packages put them. Those that exist are watched.
const std::vector<std::string> k_audit_candidates = {
    "/usr/bin/dockerd", "/usr/sbin/dockerd", "/run/containerd", "/var/lib/docker", "/etc/docker",
    "/lib/systemd/system/docker.service", "/usr/lib/systemd/system/docker.service",
    "/run/containerd/containerd.sock", "/lib/systemd/system/docker.socket",
    "/usr/lib/systemd/system/docker.socket", "/etc/default/docker", "/etc/docker/daemon.json",
    "/etc/containerd/config.toml", "/etc/sysconfig/docker", "/usr/bin/containerd",
    "/usr/bin/containerd-shim", "/usr/bin/containerd-shim-runc-v1", "/usr/bin/containerd-shim-runc-v2",
    "/usr/bin/runc", "/usr/sbin/runc", "/usr/bin/docker",
};

/// What the facts command found.
struct Facts {
    std::string os_release;
    std::string hostname;
    std::map<std::string, std::string> packages;  ///< name -> version ("" = not installed)
    struct FileState {
        std::string digest;
        unsigned mode = 0;
        std::string owner;
    };
    std::map<std::string, FileState> files;  ///< only files that exist
    std::set<std::string> existing;          ///< audit candidates that exist
    std::map<std::string, std::pair<std::string, std::string>> units;  ///< unit -> (active, enabled)
    std::vector<int> sshd_ports;
    bool subuid = false, subgid = false;
    std::string dockerd;
    std::string selinux;
    std::string nft;
};

std::vector<std::string> managed_paths() {
    return {std::string(k_tls_dir) + "/ca.pem", std::string(k_tls_dir) + "/server-cert.pem",
            std::string(k_tls_dir) + "/server-key.pem", k_daemon_json, k_dropin, k_audit_rules,
            k_sshd_dropin, k_firewall, k_firewall_unit};
}

std::vector<std::string> package_names(OsFamily family, const EngineOptions& engine) {
    std::vector<std::string> pkgs;
    if (family == OsFamily::Debian) {
        if (engine.install == "docker-ce") pkgs = {"docker-ce", "docker-ce-cli", "containerd.io"};
        else pkgs = {"docker.io"};
        pkgs.insert(pkgs.end(), {"apparmor", "auditd", "nftables"});
    } else {
        if (engine.install == "docker-ce") pkgs = {"docker-ce", "docker-ce-cli", "containerd.io"};
        else pkgs = {"moby-engine"};
        pkgs.insert(pkgs.end(), {"audit", "nftables", "container-selinux"});
    }
    return pkgs;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
    return out;
}

// One command that reports everything the plan needs to decide. Its output is sections of lines,
// each section opened by "@name".
std::string facts_script(const std::vector<std::string>& packages) {
    std::string s = "set +e\n";
    s += "echo @os-release; cat /etc/os-release 2>/dev/null\n";
    s += "echo @hostname; hostname\n";
    s += "echo @packages\n";
    s += "for p in " + join(packages, " ") + "; do\n"
         "  if command -v dpkg-query >/dev/null 2>&1; then\n"
         "    v=$(dpkg-query -W -f='${db:Status-Status} ${Version}' \"$p\" 2>/dev/null)\n"
         "    case \"$v\" in installed*) echo \"$p ${v#installed }\";; *) echo \"$p\";; esac\n"
         "  else\n"
         "    v=$(rpm -q --qf '%{VERSION}-%{RELEASE}' \"$p\" 2>/dev/null) && echo \"$p $v\" || echo \"$p\"\n"
         "  fi\n"
         "done\n";
    s += "echo @files\n";
    s += "for f in " + join(managed_paths(), " ") + "; do\n"
         "  [ -f \"$f\" ] && echo \"$f $(sha256sum < \"$f\" | cut -d' ' -f1) $(stat -c '%a %U:%G' \"$f\")\"\n"
         "done\n";
    s += "echo @exists\n";
    s += "for f in " + join(k_audit_candidates, " ") + "; do [ -e \"$f\" ] && echo \"$f\"; done\n";
    s += "echo @units\n";
    s += "for u in docker auditd apparmor berth-firewall; do\n"
         "  echo \"$u $(systemctl is-active $u 2>/dev/null) $(systemctl is-enabled $u 2>/dev/null)\"\n"
         "done\n";
    s += "echo @sshd-ports; sshd -T 2>/dev/null | awk '$1==\"port\"{print $2}'\n";
    s += "echo @subid; [ -e /etc/subuid ] && echo subuid; [ -e /etc/subgid ] && echo subgid\n";
    s += "echo @dockerd; command -v dockerd\n";
    s += "echo @selinux; command -v getenforce >/dev/null 2>&1 && getenforce\n";
    s += "echo @nft; command -v nft\n";
    s += "echo @end\n";
    return s;
}

Result<Facts> parse_facts(const std::string& out) {
    Facts f;
    std::istringstream in(out);
    std::string section;
    bool ended = false;
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("@")) {
            section = line.substr(1);
            ended = ended || section == "end";
            continue;
        }
        std::istringstream words(line);
        if (section == "os-release") f.os_release += line + "\n";
        else if (section == "hostname") f.hostname = line;
        else if (section == "packages") {
            std::string name, version;
            words >> name;
            std::getline(words >> std::ws, version);
            if (!name.empty()) f.packages[name] = version;
        } else if (section == "files") {
            std::string path, digest, mode, owner;
            words >> path >> digest >> mode >> owner;
            f.files[path] = {digest, static_cast<unsigned>(std::stoul(mode.empty() ? "0" : mode, nullptr, 8)), owner};
        } else if (section == "exists") {
            if (!line.empty()) f.existing.insert(line);
        } else if (section == "units") {
            std::string unit, active, enabled;
            words >> unit >> active >> enabled;
            f.units[unit] = {active, enabled};
        } else if (section == "sshd-ports") {
            if (!line.empty()) f.sshd_ports.push_back(std::atoi(line.c_str()));
        } else if (section == "subid") {
            f.subuid = f.subuid || line == "subuid";
            f.subgid = f.subgid || line == "subgid";
        } else if (section == "dockerd") f.dockerd = line;
        else if (section == "selinux") f.selinux = line;
        else if (section == "nft") f.nft = line;
    }
    if (!ended) return fail("the host's report of its state was cut short", "run the command again");
    return f;
}

std::string mode_text(unsigned mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", mode);
    return buf;
}

// A remote step that must succeed; its failure names the step, the exit status and stderr's tail.
Result<RemoteResult> step(Session& session, const std::string& machine, const std::string& what,
                          const std::string& script, std::chrono::seconds timeout = std::chrono::seconds(0)) {
    auto r = session.run(script, timeout);
    if (!r) {
        Error e = r.error();
        e.message = what + " on " + machine + " failed: " + e.message;
        return std::unexpected(e);
    }
    if (r->exit_status != 0) {
        const bool sudo_refused = r->err.find("sudo:") != std::string::npos &&
                                  (r->err.find("password") != std::string::npos ||
                                   r->err.find("not in the sudoers") != std::string::npos);
        return std::unexpected(Error{ErrorKind::Failed,
                                     what + " on " + machine + " failed (exit " + std::to_string(r->exit_status) +
                                         "): " + tail_lines(r->err.empty() ? r->out : r->err, 5),
                                     sudo_refused ? "berth needs root or passwordless sudo for the SSH user "
                                                    "(e.g. `USER ALL=(ALL) NOPASSWD:ALL` in /etc/sudoers.d/)"
                                                  : "",
                                     {{"step", what}, {"stderr", tail_lines(r->err, 20)}}});
    }
    return r;
}

nlohmann::json parse_option_value(const std::string& v) {
    if (v == "true") return true;
    if (v == "false") return false;
    if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos && v.size() < 10) return std::stoi(v);
    return v;
}

// The hardening a daemon.json key carries, and whether `value` gives it up.
std::string weakening(const std::string& key, const nlohmann::json& value) {
    if (key == "icc" && value == true) return "containers on the default bridge can reach each other";
    if (key == "userns-remap" && (value == "" || value == false))
        return "root in a container is root on the host (userns-remap off)";
    if (key == "no-new-privileges" && value == false) return "setuid binaries in containers can gain privileges";
    if (key == "live-restore" && value == false) return "containers stop whenever dockerd restarts";
    if (key == "userland-proxy" && value == true) return "the userland proxy is back on";
    if ((key == "tls" || key == "tlsverify") && value == false) return "the Docker API no longer requires client certificates";
    if (key == "hosts") return "the daemon listens where berth did not put it";
    if (key == "selinux-enabled" && value == false) return "SELinux no longer confines containers";
    if (key == "seccomp-profile" && value == "unconfined") return "containers run without a seccomp filter";
    if (key == "insecure-registries") return "images can be pulled without TLS from " + value.dump();
    return "";
}

}  // namespace

Provisioner::Provisioner(Session& session, const TemplateSet& templates, DockerProbe& docker)
    : m_session(session), m_templates(templates), m_docker(docker) {}

Result<std::string> Provisioner::daemon_json(const std::string& rendered, const EngineOptions& engine,
                                             std::vector<std::string>& warnings) {
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(rendered, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return fail("the daemon.json template does not render to a JSON object", "check --templates-dir");
    auto set = [&](const std::string& key, const nlohmann::json& value, const std::string& flag) {
        if (auto why = weakening(key, value); !why.empty())
            warnings.push_back(flag + " weakens the hardening: " + why);
        j[key] = value;
    };
    if (!engine.labels.empty()) set("labels", engine.labels, "--engine-label");
    if (!engine.insecure_registries.empty())
        set("insecure-registries", engine.insecure_registries, "--engine-insecure-registry");
    if (!engine.registry_mirrors.empty()) set("registry-mirrors", engine.registry_mirrors, "--engine-registry-mirror");
    if (!engine.storage_driver.empty()) set("storage-driver", engine.storage_driver, "--engine-storage-driver");
    std::map<std::string, std::vector<nlohmann::json>> opts;
    std::vector<std::string> order;
    for (const auto& opt : engine.opts) {
        auto eq = opt.find('=');
        if (eq == std::string::npos || eq == 0)
            return fail_usage("invalid --engine-opt \"" + opt + "\"", "write it as key=value, e.g. max-concurrent-downloads=6");
        std::string key = opt.substr(0, eq);
        if (key.starts_with("--")) key = key.substr(2);
        if (!opts.contains(key)) order.push_back(key);
        opts[key].push_back(parse_option_value(opt.substr(eq + 1)));
    }
    for (const auto& key : order) {
        const auto& values = opts[key];
        const bool list = values.size() > 1 || (j.contains(key) && j[key].is_array());
        set(key, list ? nlohmann::json(values) : values.front(), "--engine-opt " + key);
    }
    // One key per line keeps diffs readable and "hosts" on one line.
    std::string out = "{\n";
    size_t i = 0;
    for (auto it = j.begin(); it != j.end(); ++it, ++i) {
        out += "  " + nlohmann::json(it.key()).dump() + ": " + it.value().dump() + (i + 1 < j.size() ? ",\n" : "\n");
    }
    return out + "}\n";
}

Result<ProvisionReport> Provisioner::run(const ProvisionRequest& req) {
    ProvisionReport report;
    auto phase_start = std::chrono::steady_clock::now();
    auto lap = [&](const std::string& phase) {
        auto now = std::chrono::steady_clock::now();
        report.timings.emplace_back(phase, std::chrono::duration<double>(now - phase_start).count());
        phase_start = now;
    };
    const std::string& m = req.machine;
    if (req.engine.install != "docker.io" && req.engine.install != "docker-ce")
        return fail_usage("--engine-install takes docker.io or docker-ce, not \"" + req.engine.install + "\"");

    spdlog::info("[{}] Reading the host's state...", m);
    // The package list depends on the OS family, which the facts tell: ask for both families'.
    std::vector<std::string> all_pkgs = package_names(OsFamily::Debian, req.engine);
    for (const auto& p : package_names(OsFamily::Rhel, req.engine))
        if (std::find(all_pkgs.begin(), all_pkgs.end(), p) == all_pkgs.end()) all_pkgs.push_back(p);
    auto facts_out = step(m_session, m, "reading the host's state", facts_script(all_pkgs));
    if (!facts_out) return std::unexpected(facts_out.error());
    auto facts = parse_facts(facts_out->out);
    if (!facts) return std::unexpected(facts.error());
    auto os = parse_os_release(facts->os_release);
    if (!os) return std::unexpected(os.error());
    if (auto ok = check_supported(*os); !ok) return std::unexpected(ok.error());
    report.os = *os;
    const bool debian = os->family == OsFamily::Debian;
    const std::vector<std::string> pkgs = package_names(os->family, req.engine);
    const std::string docker_pkg = pkgs.front();

    // Packages.
    std::vector<std::string> missing;
    for (const auto& p : pkgs) {
        const std::string have = facts->packages.contains(p) ? facts->packages[p] : "";
        const bool pinned_other = p == docker_pkg && !req.engine.version.empty() && !have.empty() &&
                                  have != req.engine.version;
        if (have.empty() || pinned_other) missing.push_back(p);
    }
    if (req.upgrade && std::find(missing.begin(), missing.end(), docker_pkg) == missing.end())
        missing.insert(missing.begin(), docker_pkg);
    if (!missing.empty()) {
        std::vector<std::string> args;
        for (const auto& p : missing) {
            if (p == docker_pkg && !req.engine.version.empty())
                args.push_back(debian ? p + "=" + req.engine.version : p + "-" + req.engine.version);
            else args.push_back(p);
        }
        std::string script;
        if (debian) {
            script = "export DEBIAN_FRONTEND=noninteractive\n";
            if (req.engine.install == "docker-ce")
                script += ". /etc/os-release\n"
                          "install -m 0755 -d /etc/apt/keyrings\n"
                          "[ -s /etc/apt/keyrings/docker.asc ] || { apt-get -o Acquire::Retries=5 update -q && "
                          "apt-get install -y -q --no-install-recommends ca-certificates curl && "
                          "curl -fsSL \"https://download.docker.com/linux/$ID/gpg\" -o /etc/apt/keyrings/docker.asc; }\n"
                          "echo \"deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] "
                          "https://download.docker.com/linux/$ID $VERSION_CODENAME stable\" > /etc/apt/sources.list.d/docker.list\n";
            script += "apt-get -o Acquire::Retries=5 -o DPkg::Lock::Timeout=300 update -q\n"
                      "apt-get -o Acquire::Retries=5 -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends " +
                      std::string(req.engine.version.empty() ? "" : "--allow-downgrades ") +
                      (req.upgrade ? "--only-upgrade " : "") + join(args, " ") + "\n";
            if (req.upgrade) {
                // --only-upgrade skips what is not installed yet; install the rest normally.
                script = "export DEBIAN_FRONTEND=noninteractive\n"
                         "apt-get -o Acquire::Retries=5 -o DPkg::Lock::Timeout=300 update -q\n"
                         "apt-get -o Acquire::Retries=5 -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends " +
                         join(args, " ") + "\n";
            }
        } else {
            if (req.engine.install == "docker-ce")
                script = ". /etc/os-release\n"
                         "repo=centos; [ \"$ID\" = fedora ] && repo=fedora\n"
                         "[ -f /etc/yum.repos.d/docker-ce.repo ] || curl -fsSL "
                         "\"https://download.docker.com/linux/$repo/docker-ce.repo\" -o /etc/yum.repos.d/docker-ce.repo\n";
            script += "dnf -y -q " + std::string(req.upgrade ? "upgrade " : "install ") + join(args, " ") + "\n";
        }
        spdlog::info("[{}] Installing {}...", m, join(args, ", "));
        auto installed = step(m_session, m, "installing " + join(args, ", "), script, std::chrono::seconds(1800));
        if (!installed) return std::unexpected(installed.error());
        report.installed = args;
        lap("packages");
        // Paths and versions changed: read the state again (one more command, only after an install).
        auto again = step(m_session, m, "reading the host's state", facts_script(all_pkgs));
        if (!again) return std::unexpected(again.error());
        auto refreshed = parse_facts(again->out);
        if (!refreshed) return std::unexpected(refreshed.error());
        facts = std::move(refreshed);
    }
    if (facts->dockerd.empty())
        return fail("dockerd is not on " + m + " after installing " + docker_pkg,
                    "check the host's package sources, then run `berth provision " + m + "`");

    // Desired files.
    const bool selinux = !debian;
    nlohmann::json ctx = {
        {"engine_port", std::to_string(req.engine.port)},
        {"tls_dir", k_tls_dir},
        {"selinux", selinux},
        {"dockerd", facts->dockerd},
        {"containerd_socket", facts->existing.contains("/usr/bin/containerd") ? "/run/containerd/containerd.sock" : ""},
        {"debian", debian},
        {"nft", facts->nft.empty() ? "/usr/sbin/nft" : facts->nft},
    };
    nlohmann::json env = nlohmann::json::array();
    for (const auto& e : req.engine.env) {
        auto eq = e.find('=');
        if (eq == std::string::npos || eq == 0)
            return fail_usage("invalid --engine-env \"" + e + "\"", "write it as KEY=VALUE");
        env.push_back({{"name", e.substr(0, eq)}, {"value", e.substr(eq + 1)}});
    }
    ctx["env"] = env;
    std::set<int> ports(req.ssh_ports.begin(), req.ssh_ports.end());
    ports.insert(facts->sshd_ports.begin(), facts->sshd_ports.end());
    if (ports.empty()) ports.insert(22);
    std::string port_list;
    for (int p : ports) port_list += (port_list.empty() ? "" : ", ") + std::to_string(p);
    ctx["ssh_ports"] = port_list;
    nlohmann::json watches = nlohmann::json::array();
    for (const auto& path : k_audit_candidates)
        if (facts->existing.contains(path) || path == k_daemon_json) watches.push_back({{"path", path}});
    ctx["watches"] = watches;

    auto render = [&](const char* name) { return m_templates.render(name, ctx); };
    auto daemon_rendered = render("daemon.json");
    if (!daemon_rendered) return std::unexpected(daemon_rendered.error());
    auto daemon = daemon_json(*daemon_rendered, req.engine, report.warnings);
    if (!daemon) return std::unexpected(daemon.error());
    for (const auto& w : report.warnings) spdlog::warn("{}: {}", m, w);

    std::vector<ManagedFile> files = {
        {std::string(k_tls_dir) + "/ca.pem", req.ca_pem, 0444},
        {std::string(k_tls_dir) + "/server-cert.pem", req.server_cert_pem, 0444},
        {std::string(k_tls_dir) + "/server-key.pem", req.server_key_pem, 0400},
        {k_daemon_json, *daemon, 0644},
    };
    for (auto [name, path, mode] : {std::tuple{"docker-service-override.conf", k_dropin, 0644u},
                                    std::tuple{"audit-docker.rules", k_audit_rules, 0640u},
                                    std::tuple{"sshd-hardening.conf", k_sshd_dropin, 0644u},
                                    std::tuple{"firewall.nft", k_firewall, 0644u},
                                    std::tuple{"berth-firewall.service", k_firewall_unit, 0644u}}) {
        auto text = render(name);
        if (!text) return std::unexpected(text.error());
        files.push_back({path, *text, mode});
    }

    std::vector<const ManagedFile*> differ;
    for (const auto& f : files) {
        const std::string digest = sha256_hex(f.content);
        report.digests[f.path] = digest;
        auto it = facts->files.find(f.path);
        if (it == facts->files.end() || it->second.digest != digest || it->second.mode != f.mode ||
            it->second.owner != f.owner)
            differ.push_back(&f);
    }
    auto changed = [&](const std::string& path) {
        return std::any_of(differ.begin(), differ.end(), [&](const ManagedFile* f) { return f->path == path; });
    };

    // Host name and subordinate ids (dockerd with userns-remap fails without /etc/subuid, /etc/subgid).
    std::string prepare;
    if (!req.hostname.empty() && facts->hostname != req.hostname) {
        prepare += "hostnamectl set-hostname " + shell_quote(req.hostname) + " 2>/dev/null || { echo " +
                   shell_quote(req.hostname) + " > /etc/hostname; hostname " + shell_quote(req.hostname) + "; }\n" +
                   "grep -q '^127.0.1.1' /etc/hosts && sed -i 's/^127\\.0\\.1\\.1.*/127.0.1.1 " + req.hostname +
                   "/' /etc/hosts || echo '127.0.1.1 " + req.hostname + "' >> /etc/hosts\n";
        report.changed.push_back("hostname " + req.hostname);
    }
    if (!facts->subuid || !facts->subgid) {
        prepare += "touch /etc/subuid /etc/subgid && chmod 0644 /etc/subuid /etc/subgid\n";
        report.changed.push_back("/etc/subuid, /etc/subgid");
    }
    if (!differ.empty())
        prepare += "install -d -m 0755 /etc/docker /etc/systemd/system/docker.service.d /etc/audit/rules.d "
                   "/etc/ssh/sshd_config.d /etc/berth && install -d -m 0700 " + std::string(k_tls_dir) + "\n";
    if (!prepare.empty()) {
        auto ok = step(m_session, m, "preparing the host", prepare);
        if (!ok) return std::unexpected(ok.error());
    }

    if (!differ.empty()) spdlog::info("[{}] Hardening Docker, sshd, auditd and the firewall...", m);
    for (const auto* f : differ) {
        spdlog::debug("{}writing {} ({})", log_prefix(m), f->path, mode_text(f->mode));
        if (auto ok = m_session.upload(f->content, f->path, f->mode, f->owner); !ok) return std::unexpected(ok.error());
        report.changed.push_back(f->path);
    }

    lap("hardening");

    // Reload and restart only what changed.
    const bool units_changed = changed(k_dropin) || changed(k_firewall_unit);
    const bool docker_config_changed = changed(k_daemon_json) || changed(k_dropin) ||
                                       changed(std::string(k_tls_dir) + "/ca.pem") ||
                                       changed(std::string(k_tls_dir) + "/server-cert.pem") ||
                                       changed(std::string(k_tls_dir) + "/server-key.pem");
    const auto unit = [&](const std::string& name) {
        auto it = facts->units.find(name);
        return it == facts->units.end() ? std::pair<std::string, std::string>{"", ""} : it->second;
    };
    std::string apply;
    std::vector<std::string> restarted;
    if (units_changed) apply += "systemctl daemon-reload\n";
    if (changed(k_sshd_dropin)) {
        // A drop-in sshd refuses is taken back at once: berth must never lock itself out.
        apply += "if ! sshd -t; then rm -f " + std::string(k_sshd_dropin) +
                 "; echo 'sshd rejected the hardening drop-in; it was removed' >&2; exit 1; fi\n"
                 "systemctl try-reload-or-restart " + std::string(debian ? "ssh" : "sshd") + "\n";
        restarted.push_back(debian ? "ssh (reload)" : "sshd (reload)");
    }
    if (unit("berth-firewall").second != "enabled") apply += "systemctl enable berth-firewall 2>/dev/null\n";
    if (changed(k_firewall) || changed(k_firewall_unit) || unit("berth-firewall").first != "active") {
        // The unit loads the table (so it reads active, and loads it again at boot); nft checks
        // the file first, so a bad table never replaces a good one.
        apply += "nft -c -f " + std::string(k_firewall) + "\nsystemctl restart berth-firewall\n";
        restarted.push_back("berth-firewall");
    }
    if (changed(k_audit_rules)) {
        apply += "augenrules --load >/dev/null\n";
        restarted.push_back("audit rules");
    }
    if (unit("auditd").first != "active") apply += "systemctl enable --now auditd\n";
    if (debian && unit("apparmor").first != "active") apply += "systemctl enable --now apparmor\n";
    if (unit("docker").second != "enabled") apply += "systemctl enable docker 2>/dev/null\n";
    if (docker_config_changed || !report.installed.empty() || unit("docker").first != "active") {
        apply += "systemctl restart docker\n";
        restarted.push_back("docker");
    }
    if (!apply.empty()) {
        spdlog::info("[{}] Applying: {}", m, restarted.empty() ? std::string("service settings") : join(restarted, ", "));
        auto ok = step(m_session, m, "applying the configuration", "set -e\n" + apply, std::chrono::seconds(300));
        if (!ok) {
            Error e = ok.error();
            if (apply.find("systemctl restart docker") != std::string::npos) {
                auto journal = m_session.run("journalctl -u docker --no-pager -n 30 2>&1 | tail -n 30");
                if (journal && !journal->out.empty()) e.message += "\njournalctl -u docker:\n" + journal->out;
            }
            return std::unexpected(e);
        }
    }
    report.restarted = restarted;
    lap("restarts");

    // Verify through the Docker API over mutual TLS.
    spdlog::info("[{}] Verifying Docker through its API over mutual TLS...", m);
    if (auto ok = m_docker.wait_until_ready(std::chrono::seconds(120)); !ok) {
        Error e = ok.error();
        auto journal = m_session.run("journalctl -u docker --no-pager -n 30 2>&1 | tail -n 30");
        if (journal && !journal->out.empty()) e.message += "\njournalctl -u docker:\n" + journal->out;
        return std::unexpected(e);
    }
    auto info = m_docker.info();
    if (!info) return std::unexpected(info.error());
    if (info->contains("SecurityOptions") && (*info)["SecurityOptions"].is_array())
        for (const auto& o : (*info)["SecurityOptions"])
            if (o.is_string()) report.security_options.push_back(o.get<std::string>());
    if (auto ok = check_security_options(*info, {"userns", "seccomp", selinux ? "selinux" : "apparmor"}); !ok) {
        Error e = ok.error();
        e.message = "Docker on " + m + " failed the hardening check: " + e.message;
        return std::unexpected(e);
    }
    auto version = m_docker.version();
    if (!version) return std::unexpected(version.error());
    report.docker_version = version->value("Version", "");
    lap("verify");
    return report;
}

}  // namespace berth
