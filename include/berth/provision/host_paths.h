#pragma once
/// Where berth puts what it manages on a host, and the Docker paths it has auditd watch. The facts
/// command reports on exactly these paths; the steps write them.

#include <string>
#include <vector>

namespace berth {

inline constexpr const char* k_tls_dir = "/etc/docker/tls";
inline const std::string k_ca_path = std::string(k_tls_dir) + "/ca.pem";
inline const std::string k_server_cert_path = std::string(k_tls_dir) + "/server-cert.pem";
inline const std::string k_server_key_path = std::string(k_tls_dir) + "/server-key.pem";
inline constexpr const char* k_daemon_json = "/etc/docker/daemon.json";
/// dockerd's environment (--engine-env), root-only: it may hold a proxy password. The drop-in
/// reads it with EnvironmentFile=, so no value is in a unit that `systemctl show` prints.
inline constexpr const char* k_engine_env = "/etc/docker/berth-engine.env";
inline constexpr const char* k_dropin = "/etc/systemd/system/docker.service.d/10-berth.conf";
/// containerd's runtime directory made at boot by systemd-tmpfiles, before auditd loads the rules:
/// the watch on containerd.sock needs its parent directory, and without it auditctl stops at that
/// rule and loads none after it.
inline constexpr const char* k_containerd_tmpfiles = "/etc/tmpfiles.d/berth-containerd.conf";
inline constexpr const char* k_audit_rules = "/etc/audit/rules.d/berth-docker.rules";
inline constexpr const char* k_sshd_dropin = "/etc/ssh/sshd_config.d/00-berth.conf";
inline constexpr const char* k_firewall = "/etc/berth/firewall.nft";
inline constexpr const char* k_firewall_unit = "/etc/systemd/system/berth-firewall.service";
/// berth-authz, the Docker authorization plugin berth builds and installs (docs/hardening.md): its
/// program, its policy and its two units (socket-activated: systemd listens on k_authz_socket).
inline constexpr const char* k_authz_binary = "/usr/local/sbin/berth-authz";
inline constexpr const char* k_authz_policy = "/etc/berth/authz.yaml";
/// The serials of revoked client certificates (`berth certs revoke`), beside the policy and
/// always berth's (also with --authz-policy), so revocation holds whatever the policy says.
inline constexpr const char* k_authz_revoked = "/etc/berth/authz-revoked.yaml";
inline constexpr const char* k_authz_socket_unit = "/etc/systemd/system/berth-authz.socket";
inline constexpr const char* k_authz_service_unit = "/etc/systemd/system/berth-authz.service";
inline constexpr const char* k_authz_socket = "/run/docker/plugins/berth-authz.sock";
/// apt's proxy (--engine-apt-proxy), on apt hosts only: written before a package install, and
/// always there (a comment alone when the machine has no proxy), so that removing the proxy
/// removes it from the host.
inline constexpr const char* k_apt_proxy = "/etc/apt/apt.conf.d/90berth-proxy";
/// The default policy's bind-mount allow-list: the one host directory containers may bind-mount.
inline constexpr const char* k_bind_allow_dir = "/srv/berth";

/// Every file berth manages, in the order they are written.
[[nodiscard]] inline std::vector<std::string> managed_paths() {
    return {k_ca_path, k_server_cert_path, k_server_key_path, k_daemon_json, k_engine_env, k_dropin, k_containerd_tmpfiles, k_audit_rules,
            k_sshd_dropin, k_firewall, k_firewall_unit, k_authz_binary, k_authz_policy, k_authz_revoked, k_authz_socket_unit,
            k_authz_service_unit, k_apt_proxy};
}

/// The directories berth makes when they are missing (root:root 0755); the facts report them.
[[nodiscard]] inline std::vector<std::string> managed_dirs() { return {k_bind_allow_dir}; }

/// Docker's binaries, directories, units and files (CIS Docker Benchmark 1.1.3-1.1.18), at the
/// places Debian, Ubuntu, Fedora and Docker's own packages put them. Those that exist are watched.
inline const std::vector<std::string> k_audit_candidates = {
    "/usr/bin/dockerd", "/usr/sbin/dockerd", "/run/containerd", "/var/lib/docker", "/etc/docker",
    "/lib/systemd/system/docker.service", "/usr/lib/systemd/system/docker.service",
    "/run/containerd/containerd.sock", "/lib/systemd/system/docker.socket",
    "/usr/lib/systemd/system/docker.socket", "/etc/default/docker", "/etc/docker/daemon.json",
    "/etc/containerd/config.toml", "/etc/sysconfig/docker", "/usr/bin/containerd",
    "/usr/bin/containerd-shim", "/usr/bin/containerd-shim-runc-v1", "/usr/bin/containerd-shim-runc-v2",
    "/usr/bin/runc", "/usr/sbin/runc", "/usr/bin/docker",
};

/// The candidates watched whether or not they exist when the facts are read: berth makes
/// /etc/docker and daemon.json, dockerd makes /var/lib/docker at its first start (after the rules
/// are written, as Docker is held back during the install), containerd its socket, and
/// /run/containerd is made at boot (k_containerd_tmpfiles). auditctl adds a watch on a path that
/// does not exist yet when its parent does; the rules so come out the same whether dockerd or
/// containerd ran yet, and they all load at boot.
inline const std::vector<std::string> k_audit_always = {"/run/containerd", "/var/lib/docker", "/etc/docker",
                                                        "/run/containerd/containerd.sock", "/etc/docker/daemon.json"};

}  // namespace berth
