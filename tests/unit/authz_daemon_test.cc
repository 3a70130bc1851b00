// The berth-authz binary itself: fully static (no NEEDED entries), and the daemon over a real
// unix socket: keep-alive, two clients at once, bad requests answered 400 without harm, SIGHUP
// reloads (a bad new policy keeps the old), --check-policy, a bad policy at start, SIGTERM.

#include "authz_test_support.h"

#include <catch2/catch.hpp>

#include <elf.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

extern char** environ;

using berth::authz::test::authz_req;
using berth::authz::test::read_text;
using berth::authz::test::TempDir;

namespace {

const char* const k_binary = BERTH_AUTHZ_BINARY;

const std::string k_policy = "version: 1\ndefault_role: restricted\nroles:\n  restricted: {}\n  admin:\n    waive: all\n"
                             "users:\n  boss: admin\n";
const std::string k_privileged = authz_req("student", "POST", "/v1.41/containers/create",
                                           R"({"Image":"a","HostConfig":{"Privileged":true}})");

// Runs the binary with `args`, stderr (and stdout) into `log`; returns the pid.
pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
    std::vector<char*> argv{const_cast<char*>(k_binary)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, k_binary, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    REQUIRE(rc == 0);
    return pid;
}

int wait_exit(pid_t pid) {
    for (int i = 0; i < 500; ++i) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    FAIL("berth-authz did not exit");
    return -1;
}

int run(const std::vector<std::string>& args, const std::string& log) { return wait_exit(spawn(args, log)); }

int connect_to(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

void send_text(int fd, const std::string& text) {
    REQUIRE(::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size()));
}

std::string post(const std::string& path, const std::string& body) {
    return "POST " + path + " HTTP/1.1\r\nHost: plugin\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

struct Response {
    int status = 0;
    std::string head;
    std::string body;
};

// One response read from `fd` (status 0 when the connection closed first); `pending` keeps what
// came after it.
Response read_response(int fd, std::string& pending) {
    Response r;
    auto fill = [&]() {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0) return false;
        char buf[4096];
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) return false;
        pending.append(buf, static_cast<std::size_t>(n));
        return true;
    };
    std::size_t end;
    while ((end = pending.find("\r\n\r\n")) == std::string::npos)
        if (!fill()) return r;
    r.head = pending.substr(0, end);
    const auto cl = r.head.find("Content-Length: ");
    REQUIRE(cl != std::string::npos);
    const std::size_t length = std::stoul(r.head.substr(cl + 16));
    while (pending.size() < end + 4 + length)
        if (!fill()) return r;
    r.body = pending.substr(end + 4, length);
    r.status = std::stoi(r.head.substr(9, 3));
    pending.erase(0, end + 4 + length);
    return r;
}

Response call(const std::string& socket, const std::string& raw) {
    const int fd = connect_to(socket);
    REQUIRE(fd >= 0);
    send_text(fd, raw);
    std::string pending;
    Response r = read_response(fd, pending);
    ::close(fd);
    return r;
}

bool closed_by_peer(int fd) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return false;
    char c;
    return ::read(fd, &c, 1) == 0;
}

