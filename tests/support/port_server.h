#pragma once
// A test server started as a child process (a python3 script under tests/support/) that prints the
// port it bound on the first line of its stdout; stopped (SIGTERM, then reaped) with the object.

#include <filesystem>
#include <string>
#include <sys/types.h>
#include <vector>

namespace berth::test {

class PortServer {
public:
    /// Runs argv (looked up on PATH); the child's stderr goes to `stderr_log`. Fails the test if it
    /// does not print a port within 10 s, showing that log.
    PortServer(std::vector<std::string> argv, const std::filesystem::path& stderr_log);
    ~PortServer();
    PortServer(const PortServer&) = delete;
    PortServer& operator=(const PortServer&) = delete;

    [[nodiscard]] int port() const { return m_port; }

private:
    pid_t m_pid = -1;
    int m_port = 0;
};

}  // namespace berth::test
