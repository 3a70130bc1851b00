#include <berth/process/runner.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <set>

extern char** environ;

namespace berth {
namespace {

using Clock = std::chrono::steady_clock;

struct Fd {
    int fd = -1;
    Fd() = default;
    explicit Fd(int f) : fd(f) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    void reset() {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
};

bool make_pipe(Fd& read_end, Fd& write_end) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    read_end.fd = fds[0];
    write_end.fd = fds[1];
    return true;
}

std::vector<std::string> build_environment(const Command& command) {
    std::set<std::string> drop(command.env_unset.begin(), command.env_unset.end());
    for (const auto& [key, _] : command.env_set) drop.insert(key);
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string_view entry(*e);
        auto eq = entry.find('=');
        if (drop.contains(std::string(entry.substr(0, eq)))) continue;
        env.emplace_back(entry);
    }
    for (const auto& [key, value] : command.env_set) env.push_back(key + "=" + value);
    return env;
}

// The program to exec: argv[0] itself if it has a '/', else the first executable of that name on
// the PATH the child will have (execvpe would search the parent's PATH instead).
std::string resolve_program(const std::string& name, const std::vector<std::string>& env) {
    if (name.find('/') != std::string::npos) return name;
    std::string path = "/usr/local/bin:/usr/bin:/bin";
    for (const auto& e : env)
        if (e.starts_with("PATH=")) path = e.substr(5);
    std::string_view rest = path;
    while (true) {
        auto colon = rest.find(':');
        std::string dir(rest.substr(0, colon));
        if (dir.empty()) dir = ".";
        std::string candidate = dir + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        if (colon == std::string_view::npos) break;
        rest.remove_prefix(colon + 1);
    }
    return {};
}

bool quote_needed(const std::string& arg) {
    if (arg.empty()) return true;
    for (char c : arg) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-_./=:,@%+", c) != nullptr))
            return true;
    }
    return false;
}

}  // namespace

std::string format_argv(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& arg : argv) {
        if (!out.empty()) out += ' ';
        if (!quote_needed(arg)) {
            out += arg;
            continue;
        }
        out += '\'';
        for (char c : arg) {
            if (c == '\'') out += "'\\''";
            else out += c;
        }
        out += '\'';
    }
    return out;
}

Result<CommandResult> ProcessRunner::run(const Command& command) {
    if (command.argv.empty()) return fail("internal error: empty command");
    const std::string shown = format_argv(command.argv);

    Fd in_r, in_w, out_r, out_w, err_r, err_w, exec_r, exec_w;
    if (!make_pipe(in_r, in_w) || !make_pipe(out_r, out_w) || !make_pipe(err_r, err_w) ||
        !make_pipe(exec_r, exec_w))
        return fail("cannot create pipes for `" + shown + "`: " + errno_text(errno));

    // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
    std::vector<std::string> env_strings = build_environment(command);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = command.argv;
    std::vector<char*> argvp;
    for (auto& s : args) argvp.push_back(s.data());
    argvp.push_back(nullptr);
    const std::string program = resolve_program(command.argv[0], env_strings);
    if (program.empty())
        return std::unexpected(Error{ErrorKind::Failed,
                                     "cannot run `" + command.argv[0] + "`: not found on PATH",
                                     "is it installed and on PATH?",
                                     {{"argv", shown}}});
    const bool has_stdin = command.stdin_data.has_value();
    const char* cwd = command.cwd ? command.cwd->c_str() : nullptr;

    pid_t pid = ::fork();
    if (pid < 0) return fail("cannot start `" + shown + "`: fork: " + errno_text(errno));
    if (pid == 0) {
        ::setpgid(0, 0);
        int devnull = has_stdin ? -1 : ::open("/dev/null", O_RDONLY);
        ::dup2(has_stdin ? in_r.fd : devnull, 0);
        ::dup2(out_w.fd, 1);
        ::dup2(err_w.fd, 2);
        // Restore default signal dispositions a parent may have changed.
        ::signal(SIGPIPE, SIG_DFL);
        int err = 0;
        if (cwd != nullptr && ::chdir(cwd) != 0) {
            err = errno;
        } else {
            ::execve(program.c_str(), argvp.data(), envp.data());
            err = errno;
        }
        ssize_t ignored = ::write(exec_w.fd, &err, sizeof err);
        (void)ignored;
        ::_exit(127);
    }
    ::setpgid(pid, pid);  // also in the parent, so the group exists before any kill below
    in_r.reset();
    out_w.reset();
    err_w.reset();
    exec_w.reset();

    int exec_errno = 0;
    ssize_t got = ::read(exec_r.fd, &exec_errno, sizeof exec_errno);
    if (got == static_cast<ssize_t>(sizeof exec_errno)) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        const bool missing = exec_errno == ENOENT;
        return std::unexpected(
            Error{ErrorKind::Failed,
                  "cannot run `" + command.argv[0] + "`: " + errno_text(exec_errno),
                  missing ? "is it installed and on PATH?" : "",
                  {{"argv", shown}}});
    }

    CommandResult result;
    const std::string stdin_bytes = has_stdin ? *command.stdin_data : std::string();
    size_t stdin_off = 0;
    if (!has_stdin || stdin_bytes.empty()) in_w.reset();
    else ::fcntl(in_w.fd, F_SETFL, O_NONBLOCK);

    const auto deadline = Clock::now() + command.timeout;
    std::array<char, 65536> buf{};
    while (out_r.fd >= 0 || err_r.fd >= 0) {
        std::vector<pollfd> fds;
        if (out_r.fd >= 0) fds.push_back({out_r.fd, POLLIN, 0});
        if (err_r.fd >= 0) fds.push_back({err_r.fd, POLLIN, 0});
        if (in_w.fd >= 0) fds.push_back({in_w.fd, POLLOUT, 0});
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            result.timed_out = true;
            break;
        }
        int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(left.count(), 1000)));
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (const auto& p : fds) {
            if (p.revents == 0) continue;
            if (p.fd == in_w.fd) {
                ssize_t w = ::write(in_w.fd, stdin_bytes.data() + stdin_off, stdin_bytes.size() - stdin_off);
                if (w > 0) stdin_off += static_cast<size_t>(w);
                if (w < 0 && errno != EAGAIN && errno != EINTR) stdin_off = stdin_bytes.size();
                if (stdin_off >= stdin_bytes.size()) in_w.reset();
                continue;
            }
            ssize_t r = ::read(p.fd, buf.data(), buf.size());
            if (r > 0) {
                (p.fd == out_r.fd ? result.out : result.err).append(buf.data(), static_cast<size_t>(r));
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                if (p.fd == out_r.fd) out_r.reset();
                else err_r.reset();
            }
        }
    }
    in_w.reset();
    if (result.timed_out) ::kill(-pid, SIGKILL);

    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) result.exit_status = 128 + WTERMSIG(status);

    if (result.timed_out) {
        auto secs = std::chrono::duration_cast<std::chrono::seconds>(command.timeout).count();
        return std::unexpected(Error{ErrorKind::Failed,
                                     "`" + shown + "` did not finish within " + std::to_string(secs) + " s",
                                     "",
                                     {{"argv", shown}, {"stderr", result.err}}});
    }
    return result;
}

}  // namespace berth
