#include <berth/process/runner.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>
#include <set>
#include <utility>

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

struct Pipes {
    Fd in_r, in_w, out_r, out_w, err_r, err_w;
    Fd exec_r, exec_w;  ///< the child writes exec's errno here; closed by a successful exec
};

/// The exec pipe always; stdin, stdout and stderr pipes unless the child inherits berth's own.
bool make_pipes(Pipes& p, bool interactive) {
    if (!interactive &&
        (!make_pipe(p.in_r, p.in_w) || !make_pipe(p.out_r, p.out_w) || !make_pipe(p.err_r, p.err_w)))
        return false;
    return make_pipe(p.exec_r, p.exec_w);
}

/// What execve needs, built before fork: the child makes only async-signal-safe calls.
struct ExecImage {
    std::vector<std::string> env_strings;
    std::vector<char*> envp;
    std::vector<std::string> args;
    std::vector<char*> argvp;
    std::string program;
    const char* cwd = nullptr;
};

Result<void> prepare_exec(const Command& command, const std::string& shown, ExecImage& image) {
    image.env_strings = build_environment(command);
    for (auto& s : image.env_strings) image.envp.push_back(s.data());
    image.envp.push_back(nullptr);
    image.args = command.argv;
    for (auto& s : image.args) image.argvp.push_back(s.data());
    image.argvp.push_back(nullptr);
    image.program = resolve_program(command.argv[0], image.env_strings);
    if (image.program.empty())
        return std::unexpected(Error{ErrorKind::Failed,
                                     "cannot run `" + command.argv[0] + "`: not found on PATH",
                                     "is it installed and on PATH?",
                                     {{"argv", shown}}});
    image.cwd = command.cwd ? command.cwd->c_str() : nullptr;
    return {};
}

/// The child after fork: its own process group (unless interactive), the pipes as stdin, stdout
/// and stderr (/dev/null as stdin without stdin data), then exec. Exec's errno goes to the exec
/// pipe.
[[noreturn]] void exec_child(const Pipes& pipes, const ExecImage& image, const Command& command) {
    if (!command.interactive) {
        ::setpgid(0, 0);
        const bool has_stdin = command.stdin_data.has_value();
        int devnull = has_stdin ? -1 : ::open("/dev/null", O_RDONLY);
        ::dup2(has_stdin ? pipes.in_r.fd : devnull, 0);
        ::dup2(pipes.out_w.fd, 1);
        ::dup2(pipes.err_w.fd, 2);
    }
    // Restore default signal dispositions a parent may have changed.
    ::signal(SIGPIPE, SIG_DFL);
    int err = 0;
    if (image.cwd != nullptr && ::chdir(image.cwd) != 0) {
        err = errno;
    } else {
        ::execve(image.program.c_str(), image.argvp.data(), image.envp.data());
        err = errno;
    }
    ssize_t ignored = ::write(pipes.exec_w.fd, &err, sizeof err);
    (void)ignored;
    ::_exit(127);
}

/// An Error (after reaping the child) if the child could not exec, read from the exec pipe.
Result<void> check_exec(pid_t pid, const Fd& exec_r, const Command& command, const std::string& shown) {
    int exec_errno = 0;
    ssize_t got = ::read(exec_r.fd, &exec_errno, sizeof exec_errno);
    if (got != static_cast<ssize_t>(sizeof exec_errno)) return {};
    int status = 0;
    ::waitpid(pid, &status, 0);
    const bool missing = exec_errno == ENOENT;
    return std::unexpected(Error{ErrorKind::Failed,
                                 "cannot run `" + command.argv[0] + "`: " + errno_text(exec_errno),
                                 missing ? "is it installed and on PATH?" : "",
                                 {{"argv", shown}}});
}

/// Milliseconds to the deadline, capped at one second (one second without a deadline).
long long poll_budget(const std::optional<Clock::time_point>& deadline) {
    if (!deadline) return 1000;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
    return std::min<long long>(left.count(), 1000);
}

/// Appends what fits under k_max_process_output_bytes to `text`; counts the rest in `dropped`.
void append_capped(std::string& text, const char* data, std::size_t bytes, std::size_t& dropped) {
    const std::size_t room = k_max_process_output_bytes - std::min(text.size(), k_max_process_output_bytes);
    text.append(data, std::min(bytes, room));
    dropped += bytes - std::min(bytes, room);
}

/// A line at the end of result.err, and a warning in the log, for each stream the cap cut.
void report_cut(CommandResult& result, std::size_t out_dropped, std::size_t err_dropped) {
    for (auto [name, dropped] : {std::pair{"stdout", out_dropped}, std::pair{"stderr", err_dropped}}) {
        if (dropped == 0) continue;
        const std::string note = std::string("berth: the command's ") + name + " was cut at " +
                                 std::to_string(k_max_process_output_bytes / (1024 * 1024)) + " MiB: the last " +
                                 std::to_string(dropped) + " bytes were dropped";
        spdlog::warn("{}", note);
        if (!result.err.empty() && result.err.back() != '\n') result.err += '\n';
        result.err += note + "\n";
    }
}

