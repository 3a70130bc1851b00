#pragma once
// A real OpenSSH server on 127.0.0.1 (and 127.0.0.2) for integration tests: its own host key, config and
// authorized_keys in a temp dir, started with `sshd -D` on a free port, stopped with the fixture.
// Tests run as root, so the server's root is the test's root and remote paths are local paths.

#include "temp_dir.h"

#include <filesystem>
#include <string>
#include <sys/types.h>
#include <vector>

namespace berth::test {

class SshdFixture {
public:
    /// Generates a host key and a client key, starts sshd; with `start` false, call start() later.
    explicit SshdFixture(bool start_now = true);
    ~SshdFixture();
    SshdFixture(const SshdFixture&) = delete;
    SshdFixture& operator=(const SshdFixture&) = delete;

    void start();
    void stop();
    /// Stops sshd, gives it a new host key and starts it again on the same port.
    void restart_with_new_host_key();

    [[nodiscard]] int port() const { return m_port; }
    [[nodiscard]] std::filesystem::path client_key() const { return m_dir / "client_key"; }
    [[nodiscard]] std::filesystem::path dir() const { return m_dir.path(); }
    /// "SHA256:..." of the current host key, from ssh-keygen.
    [[nodiscard]] std::string host_key_fingerprint() const;
    /// "ssh-ed25519 AAAA... comment" of the current host key.
    [[nodiscard]] std::string host_key_line() const;
    /// Adds a public key line to authorized_keys.
    void authorize(const std::string& public_key_line);

private:
    void make_host_key();
    TempDir m_dir;
    int m_port = 0;
    pid_t m_pid = -1;
};

/// Runs argv, returns stdout; fails the test if it exits non-zero.
std::string run_checked(const std::vector<std::string>& argv);

}  // namespace berth::test
