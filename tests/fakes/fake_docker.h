#pragma once
// A Docker API probe with scripted answers: /info's SecurityOptions, /version, and a daemon that
// answers /_ping or never does. Counts the waits; thread-safe (parallel creates share one).

#include <berth/provision/provisioner.h>

#include <atomic>

namespace berth::test {

class FakeDocker final : public DockerProbe {
public:
    nlohmann::json info_json = {
        {"SecurityOptions", {"name=apparmor", "name=seccomp,profile=default", "name=userns", "name=cgroupns"}}};
    nlohmann::json version_json = {{"Version", "20.10.24+dfsg1"}, {"ApiVersion", "1.41"}};
    bool ready = true;

    Result<void> wait_until_ready(std::chrono::seconds) override {
        ++m_waits;
        if (!ready) return fail("Docker on n1 did not answer /_ping at tcp://10.0.0.5:2376 within 120 s");
        return {};
    }
    Result<nlohmann::json> info() override { return info_json; }
    Result<nlohmann::json> version() override { return version_json; }
    [[nodiscard]] int waits() const { return m_waits; }

private:
    std::atomic<int> m_waits{0};
};

}  // namespace berth::test
