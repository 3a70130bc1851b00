// berth-authz: Docker's authorization plugin for berth hosts (docs/hardening.md). A small
// HTTP/1.1 server on a unix socket (systemd's, or --socket PATH), one thread per connection,
// answering dockerd's plugin calls from the policy in --policy; SIGHUP re-reads the policy.
// Linked fully static: it runs on every distribution berth supports.

#include <berth/authz/http.h>
#include <berth/authz/plugin.h>
#include <berth/authz/policy.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

namespace {

using namespace berth::authz;
using Clock = std::chrono::steady_clock;

constexpr std::size_t k_max_head = 16 * 1024;
constexpr std::size_t k_max_request = 8u << 20;    // an AuthZReq: a body under 1 MiB, base64, headers
constexpr std::size_t k_max_response = 64u << 20;  // an AuthZRes carries dockerd's whole JSON answer
constexpr auto k_idle_timeout = std::chrono::seconds(120);
constexpr auto k_request_timeout = std::chrono::seconds(30);
constexpr int k_max_connections = 64;
const char* const k_default_policy = "/etc/berth/authz.yaml";
const char* const k_default_revoked = "/etc/berth/authz-revoked.yaml";

std::mutex g_log_mutex;
bool g_journal = false;  // stderr is the journal: lines carry a <priority> prefix

// One line to stderr (journald takes it under systemd); every value in it is escaped by the caller.
void log_line(int priority, const std::string& text) {
    std::string line = (g_journal ? "<" + std::to_string(priority) + ">" : std::string()) + "berth-authz: " + text + "\n";
    std::lock_guard lock(g_log_mutex);
    for (std::size_t done = 0; done < line.size();) {
        const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
        if (n <= 0 && errno != EINTR) return;
        if (n > 0) done += static_cast<std::size_t>(n);
    }
}

class PolicyHolder {
public:
    PolicyHolder(std::string path, std::string revoked) : m_path(std::move(path)), m_revoked(std::move(revoked)) {}
    [[nodiscard]] const std::string& path() const { return m_path; }
    [[nodiscard]] const std::string& revoked_path() const { return m_revoked; }
    [[nodiscard]] std::shared_ptr<const Policy> get() const {
        std::lock_guard lock(m_mutex);
        return m_policy;
    }
    void set(Policy policy) {
        auto p = std::make_shared<const Policy>(std::move(policy));
        std::lock_guard lock(m_mutex);
        m_policy = std::move(p);
    }

private:
    std::string m_path;
    std::string m_revoked;
    mutable std::mutex m_mutex;
    std::shared_ptr<const Policy> m_policy;
};

std::expected<std::string, std::string> read_text(const std::string& path, const char* what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::unexpected(path + ": cannot read the " + what + ": " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (text.str().size() > (1u << 20)) return std::unexpected(path + ": the " + what + " is larger than 1 MiB");
    return text.str();
}

// The policy at `path` with the serials of the revocation list at `revoked` ("" or a file that
// does not exist: none revoked; a list that is there but unreadable fails like a bad policy).
std::expected<Policy, std::string> load_policy(const std::string& path, const std::string& revoked) {
    auto text = read_text(path, "policy");
    if (!text) return std::unexpected(text.error());
    auto policy = parse_policy(*text, path);
    if (!policy || revoked.empty()) return policy;
    struct stat st {};
    if (::stat(revoked.c_str(), &st) != 0 && errno == ENOENT) return policy;
    auto list_text = read_text(revoked, "revocation list");
    if (!list_text) return std::unexpected(list_text.error());
    auto list = parse_revoked(*list_text, revoked);
    if (!list) return std::unexpected(list.error());
    policy->revoked = std::move(*list);
    return policy;
}

bool send_all(int fd, const std::string& data) {
    for (std::size_t done = 0; done < data.size();) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, 10000) <= 0) return false;
        const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

std::string reason(int status) {
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 503: return "Service Unavailable";
        default: return "Error";
    }
}

bool respond(int fd, int status, const std::string& body, bool keep_alive) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) +
                      "\r\nContent-Type: application/vnd.docker.plugins.v1.2+json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n" + (keep_alive ? "" : "Connection: close\r\n") + "\r\n" + body;
    return send_all(fd, out);
}

std::string json_error(const std::string& why) {
    std::string escaped;
    for (char c : why) escaped += (c == '"' || c == '\\') ? ' ' : c;  // our own fixed texts
    return "{\"Err\":\"berth-authz: " + escaped + "\"}";
}

// Reads more of the connection into `buffer` before `deadline`; false on timeout, EOF or error.
bool read_more(int fd, std::string& buffer, Clock::time_point deadline) {
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60000)));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        char chunk[65536];
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return false;
        buffer.append(chunk, static_cast<std::size_t>(n));
        return true;
    }
}

