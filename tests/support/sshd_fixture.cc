#include "sshd_fixture.h"

#include <berth/process/runner.h>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

extern char** environ;

namespace berth::test {
namespace {

int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool port_open(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

}  // namespace

std::string run_checked(const std::vector<std::string>& argv) {
    ProcessRunner runner;
    Command c;
    c.argv = argv;
    c.timeout = std::chrono::seconds(60);
    auto r = runner.run(c);
    REQUIRE(r);
    INFO(format_argv(argv) << "\n" << r->err);
    REQUIRE(r->exit_status == 0);
    return r->out;
}

SshdFixture::SshdFixture(bool start_now) {
    std::filesystem::create_directories("/run/sshd");
    make_host_key();
    run_checked({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "berth-test", "-f", client_key().string()});
    std::ifstream pub(client_key().string() + ".pub");
    std::string line;
    std::getline(pub, line);
    authorize(line);
    m_port = free_port();
    std::ofstream cfg(m_dir / "sshd_config");
    cfg << "Port " << m_port << "\n"
        << "ListenAddress 127.0.0.1\n"
        << "ListenAddress 127.0.0.2\n"  // a second address of the same host (host keys pinned by machine)
        << "HostKey " << (m_dir / "host_key").string() << "\n"
        << "PidFile " << (m_dir / "sshd.pid").string() << "\n"
        << "AuthorizedKeysFile " << (m_dir / "authorized_keys").string() << "\n"
        << "StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        << "PermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\nLogLevel ERROR\n"
        << "MaxStartups 100\nClientAliveInterval 0\n";
    cfg.close();
    if (start_now) start();
}

SshdFixture::~SshdFixture() { stop(); }

void SshdFixture::make_host_key() {
    std::filesystem::remove(m_dir / "host_key");
    std::filesystem::remove(m_dir / "host_key.pub");
    run_checked({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", (m_dir / "host_key").string()});
}

void SshdFixture::authorize(const std::string& public_key_line) {
    std::ofstream out(m_dir / "authorized_keys", std::ios::app);
    out << public_key_line << "\n";
}

void SshdFixture::start() {
    const std::string cfg = (m_dir / "sshd_config").string();
    std::vector<std::string> args = {"/usr/sbin/sshd", "-D", "-e", "-f", cfg};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = (m_dir / "sshd.log").string();
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    REQUIRE(::posix_spawn(&m_pid, argv[0], &actions, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    for (int i = 0; i < 200 && !port_open(m_port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    REQUIRE(port_open(m_port));
}

void SshdFixture::stop() {
    if (m_pid <= 0) return;
    ::kill(m_pid, SIGTERM);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
    // Connections forked from the old server die with their clients; new ones must not reach it.
    for (int i = 0; i < 200 && port_open(m_port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
}

void SshdFixture::restart_with_new_host_key() {
    stop();
    make_host_key();
    start();
}

std::string SshdFixture::host_key_line() const {
    std::ifstream in(m_dir / "host_key.pub");
    std::string line;
    std::getline(in, line);
    return line;
}

std::string SshdFixture::host_key_fingerprint() const {
    std::string out = run_checked({"ssh-keygen", "-l", "-E", "sha256", "-f", (m_dir / "host_key.pub").string()});
    auto start = out.find("SHA256:");
    auto end = out.find(' ', start);
    return out.substr(start, end - start);
}

}  // namespace berth::test
