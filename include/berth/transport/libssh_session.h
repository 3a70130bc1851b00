#pragma once
/// The real Session, with libssh: key authentication, the host key pinned in the machine's own
/// known_hosts on first contact and checked on every later connection, connect retries with
/// back-off, command timeouts, keepalives, SFTP uploads.

#include <berth/transport/session.h>
#include <berth/transport/ssh_options.h>

#include <filesystem>
#include <memory>

namespace berth {

class LibsshSession final : public Session {
public:
    /// Connects (retrying with back-off until connect_timeout), checks the host key against
    /// `target.known_hosts` by `options.host_key`, and authenticates with the key.
    [[nodiscard]] static Result<std::unique_ptr<LibsshSession>> connect(const SshTarget& target,
                                                                        const SshOptions& options);
    ~LibsshSession() override;

    [[nodiscard]] Result<RemoteResult> run(std::string_view script,
                                           std::chrono::seconds timeout = std::chrono::seconds(0)) override;
    [[nodiscard]] Result<RemoteResult> run_streaming(std::string_view script, std::chrono::seconds timeout,
                                                     const std::function<void(std::string_view)>& on_out) override;
    [[nodiscard]] Result<void> upload_all(const std::vector<FileUpload>& files) override;
    [[nodiscard]] Result<std::string> read(const std::string& path) override;

    [[nodiscard]] int channels_opened() const override { return m_channels; }
    [[nodiscard]] std::string host_key_fingerprint() const override { return m_fingerprint; }

private:
    struct Impl;
    explicit LibsshSession(std::unique_ptr<Impl> impl);
    [[nodiscard]] Result<RemoteResult> exec(const std::string& command, std::string_view input,
                                            std::chrono::seconds timeout,
                                            const std::function<void(std::string_view)>& on_out = {});
    /// upload_all's parts: a fresh private directory made over SFTP (no remote command), the
    /// files written into it over SFTP (`staged` gets each one written), and their removal over
    /// SFTP when the install command never ran.
    [[nodiscard]] Result<std::string> make_staging_dir();
    [[nodiscard]] Result<void> stage(const std::string& dir, const std::vector<FileUpload>& files,
                                     std::vector<std::string>& staged);
    void remove_staged(const std::string& dir, const std::vector<std::string>& staged);
    std::unique_ptr<Impl> m_impl;
    SshTarget m_target;
    SshOptions m_options;
    int m_channels = 0;
    std::string m_fingerprint;
};

}  // namespace berth
