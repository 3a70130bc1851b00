#pragma once
/// The real Session, with libssh: key authentication, the host key pinned in the machine's own
/// known_hosts on first contact and checked on every later connection, connect retries with
/// back-off, command timeouts, keepalives, SFTP uploads.

#include <berth/transport/session.h>

#include <filesystem>
#include <memory>

namespace berth {

struct SshTarget {
    std::string host;
    int port = 22;
    std::string user = "root";
    std::filesystem::path key;          ///< private key file
    std::filesystem::path known_hosts;  ///< the machine's own pinned host key(s)
    std::string machine;                ///< for messages and log prefixes
};

enum class HostKeyPolicy {
    PinOnFirstUse,  ///< an empty known_hosts accepts and pins the key (create); a pinned key must match
    RequirePinned,  ///< a key must be pinned already and match (every later connection)
    ReplacePinned,  ///< accept a changed key and pin it (the user asked for it explicitly)
};

struct SshOptions {
    std::chrono::seconds connect_timeout{120};  ///< total time to keep retrying the connection
    std::chrono::seconds command_timeout{900};  ///< default per-command timeout
    std::chrono::seconds keepalive{30};         ///< an SSH ignore message this often while waiting
    HostKeyPolicy host_key = HostKeyPolicy::RequirePinned;
};

class LibsshSession final : public Session {
public:
    /// Connects (retrying with back-off until connect_timeout), checks the host key against
    /// `target.known_hosts` by `options.host_key`, and authenticates with the key.
    [[nodiscard]] static Result<std::unique_ptr<LibsshSession>> connect(const SshTarget& target,
                                                                        const SshOptions& options);
    ~LibsshSession() override;

    [[nodiscard]] Result<RemoteResult> run(std::string_view script,
                                           std::chrono::seconds timeout = std::chrono::seconds(0)) override;
    [[nodiscard]] Result<void> upload(std::string_view content, const std::string& path, unsigned mode,
                                      const std::string& owner = "root:root") override;
    [[nodiscard]] Result<std::string> read(const std::string& path) override;

    /// Counters for the benchmark: connections opened (always 1) and channels (remote commands).
    [[nodiscard]] int channels_opened() const { return m_channels; }
    /// "SHA256:..." of the server's host key.
    [[nodiscard]] const std::string& host_key_fingerprint() const { return m_fingerprint; }

private:
    struct Impl;
    explicit LibsshSession(std::unique_ptr<Impl> impl);
    [[nodiscard]] Result<RemoteResult> exec(const std::string& command, std::string_view input,
                                            std::chrono::seconds timeout);
    std::unique_ptr<Impl> m_impl;
    SshTarget m_target;
    SshOptions m_options;
    int m_channels = 0;
    std::string m_fingerprint;
};

}  // namespace berth
