#pragma once
/// Local processes behind an interface, so that drivers (VBoxManage, qemu-img...) can be tested
/// against fakes. A command is an argv, never a shell string.

#include <berth/core/error.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth {

struct Command {
    std::vector<std::string> argv;                 ///< argv[0] is looked up on PATH if it has no '/'
    std::map<std::string, std::string> env_set;    ///< added to (or replacing in) the environment
    std::vector<std::string> env_unset;            ///< removed from the environment
    std::optional<std::string> stdin_data;         ///< written to stdin, then closed; else /dev/null
    std::optional<std::string> cwd;
    std::chrono::milliseconds timeout{std::chrono::minutes(10)};  ///< zero: no timeout
    /// The child inherits berth's stdin, stdout and stderr (a terminal, for `berth scp`) instead
    /// of pipes: CommandResult.out and .err stay empty, and stdin_data must be unset (an Error
    /// otherwise). It stays in berth's process group, so it may read the terminal and gets
    /// Ctrl-C with berth; a timeout kills the child alone. berth's stdio is flushed first.
    bool interactive = false;
};

/// Each of a command's stdout and stderr is kept up to this size; the rest is read (the child never
/// blocks on a full pipe) and dropped, and a line at the end of `err` (and a warning in the log)
/// says how much was cut.
inline constexpr std::size_t k_max_process_output_bytes = 16 * 1024 * 1024;

struct CommandResult {
    int exit_status = -1;    ///< exit code, or 128+signal if killed by a signal
    std::string out;
    std::string err;
    bool timed_out = false;  ///< killed because the timeout passed
};

class Runner {
public:
    virtual ~Runner() = default;
    /// Runs the command to completion. A non-zero exit is not an Error (it is in the result);
    /// failing to start the program, or a timeout, is. Error context holds the argv.
    [[nodiscard]] virtual Result<CommandResult> run(const Command& command) = 0;
};

/// The real one: fork/exec with pipes, poll, and SIGKILL of the process group on timeout (of
/// the child alone if interactive).
class ProcessRunner final : public Runner {
public:
    [[nodiscard]] Result<CommandResult> run(const Command& command) override;
};

/// "a b 'c d'" for messages and debug logs (quoted for a POSIX shell, for reading only).
[[nodiscard]] std::string format_argv(const std::vector<std::string>& argv);

}  // namespace berth
