#include "port_server.h"

#include <berth/core/error.h>
#include <berth/store/atomic_file.h>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>

extern char** environ;

namespace berth::test {

PortServer::PortServer(std::vector<std::string> args, const std::filesystem::path& stderr_log) {
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);

    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    const std::string log = stderr_log.string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    const int spawned = ::posix_spawnp(&m_pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (spawned != 0) {
        ::close(out[0]);
        m_pid = -1;
        FAIL("cannot start " << args[0] << ": " << berth::errno_text(spawned));
    }

    // The script prints its port as soon as it has bound.
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        pollfd pfd{out[0], POLLIN, 0};
        if (::poll(&pfd, 1, 100) <= 0) continue;
        char buf[64];
        const ssize_t n = ::read(out[0], buf, sizeof buf);
        if (n <= 0) break;
        line.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    INFO(args.at(1 < args.size() ? 1 : 0) << " stderr: " << berth::read_file(stderr_log).value_or(""));
    REQUIRE(line.find('\n') != std::string::npos);
    m_port = std::stoi(line);
    REQUIRE(m_port > 0);
}

PortServer::~PortServer() {
    if (m_pid <= 0) return;
    ::kill(m_pid, SIGTERM);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
}

}  // namespace berth::test