// One request read and answered; false when the connection is to be closed.
bool serve_one(int fd, std::string& buffer, const PolicyHolder& holder) {
    auto deadline = Clock::now() + k_idle_timeout;
    while (buffer.empty())
        if (!read_more(fd, buffer, deadline)) return false;
    deadline = Clock::now() + k_request_timeout;
    HeadResult head;
    for (;;) {
        head = parse_http_head(buffer, k_max_head, k_max_response);
        if (head.status != HeadStatus::incomplete) break;
        if (!read_more(fd, buffer, deadline)) return false;
    }
    if (head.status == HeadStatus::bad) {
        respond(fd, head.error_status, json_error(head.error), false);
        return false;
    }
    const std::string path = head.head.target.substr(0, head.head.target.find('?'));
    const std::size_t limit = path == "/AuthZPlugin.AuthZRes" ? k_max_response : k_max_request;
    if (head.head.content_length > limit) {
        respond(fd, 400, json_error("the body is larger than berth-authz accepts"), false);
        return false;
    }
    while (buffer.size() < head.head_size + head.head.content_length)
        if (!read_more(fd, buffer, deadline)) return false;
    const std::string body = buffer.substr(head.head_size, head.head.content_length);
    buffer.erase(0, head.head_size + head.head.content_length);
    if (head.head.method != "POST")
        return respond(fd, 405, json_error("plugin calls are POST"), head.head.keep_alive) && head.head.keep_alive;
    const auto policy = holder.get();
    const PluginReply reply = handle_plugin_call(path, body, *policy, holder.path());
    if (!reply.log_line.empty()) log_line(4, reply.log_line);
    return respond(fd, reply.status, reply.body, head.head.keep_alive) && head.head.keep_alive;
}

std::atomic<int> g_connections{0};

void serve_connection(int fd, const PolicyHolder* holder) {
    try {
        std::string buffer;
        while (serve_one(fd, buffer, *holder)) {
        }
    } catch (const std::exception& e) {
        log_line(3, std::string("a connection failed: ") + log_escape(e.what()));
    } catch (...) {
        log_line(3, "a connection failed");
    }
    // A lingering close: what the client still sends after an error answer is read away for a
    // moment, so the kernel does not reset the connection before the client reads the answer.
    ::shutdown(fd, SHUT_WR);
    std::string rest;
    const auto until = Clock::now() + std::chrono::milliseconds(500);
    while (rest.size() < (1u << 20) && read_more(fd, rest, until)) {
    }
    ::close(fd);
    --g_connections;
}

}  // namespace

namespace {

// The listening socket systemd passed (LISTEN_PID/LISTEN_FDS, fd 3), or -1.
int socket_from_systemd() {
    const char* pid = std::getenv("LISTEN_PID");
    const char* fds = std::getenv("LISTEN_FDS");
    if (!pid || !fds || std::atoi(fds) < 1 || std::strtol(pid, nullptr, 10) != static_cast<long>(::getpid())) return -1;
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    ::fcntl(3, F_SETFD, FD_CLOEXEC);
    return 3;
}

// A socket of its own at `path`, 0600; a stale socket left there is removed, a live one or
// anything that is not a socket is an error.
std::expected<int, std::string> bind_socket(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path) return std::unexpected("--socket " + path + ": path too long or empty");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) return std::unexpected("--socket " + path + ": exists and is not a socket");
        const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const bool live = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        if (probe >= 0) ::close(probe);
        if (live) return std::unexpected("--socket " + path + ": another server is listening there");
        ::unlink(path.c_str());
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::unexpected(std::string("socket: ") + std::strerror(errno));
    const mode_t old = ::umask(0177);
    const int bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    const int bind_errno = errno;
    ::umask(old);
    if (bound != 0 || ::chmod(path.c_str(), 0600) != 0 || ::listen(fd, 128) != 0) {
        ::close(fd);
        return std::unexpected("--socket " + path + ": " + std::strerror(bound != 0 ? bind_errno : errno));
    }
    return fd;
}

void reload(PolicyHolder& holder) {
    auto policy = load_policy(holder.path(), holder.revoked_path());
    if (!policy) {
        log_line(3, "SIGHUP: keeping the policy in use; the new one is refused: " + log_escape(policy.error()));
        return;
    }
    const auto roles = policy->roles.size(), users = policy->users.size(), revoked = policy->revoked.size();
    holder.set(std::move(*policy));
    log_line(6, "SIGHUP: policy " + log_escape(holder.path()) + " reloaded (" + std::to_string(roles) + " roles, " +
                    std::to_string(users) + " users, " + std::to_string(revoked) + " revoked serials)");
}

