#pragma once
/// A minimal Docker Engine API client over mutual TLS (libcurl). berth checks every host it
/// hardens through the API the user will use: GET /_ping, /info and /version, never netstat.
/// Only the machine's own CA is trusted (never the system store) and no proxy is ever used.

#include <berth/core/error.h>
#include <berth/docker/docker_probe.h>
#include <berth/docker/docker_tls.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

class DockerClient final : public DockerProbe {
public:
    /// url: tcp://HOST:PORT (as berth records it; talk https to it). Verifies the server against
    /// `tls.ca` and the HOST (IP or DNS SAN), presents the client cert. A malformed url is
    /// reported by the first request, as a Usage error.
    DockerClient(std::string url, DockerTls tls,
                 std::chrono::milliseconds request_timeout = std::chrono::seconds(10));

    /// GET /_ping; succeeds when the daemon answers 200 "OK".
    [[nodiscard]] Result<void> ping();
    /// GET /info, parsed; a body that is not a JSON object is an Error.
    [[nodiscard]] Result<nlohmann::json> info() override;
    /// GET /version, parsed; a body that is not a JSON object is an Error.
    [[nodiscard]] Result<nlohmann::json> version() override;

    /// Polls ping() until it answers or `timeout` passes (back-off 250 ms -> 2 s). A refused or
    /// timed-out connection, a dropped handshake or an HTTP error is retried (a restarting dockerd);
    /// then the error names the URL, the last failure and how long it waited. A failure waiting
    /// cannot mend ends it at once: the daemon's certificate does not verify against the machine's
    /// CA (the hint names `berth regenerate-certs NAME`), berth's certificate files are missing or
    /// unusable, the URL is malformed.
    [[nodiscard]] Result<void> wait_until_ready(std::chrono::seconds timeout) override;

    /// GET /_ping without the client certificate: succeeds only when the daemon refuses it.
    [[nodiscard]] Result<void> refuses_anonymous_client() override;

    [[nodiscard]] Result<std::vector<nlohmann::json>> running_containers() override;
    [[nodiscard]] Result<ApiAnswer> authz_probe() override;
    /// Waits up to a minute: a swarm init or join answers once the node has its certificates.
    [[nodiscard]] Result<ApiAnswer> call(std::string_view method, std::string_view path,
                                         const std::string& json_body) override;

    [[nodiscard]] const std::string& url() const { return m_url; }

private:
    /// GET `path`; the body of a 2xx answer, or an Error that says what to do.
    /// `client_cert` false leaves the client certificate out (refuses_anonymous_client).
    Result<std::string> get(std::string_view path, std::chrono::milliseconds timeout, bool client_cert = true);
    /// `method` ("GET" or "POST", with `json_body` as application/json) `path`: any HTTP answer,
    /// or an Error when none came.
    Result<ApiAnswer> send(std::string_view method, std::string_view path, const std::string& json_body,
                           std::chrono::milliseconds timeout, bool client_cert = true);
    Result<void> ping_within(std::chrono::milliseconds timeout);
    Result<nlohmann::json> get_json(std::string_view path);

    std::string m_url;
    DockerTls m_tls;
    std::chrono::milliseconds m_request_timeout;
};

/// The body of a Docker API answer to GET `path` from `url`, parsed: a JSON object, or an Error
/// that quotes the start of the body (what DockerClient::info() and version() return).
[[nodiscard]] Result<nlohmann::json> parse_api_answer(std::string_view body, std::string_view path,
                                                      std::string_view url);

/// Checks /info's SecurityOptions: every one of `required` (e.g. {"userns","seccomp","apparmor"})
/// must appear as "name=<x>" (possibly with ",key=value" after). An entry may list alternatives
/// separated by '|' ("apparmor|selinux": either will do). The error lists what is missing and
/// what is there.
[[nodiscard]] Result<void> check_security_options(const nlohmann::json& info,
                                                  const std::vector<std::string>& required);

}  // namespace berth