/// Writes `stdin_bytes` to the child and reads its stdout and stderr into `result` until both
/// close, or until the deadline (then result.timed_out).
void exchange(Pipes& pipes, const std::string& stdin_bytes, const std::optional<Clock::time_point>& deadline,
              CommandResult& result) {
    size_t stdin_off = 0;
    if (stdin_bytes.empty()) pipes.in_w.reset();
    else ::fcntl(pipes.in_w.fd, F_SETFL, O_NONBLOCK);

    std::array<char, 65536> buf{};
    std::size_t out_dropped = 0, err_dropped = 0;
    while (pipes.out_r.fd >= 0 || pipes.err_r.fd >= 0) {
        std::vector<pollfd> fds;
        if (pipes.out_r.fd >= 0) fds.push_back({pipes.out_r.fd, POLLIN, 0});
        if (pipes.err_r.fd >= 0) fds.push_back({pipes.err_r.fd, POLLIN, 0});
        if (pipes.in_w.fd >= 0) fds.push_back({pipes.in_w.fd, POLLOUT, 0});
        const long long budget = poll_budget(deadline);
        if (budget <= 0) {
            result.timed_out = true;
            break;
        }
        int n = ::poll(fds.data(), fds.size(), static_cast<int>(budget));
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (const auto& p : fds) {
            if (p.revents == 0) continue;
            if (p.fd == pipes.in_w.fd) {
                ssize_t w = ::write(pipes.in_w.fd, stdin_bytes.data() + stdin_off, stdin_bytes.size() - stdin_off);
                if (w > 0) stdin_off += static_cast<size_t>(w);
                if (w < 0 && errno != EAGAIN && errno != EINTR) stdin_off = stdin_bytes.size();
                if (stdin_off >= stdin_bytes.size()) pipes.in_w.reset();
                continue;
            }
            ssize_t r = ::read(p.fd, buf.data(), buf.size());
            if (r > 0) {
                const bool out = p.fd == pipes.out_r.fd;
                append_capped(out ? result.out : result.err, buf.data(), static_cast<size_t>(r),
                              out ? out_dropped : err_dropped);
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                if (p.fd == pipes.out_r.fd) pipes.out_r.reset();
                else pipes.err_r.reset();
            }
        }
    }
    pipes.in_w.reset();
    report_cut(result, out_dropped, err_dropped);
}

/// Waits for the child; its exit status, or 128+signal if a signal killed it.
int reap(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

/// Waits for an interactive child to exit (it has no pipes to watch): true when it did, false
/// when the deadline passed first. The child is not reaped here.
Result<bool> wait_interactive(pid_t pid, const std::optional<Clock::time_point>& deadline, const std::string& shown) {
    if (!deadline) return true;  // reap() waits as long as it takes
    // The syscall itself: glibc 2.36's <sys/pidfd.h> declares pidfd_open without C linkage.
    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (pidfd.fd < 0) {
        const int err = errno;
        ::kill(pid, SIGKILL);
        (void)reap(pid);
        return std::unexpected(Error{ErrorKind::Failed,
                                     "cannot watch `" + shown + "` for its timeout: pidfd_open: " + errno_text(err),
                                     "berth needs Linux 5.3 or later",
                                     {{"argv", shown}}});
    }
    while (true) {
        const long long budget = poll_budget(deadline);
        if (budget <= 0) return false;
        pollfd p{pidfd.fd, POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(budget));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return true;  // reap() then waits without a deadline
    }
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
    if (command.interactive && command.stdin_data)
        return std::unexpected(Error{ErrorKind::Failed,
                                     "internal error: interactive `" + shown + "` cannot also be given stdin data",
                                     "",
                                     {{"argv", shown}}});

    Pipes pipes;
    if (!make_pipes(pipes, command.interactive))
        return fail("cannot create pipes for `" + shown + "`: " + errno_text(errno));
    ExecImage image;
    if (auto ok = prepare_exec(command, shown, image); !ok) return std::unexpected(ok.error());

    // An interactive child writes to berth's own stdout: what berth buffered goes first.
    if (command.interactive) std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return fail("cannot start `" + shown + "`: fork: " + errno_text(errno));
    if (pid == 0) exec_child(pipes, image, command);
    // Also in the parent, so the group exists before any kill below. An interactive child stays
    // in berth's group: it may use the terminal and gets Ctrl-C with berth.
    if (!command.interactive) ::setpgid(pid, pid);
    pipes.in_r.reset();
    pipes.out_w.reset();
    pipes.err_w.reset();
    pipes.exec_w.reset();
    if (auto ok = check_exec(pid, pipes.exec_r, command, shown); !ok) return std::unexpected(ok.error());

    const std::optional<Clock::time_point> deadline =
        command.timeout.count() == 0 ? std::nullopt : std::optional(Clock::now() + command.timeout);
    CommandResult result;
    if (command.interactive) {
        auto finished = wait_interactive(pid, deadline, shown);
        if (!finished) return std::unexpected(finished.error());
        result.timed_out = !*finished;
    } else {
        exchange(pipes, command.stdin_data ? *command.stdin_data : std::string(), deadline, result);
    }
    if (result.timed_out) ::kill(command.interactive ? pid : -pid, SIGKILL);
    result.exit_status = reap(pid);

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
