#pragma once
// A DockerProbe answering scripted /info and /version: a hardened daemon on Debian by default
// (AppArmor, seccomp, userns), its readiness wait counted and able to fail as a daemon that never
// answered would, so tests can assert whether and how often the daemon was verified. The counters
// are atomic: parallel creates in one test share one FakeDocker.

#include <berth/docker/docker_probe.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <string_view>
#include <string>
#include <vector>

namespace berth::test {

class FakeDocker final : public DockerProbe {
public:
    nlohmann::json info_json = {
        {"SecurityOptions",
         {"name=apparmor", "name=seccomp,profile=default", "name=userns", "name=cgroupns"}}};
    nlohmann::json version_json = {{"Version", "20.10.24+dfsg1"}, {"ApiVersion", "1.41"}};
    bool ready = true;  ///< false: wait_until_ready fails
    std::atomic<int> waits = 0;     ///< wait_until_ready calls
    std::atomic<int> infos = 0;     ///< info calls
    std::atomic<int> versions = 0;  ///< version calls
    bool anonymous_accepted = false;         ///< true: the daemon answers a client without a certificate
    std::atomic<int> anonymous_checks = 0;   ///< refuses_anonymous_client calls
    std::vector<nlohmann::json> containers;  ///< inspect objects of the running containers
    /// What POST /containers/create of the authorization probe answers: berth-authz's refusal.
    ApiAnswer probe_answer = {403, R"({"message":"authorization denied by plugin berth-authz: berth-authz: )"
                                   R"x(--privileged is refused on this host (rule privileged in /etc/berth/authz.yaml)"})x"};
    std::atomic<int> probes = 0;             ///< authz_probe calls

    Result<void> wait_until_ready(std::chrono::seconds) override {
        ++waits;
        if (!ready) return fail("Docker on n1 did not answer /_ping at tcp://10.0.0.5:2376 within 120 s");
        return {};
    }
    Result<nlohmann::json> info() override {
        ++infos;
        return info_json;
    }
    Result<nlohmann::json> version() override {
        ++versions;
        return version_json;
    }
    Result<void> refuses_anonymous_client() override {
        ++anonymous_checks;
        if (anonymous_accepted)
            return fail("Docker at tcp://10.0.0.5:2376 answers a client without a certificate (HTTP 200)");
        return {};
    }
    Result<std::vector<nlohmann::json>> running_containers() override { return containers; }
    Result<ApiAnswer> authz_probe() override {
        ++probes;
        return probe_answer;
    }
    /// Answers call(); unset: 404 for every path.
    std::function<Result<ApiAnswer>(std::string_view method, std::string_view path, const std::string& body)> api;
    Result<ApiAnswer> call(std::string_view method, std::string_view path, const std::string& body) override {
        if (api) return api(method, path, body);
        return ApiAnswer{404, R"({"message":"page not found"})"};
    }
};

}  // namespace berth::test