void accept_one(int listen_fd, const PolicyHolder& holder) {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    if (g_connections.load() >= k_max_connections) {
        respond(fd, 503, json_error("too many connections"), false);
        ::close(fd);
        return;
    }
    ++g_connections;
    try {
        std::thread(serve_connection, fd, &holder).detach();
    } catch (...) {
        --g_connections;
        ::close(fd);
    }
}

// Serves until SIGTERM or SIGINT; SIGHUP reloads the policy. Returns the exit status.
int serve(int listen_fd, PolicyHolder& holder, int signal_fd) {
    for (;;) {
        pollfd p[2] = {{listen_fd, POLLIN, 0}, {signal_fd, POLLIN, 0}};
        if (::poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            log_line(3, std::string("poll: ") + std::strerror(errno));
            return 1;
        }
        if (p[1].revents & POLLIN) {
            signalfd_siginfo info{};
            if (::read(signal_fd, &info, sizeof info) == sizeof info) {
                if (info.ssi_signo == SIGHUP) reload(holder);
                else {
                    log_line(6, "stopping on signal " + std::to_string(info.ssi_signo));
                    return 0;
                }
            }
        }
        if (p[0].revents & POLLIN) accept_one(listen_fd, holder);
    }
}

constexpr const char* k_usage =
    "Usage: berth-authz [--policy FILE] [--revoked FILE] [--socket PATH]\n"
    "       berth-authz --check-policy FILE\n"
    "Docker's authorization plugin for berth hosts: refuses requests that would give away the host\n"
    "(docs/hardening.md, \"The authorization plugin\").\n"
    "  --policy FILE        the policy (default /etc/berth/authz.yaml); SIGHUP re-reads it\n"
    "  --revoked FILE       serials of revoked client certificates, refused whatever the policy says\n"
    "                       (default /etc/berth/authz-revoked.yaml; none if missing); SIGHUP re-reads it\n"
    "  --socket PATH        listen on PATH (0600) instead of the socket systemd passes\n"
    "  --check-policy FILE  check FILE and exit: 0 good, 1 bad (the error on stderr)\n"
    "Exit status: 0 stopped by SIGTERM/SIGINT or policy good, 1 error, 2 usage.\n";

struct Options {
    std::string policy = k_default_policy;
    std::string revoked = k_default_revoked;
    std::string socket;
    std::string check;
    bool help = false;
};

std::expected<Options, std::string> parse_args(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            o.help = true;
            continue;
        }
        std::string* target = arg == "--policy"         ? &o.policy
                              : arg == "--revoked"      ? &o.revoked
                              : arg == "--socket"       ? &o.socket
                              : arg == "--check-policy" ? &o.check
                                                        : nullptr;
        if (!target) return std::unexpected("unknown argument " + log_escape(arg));
        if (i + 1 >= argc) return std::unexpected(arg + " needs a value");
        *target = argv[++i];
    }
    return o;
}

int run(const Options& options) {
    if (!options.check.empty()) {
        auto policy = load_policy(options.check, "");
        if (!policy) {
            log_line(3, log_escape(policy.error()));
            return 1;
        }
        log_line(6, log_escape(options.check) + ": policy good");
        return 0;
    }
    auto policy = load_policy(options.policy, options.revoked);
    if (!policy) {
        log_line(3, "not starting: " + log_escape(policy.error()));
        return 1;
    }
    // Never freed: connection threads still running at exit may read it.
    auto& holder = *new PolicyHolder(options.policy, options.revoked);
    holder.set(std::move(*policy));
    int listen_fd = socket_from_systemd();
    const bool own_socket = listen_fd < 0;
    if (own_socket) {
        if (options.socket.empty()) {
            log_line(3, "no socket: start me from berth-authz.socket (systemd) or give --socket PATH");
            return 2;
        }
        auto fd = bind_socket(options.socket);
        if (!fd) {
            log_line(3, log_escape(fd.error()));
            return 1;
        }
        listen_fd = *fd;
    }
    sigset_t signals;
    sigemptyset(&signals);
    for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
    const int signal_fd = ::signalfd(-1, &signals, SFD_CLOEXEC);
    log_line(6, "serving with policy " + log_escape(options.policy));
    const int status = serve(listen_fd, holder, signal_fd);
    if (own_socket) ::unlink(options.socket.c_str());
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    g_journal = std::getenv("JOURNAL_STREAM") != nullptr;
    ::signal(SIGPIPE, SIG_IGN);
    sigset_t signals;  // blocked in every thread: the main loop reads them from a signalfd
    sigemptyset(&signals);
    for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
    ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    try {
        auto options = parse_args(argc, argv);
        if (!options) {
            log_line(3, options.error() + " (see --help)");
            return 2;
        }
        if (options->help) {
            std::fputs(k_usage, stdout);
            return 0;
        }
        return run(*options);
    } catch (const std::exception& e) {
        log_line(3, std::string("fatal: ") + log_escape(e.what()));
        return 1;
    }
}
