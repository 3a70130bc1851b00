#pragma once
/// berth's managed files as a provision uploads them when every one differs (the order of
/// managed_paths()), with the mode each is written with. One list for every test that scripts a
/// session (provisioner, create flow, bake, the libvirt stress test); apt's proxy file is last,
/// and only on apt hosts (k_apt_proxy_upload).

#include <vector>

namespace berth::test {

struct ManagedUpload {
    const char* path;
    unsigned mode;
};

inline const std::vector<ManagedUpload> k_managed_uploads = {
    {"/etc/docker/tls/ca.pem", 0444},
    {"/etc/docker/tls/server-cert.pem", 0444},
    {"/etc/docker/tls/server-key.pem", 0400},
    {"/etc/docker/daemon.json", 0644},
    {"/etc/docker/berth-engine.env", 0600},
    {"/etc/systemd/system/docker.service.d/10-berth.conf", 0644},
    {"/etc/tmpfiles.d/berth-containerd.conf", 0644},
    {"/etc/audit/rules.d/berth-docker.rules", 0640},
    {"/etc/ssh/sshd_config.d/00-berth.conf", 0644},
    {"/etc/berth/firewall.nft", 0644},
    {"/etc/systemd/system/berth-firewall.service", 0644},
    {"/usr/local/sbin/berth-authz", 0755},
    {"/etc/berth/authz.yaml", 0644},
    {"/etc/berth/authz-revoked.yaml", 0644},
    {"/etc/systemd/system/berth-authz.socket", 0644},
    {"/etc/systemd/system/berth-authz.service", 0644},
};

inline constexpr ManagedUpload k_apt_proxy_upload = {"/etc/apt/apt.conf.d/90berth-proxy", 0644};

/// k_managed_uploads and apt's proxy file: every file of a first provision on a Debian host.
inline std::vector<ManagedUpload> debian_uploads() {
    auto all = k_managed_uploads;
    all.push_back(k_apt_proxy_upload);
    return all;
}

}  // namespace berth::test
