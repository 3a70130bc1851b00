#pragma once
/// A session on a machine: run scripts as root and move files, over ONE connection for a whole
/// provision (a channel per command). Scripts go to the remote shell on stdin, never on a command
/// line; files go over SFTP with an explicit mode and owner. The real one is LibsshSession;
/// tests use ScriptedSession (tests/fakes), which replays an expected transcript.

#include <berth/core/error.h>
#include <berth/core/escape.h>  // shell_quote, which every remote script uses

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

/// Each of a remote command's stdout and stderr is kept up to this size; the rest is read and
/// dropped, and a line at the end of `err` (and a warning in the log) says how much was cut.
inline constexpr std::size_t k_max_remote_output_bytes = 16 * 1024 * 1024;

/// A file for Session::upload_all: `content` to be written to `path` with `mode` and `owner`
/// ("user:group", or "user" for user:user).
struct FileUpload {
    std::string path;
    std::string content;
    unsigned mode = 0644;
    std::string owner = "root:root";
};

/// The Error context key under which upload_all's errors say how many of the files, from the
/// first, are in place for sure (a decimal count). An error without it (the connection was lost
/// while the files were installed, or the install command was killed) leaves unknown how many of
/// them were written: any may be.
inline constexpr const char* k_files_written = "files_written";

struct RemoteResult {
    int exit_status = -1;
    std::string out;
    std::string err;
};

class Session {
public:
    virtual ~Session() = default;

    /// Runs `script` with /bin/sh as root (through `sudo -n` when the login user is not root).
    /// A non-zero exit is not an Error (it is in the result); a lost connection or a timeout is.
    /// timeout 0 means the session's default command timeout.
    [[nodiscard]] virtual Result<RemoteResult> run(std::string_view script,
                                                   std::chrono::seconds timeout = std::chrono::seconds(0)) = 0;

    /// As run(), and `on_out` gets the command's standard output as it arrives, in pieces (not
    /// cut at lines), for live progress; the result still holds all of it. This default, for
    /// sessions that cannot stream, hands over the whole output once the command is done.
    [[nodiscard]] virtual Result<RemoteResult> run_streaming(std::string_view script, std::chrono::seconds timeout,
                                                             const std::function<void(std::string_view)>& on_out) {
        auto result = run(script, timeout);
        if (result && on_out && !result->out.empty()) on_out(result->out);
        return result;
    }

    /// Writes every file of `files` with ONE remote command: each is staged first (over SFTP in a
    /// private temporary directory), then one command installs them all in order, each as a
    /// whole (installed beside it as path.berth-new with its mode and owner, then renamed over
    /// path). Each parent directory must exist. It stops at the first file that fails: the
    /// error names that file, and its k_files_written entry says the files before it were
    /// written - that one and the ones after it were not. (Without that entry, any of the files
    /// may have been written.) The staged copies are removed, also on failure. No files: nothing
    /// is done and no command runs.
    [[nodiscard]] virtual Result<void> upload_all(const std::vector<FileUpload>& files) = 0;

    /// upload_all() of the one file.
    [[nodiscard]] Result<void> upload(std::string_view content, const std::string& path, unsigned mode,
                                      const std::string& owner = "root:root") {
        return upload_all({FileUpload{path, std::string(content), mode, owner}});
    }

    /// The whole content of a remote file (read as root); NotFound if it does not exist.
    [[nodiscard]] virtual Result<std::string> read(const std::string& path) = 0;
    /// Remote commands run on this session so far (an upload_all counts one, whatever the number
    /// of files), for reports and the benchmark: the work of a whole provision goes over one
    /// connection.
    [[nodiscard]] virtual int channels_opened() const = 0;
    /// "SHA256:..." of the host key the connection checked.
    [[nodiscard]] virtual std::string host_key_fingerprint() const = 0;
};

/// For messages: the last `lines` lines of `text`.
[[nodiscard]] std::string tail_lines(std::string_view text, int lines);

}  // namespace berth