struct Daemon {
    TempDir dir;
    std::string socket = dir / "plugins/berth-authz.sock";
    std::string policy = dir / "authz.yaml";
    std::string revoked = dir / "authz-revoked.yaml";  // not there until a test writes it: none revoked
    std::string log = dir / "log";
    pid_t pid = -1;
    Daemon() {
        std::filesystem::create_directories(dir.path() / "plugins");
        write(k_policy);
        pid = spawn({"--policy", policy, "--revoked", revoked, "--socket", socket}, log);
        bool listening = false;  // the file appears at bind(), connections work after listen()
        for (int i = 0; i < 500 && !listening; ++i) {
            const int fd = connect_to(socket);
            listening = fd >= 0;
            if (listening) ::close(fd);
            else std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        INFO(read_text(log));
        REQUIRE(listening);
    }
    ~Daemon() {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }
    void write(const std::string& text) const {
        std::ofstream(policy, std::ios::trunc) << text;
    }
    // SIGHUP, then wait for the daemon's answer in the log.
    void reload(const std::string& expect_in_log) const {
        const auto before = read_text(log).size();
        ::kill(pid, SIGHUP);
        for (int i = 0; i < 500; ++i) {
            if (read_text(log).find(expect_in_log, before) != std::string::npos) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        FAIL("no \"" << expect_in_log << "\" in the log:\n" << read_text(log));
    }
};

nlohmann::json answer(const Response& r) {
    INFO(r.head << "\n" << r.body);
    REQUIRE(r.status == 200);
    return nlohmann::json::parse(r.body);
}

}  // namespace

TEST_CASE("berth-authz is linked fully static: no interpreter, no NEEDED entries", "[authz][daemon]") {
    const std::string image = read_text(k_binary);
    REQUIRE(image.size() > sizeof(Elf64_Ehdr));
    Elf64_Ehdr eh;
    std::memcpy(&eh, image.data(), sizeof eh);
    REQUIRE(std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0);
    REQUIRE(eh.e_ident[EI_CLASS] == ELFCLASS64);
    int needed = 0, interpreters = 0;
    for (int i = 0; i < eh.e_phnum; ++i) {
        Elf64_Phdr ph;
        REQUIRE(eh.e_phoff + (i + 1) * sizeof ph <= image.size());
        std::memcpy(&ph, image.data() + eh.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type == PT_INTERP) ++interpreters;
        if (ph.p_type != PT_DYNAMIC) continue;
        for (std::size_t off = ph.p_offset; off + sizeof(Elf64_Dyn) <= ph.p_offset + ph.p_filesz; off += sizeof(Elf64_Dyn)) {
            Elf64_Dyn dyn;
            std::memcpy(&dyn, image.data() + off, sizeof dyn);
            if (dyn.d_tag == DT_NEEDED) ++needed;
        }
    }
    CHECK(interpreters == 0);
    CHECK(needed == 0);
}

TEST_CASE("berth-authz serves the plugin protocol on its socket with keep-alive", "[authz][daemon]") {
    Daemon d;
    struct stat st {};
    REQUIRE(::stat(d.socket.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    const int fd = connect_to(d.socket);
    REQUIRE(fd >= 0);
    std::string pending;
    send_text(fd, post("/Plugin.Activate", ""));
    CHECK(answer(read_response(fd, pending)) == nlohmann::json::parse(R"({"Implements":["authz"]})"));
    // Two requests in one write, on the same connection.
    send_text(fd, post("/AuthZPlugin.AuthZReq", k_privileged) +
                      post("/AuthZPlugin.AuthZReq", authz_req("boss", "POST", "/containers/create",
                                                              R"({"HostConfig":{"Privileged":true}})")));
    auto refused = answer(read_response(fd, pending));
    CHECK(refused["Allow"] == false);
    CHECK(refused["Msg"] == "berth-authz: --privileged is refused on this host (rule privileged in " + d.policy + ")");
    CHECK(answer(read_response(fd, pending))["Allow"] == true);
    send_text(fd, post("/AuthZPlugin.AuthZRes", R"({"RequestMethod":"GET","ResponseStatusCode":200})"));
    CHECK(answer(read_response(fd, pending))["Allow"] == true);
    ::close(fd);
    const std::string log = read_text(d.log);
    CHECK(log.find("refused user=\"student\" authn=\"TLS\" method=\"POST\" uri=\"/v1.41/containers/create\" "
                   "rule=privileged what=\"--privileged\"") != std::string::npos);
    CHECK(log.find("user=\"boss\"") == std::string::npos);  // allowed requests leave no line
}

TEST_CASE("berth-authz answers bad requests with 400 and keeps serving", "[authz][daemon]") {
    Daemon d;
    for (const std::string& raw : {std::string("GARBAGE\r\n\r\n"),
                                  std::string("POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                                  std::string("POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"),
                                  std::string("POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
                                  std::string("POST /x HTTP/2.0\r\n\r\n"), "POST /x HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n"}) {
        const int fd = connect_to(d.socket);
        REQUIRE(fd >= 0);
        send_text(fd, raw);
        std::string pending;
        auto r = read_response(fd, pending);
        INFO(raw.substr(0, 80));
        CHECK(r.status == 400);
        CHECK(nlohmann::json::parse(r.body).contains("Err"));
        CHECK(closed_by_peer(fd));
        ::close(fd);
    }
    CHECK(call(d.socket, "GET /Plugin.Activate HTTP/1.1\r\n\r\n").status == 405);
    CHECK(call(d.socket, post("/Nope", "")).status == 404);
    // A body that is not an AuthZReq is refused, not a crash.
    CHECK(answer(call(d.socket, post("/AuthZPlugin.AuthZReq", "\x01\xff{"))).at("Allow") == false);
    const int dropped = connect_to(d.socket);  // a client that goes away mid-request
    send_text(dropped, "POST /AuthZPlugin.AuthZReq HTTP/1.1\r\nContent-Length: 100\r\n\r\n{");
    ::close(dropped);
    CHECK(answer(call(d.socket, post("/AuthZPlugin.AuthZReq", k_privileged))).at("Allow") == false);
    CHECK(::waitpid(d.pid, nullptr, WNOHANG) == 0);  // still running
}

TEST_CASE("berth-authz serves two clients at once", "[authz][daemon]") {
    Daemon d;
    const int slow = connect_to(d.socket);
    REQUIRE(slow >= 0);
    const std::string request = post("/AuthZPlugin.AuthZReq", k_privileged);
    send_text(slow, request.substr(0, request.size() - 10));  // not finished yet
    CHECK(answer(call(d.socket, post("/AuthZPlugin.AuthZReq", k_privileged))).at("Allow") == false);
    send_text(slow, request.substr(request.size() - 10));
    std::string pending;
    CHECK(answer(read_response(slow, pending)).at("Allow") == false);
    ::close(slow);
}

TEST_CASE("berth-authz re-reads its policy on SIGHUP and keeps the old one when the new is bad", "[authz][daemon]") {
    Daemon d;
    const int kept = connect_to(d.socket);  // a keep-alive connection sees the new policy too
    REQUIRE(kept >= 0);
    std::string pending;
    send_text(kept, post("/AuthZPlugin.AuthZReq", k_privileged));
    CHECK(answer(read_response(kept, pending)).at("Allow") == false);
    d.write("version: 1\ndefault_role: admin\nroles:\n  admin:\n    waive: all\n");
    d.reload("reloaded");
    send_text(kept, post("/AuthZPlugin.AuthZReq", k_privileged));
    CHECK(answer(read_response(kept, pending)).at("Allow") == true);
    d.write("version: 1\ndefault_role: admin\nroles:\n  admin:\n    waive: [nosuchrule]\n");
    d.reload("keeping the policy in use");
    CHECK(read_text(d.log).find(d.policy + ":5: unknown rule \\\"nosuchrule\\\"") != std::string::npos);
    send_text(kept, post("/AuthZPlugin.AuthZReq", k_privileged));
    CHECK(answer(read_response(kept, pending)).at("Allow") == true);
    ::close(kept);
    ::kill(d.pid, SIGTERM);
    CHECK(wait_exit(d.pid) == 0);
    d.pid = -1;
    CHECK_FALSE(std::filesystem::exists(d.socket));
}

TEST_CASE("berth-authz checks a policy, refuses to start on a bad one, and replaces a stale socket", "[authz][daemon]") {
    TempDir dir;
    const std::string good = dir / "good.yaml", bad = dir / "bad.yaml", log = dir / "log";
    std::ofstream(good) << k_policy;
    std::ofstream(bad) << "version: 1\ndefault_role: nosuch\nroles:\n  r: {}\n";
    CHECK(run({"--check-policy", good}, log) == 0);
    CHECK(run({"--check-policy", bad}, log) == 1);
    CHECK(read_text(log).find(bad + ":2: default_role names the unknown role \\\"nosuch\\\"") != std::string::npos);
    CHECK(run({"--check-policy", dir / "missing.yaml"}, log) == 1);
    CHECK(run({"--policy", bad, "--socket", dir / "s.sock"}, log) == 1);
    CHECK(read_text(log).find("not starting") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "s.sock"));
    CHECK(run({"--policy", good}, log) == 2);  // no socket from systemd, none given
    CHECK(run({"--bogus"}, log) == 2);
    CHECK(run({"--help"}, log) == 0);
    // A socket file nobody listens on (left by a crash) is replaced; a regular file is not touched.
    const std::string stale = dir / "stale.sock";
    {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, stale.c_str(), sizeof addr.sun_path - 1);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        ::close(fd);
    }
    const pid_t pid = spawn({"--policy", good, "--socket", stale}, log);
    Response r;
    for (int i = 0; i < 500 && r.status == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (const int fd = connect_to(stale); fd >= 0) {
            ::close(fd);
            r = call(stale, post("/Plugin.Activate", ""));
        }
    }
    CHECK(r.status == 200);
    ::kill(pid, SIGTERM);
    CHECK(wait_exit(pid) == 0);
    std::ofstream(dir / "file") << "x";
    CHECK(run({"--policy", good, "--socket", dir / "file"}, log) == 1);
    CHECK(read_text(dir / "file") == "x");
}

TEST_CASE("berth-authz takes the socket systemd passes (LISTEN_PID, LISTEN_FDS, fd 3)", "[authz][daemon]") {
    // systemd-socket-activate (package systemd, like systemd-analyze for the unit tests) listens,
    // then execs berth-authz with the socket as fd 3, as berth-authz.socket does.
    TempDir dir;
    const std::string policy = dir / "authz.yaml", socket = dir / "act.sock", log = dir / "log";
    std::ofstream(policy) << k_policy;
    const std::string tool = "/usr/bin/systemd-socket-activate";
    REQUIRE(std::filesystem::exists(tool));
    std::vector<std::string> args{tool, "-l", socket, k_binary, "--policy", policy};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    pid_t pid = -1;
    REQUIRE(posix_spawn(&pid, tool.c_str(), &fa, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    Response r;
    for (int i = 0; i < 500 && r.status == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (const int fd = connect_to(socket); fd >= 0) {
            ::close(fd);
            r = call(socket, post("/AuthZPlugin.AuthZReq", k_privileged));
        }
    }
    INFO(read_text(log));
    CHECK(answer(r).at("Allow") == false);
    CHECK(read_text(log).find("berth-authz: serving with policy") != std::string::npos);
    ::kill(pid, SIGTERM);
    CHECK(wait_exit(pid) == 0);
}

TEST_CASE("berth-authz refuses the serials of its revocation list, re-read on SIGHUP with the policy", "[authz][daemon][revoked]") {
    Daemon d;
    const std::string run_plain = read_text(std::string(BERTH_TESTS_DIR) + "/fixtures/authz/run-plain.json");
    REQUIRE_FALSE(run_plain.empty());
    CHECK(answer(call(d.socket, post("/AuthZPlugin.AuthZReq", run_plain))).at("Allow") == true);
    std::ofstream(d.revoked) << "version: 1\nrevoked:\n  - serial: 55EE2F588885EBAA290D2DE7C60E3BE8\n    user: x\n";
    d.reload("1 revoked serials");
    const auto refused = answer(call(d.socket, post("/AuthZPlugin.AuthZReq", run_plain)));
    CHECK(refused.at("Allow") == false);
    CHECK(refused.at("Msg").get<std::string>().starts_with(
        "berth-authz: certificate serial 55EE2F588885EBAA290D2DE7C60E3BE8 is revoked on this host (rule revoked)"));
    CHECK(read_text(d.log).find("rule=revoked what=\"certificate serial 55EE2F588885EBAA290D2DE7C60E3BE8\"") !=
          std::string::npos);
    // A list that does not parse is refused: the one in use stays.
    std::ofstream(d.revoked, std::ios::trunc) << "version: 1\nrevoked:\n  - serial: nothex\n";
    d.reload("keeping the policy in use");
    CHECK(answer(call(d.socket, post("/AuthZPlugin.AuthZReq", run_plain))).at("Allow") == false);
    std::filesystem::remove(d.revoked);  // gone: nothing revoked
    d.reload("0 revoked serials");
    CHECK(answer(call(d.socket, post("/AuthZPlugin.AuthZReq", run_plain))).at("Allow") == true);
}
