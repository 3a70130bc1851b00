#pragma once
/// The steps that set the host up around the files:
///   HostnameStep       the host name (and its 127.0.1.1 line in /etc/hosts), when one is asked;
///   SubidsStep         /etc/subuid and /etc/subgid, without which dockerd with userns-remap
///                      fails to start;
///   AllowListDirStep   /srv/berth (root:root 0755), the default policy's bind-mount allow-list,
///                      made when it is missing;
///   DockerServiceStep  the units the daemon needs running: apparmor on Debian and Ubuntu, docker
///                      itself (enabled, and restarted when it is not active).
/// The first three go into the "preparing the host" script, the last into "applying the
/// configuration".

#include <berth/provision/step.h>

#include <string>

namespace berth {

class HostnameStep final : public Step {
public:
    /// `hostname` "" leaves the host name alone (generic hosts).
    explicit HostnameStep(std::string hostname);

    [[nodiscard]] std::string name() const override { return "hostname"; }
    [[nodiscard]] Drift check(const Facts& facts) const override;
    void apply(const Facts& facts, Changes& changes) const override;

private:
    std::string m_hostname;
};

class SubidsStep final : public Step {
public:
    [[nodiscard]] std::string name() const override { return "subids"; }
    [[nodiscard]] Drift check(const Facts& facts) const override;
    void apply(const Facts& facts, Changes& changes) const override;
};

class AllowListDirStep final : public Step {
public:
    [[nodiscard]] std::string name() const override { return "bind-mount directory"; }
    [[nodiscard]] Drift check(const Facts& facts) const override;
    void apply(const Facts& facts, Changes& changes) const override;
};

class DockerServiceStep final : public Step {
public:
    /// `debian`: AppArmor confines the containers (on the RHEL family SELinux does, always on).
    explicit DockerServiceStep(bool debian);

    [[nodiscard]] std::string name() const override { return "docker service"; }
    [[nodiscard]] Drift check(const Facts& facts) const override;
    void apply(const Facts& facts, Changes& changes) const override;

private:
    bool m_debian;
};

}  // namespace berth
