#pragma once
/// Errors as values. Every fallible berth call returns Result<T>; only main() turns an Error into an
/// exit code. An Error says what failed and why (message), what to do next (hint), and carries
/// context for --debug (machine, step, argv, exit status, stderr tail).

#include <expected>
#include <string>
#include <utility>
#include <vector>

namespace berth {

/// What kind of failure; decides the process exit code (docs/cli.md "Exit codes").
enum class ErrorKind {
    Failed,          ///< anything that went wrong at run time: exit 1
    NotFound,        ///< no such machine (or file, image): exit 1
    Conflict,        ///< exists already, or locked by another berth: exit 1
    Usage,           ///< bad flag, argument or name: exit 2
    PrecreateCheck,  ///< the driver's pre-create check failed: exit 3
};

/// Process exit codes, documented in docs/cli.md.
enum ExitCode : int {
    k_exit_ok = 0,
    k_exit_error = 1,
    k_exit_usage = 2,
    k_exit_precreate = 3,
};

struct Error {
    ErrorKind kind = ErrorKind::Failed;
    std::string message;  ///< what failed and why, one line, no trailing period needed
    std::string hint;     ///< what the user can do next; may be empty
    std::vector<std::pair<std::string, std::string>> context;  ///< key/value detail for --debug

    /// Adds a context entry and returns *this, for chaining at the point of failure.
    Error& with(std::string key, std::string value) &;
    Error&& with(std::string key, std::string value) &&;

    /// The one line shown to the user: "message" or "message; hint".
    [[nodiscard]] std::string line() const;
    [[nodiscard]] int exit_code() const;
};

template <typename T>
using Result = std::expected<T, Error>;

/// Shorthands that build an unexpected Error of a given kind.
[[nodiscard]] std::unexpected<Error> fail(std::string message, std::string hint = {});
[[nodiscard]] std::unexpected<Error> fail_usage(std::string message, std::string hint = {});
[[nodiscard]] std::unexpected<Error> fail_kind(ErrorKind kind, std::string message,
                                               std::string hint = {});

/// "strerror(errno)" for the current errno, for messages about system calls.
[[nodiscard]] std::string errno_text(int err);

}  // namespace berth
