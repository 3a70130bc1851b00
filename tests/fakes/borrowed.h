#pragma once
// A Session and a DockerProbe that forward to ones the test owns, for Ports whose opener and
// factory hand out unique_ptrs: the service drops its copy when it is done, and the test still
// holds the ScriptedSession's transcript and the FakeDocker's counts to check.

#include <berth/docker/docker_probe.h>
#include <berth/transport/session.h>

namespace berth::test {

class BorrowedSession final : public Session {
public:
    explicit BorrowedSession(Session& target) : m_target(target) {}
    Result<RemoteResult> run(std::string_view script, std::chrono::seconds timeout) override {
        return m_target.run(script, timeout);
    }
    Result<RemoteResult> run_streaming(std::string_view script, std::chrono::seconds timeout,
                                       const std::function<void(std::string_view)>& on_out) override {
        return m_target.run_streaming(script, timeout, on_out);
    }
    Result<void> upload_all(const std::vector<FileUpload>& files) override { return m_target.upload_all(files); }
    Result<std::string> read(const std::string& path) override { return m_target.read(path); }
    int channels_opened() const override { return m_target.channels_opened(); }
    std::string host_key_fingerprint() const override { return m_target.host_key_fingerprint(); }

private:
    Session& m_target;
};

class BorrowedDocker final : public DockerProbe {
public:
    explicit BorrowedDocker(DockerProbe& target) : m_target(target) {}
    Result<void> wait_until_ready(std::chrono::seconds timeout) override { return m_target.wait_until_ready(timeout); }
    Result<nlohmann::json> info() override { return m_target.info(); }
    Result<nlohmann::json> version() override { return m_target.version(); }
    Result<void> refuses_anonymous_client() override { return m_target.refuses_anonymous_client(); }
    Result<std::vector<nlohmann::json>> running_containers() override { return m_target.running_containers(); }
    Result<ApiAnswer> authz_probe() override { return m_target.authz_probe(); }
    Result<ApiAnswer> call(std::string_view method, std::string_view path, const std::string& body) override {
        return m_target.call(method, path, body);
    }

private:
    DockerProbe& m_target;
};

}  // namespace berth::test
