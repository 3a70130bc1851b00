#pragma once
/// What `berth env` prints: the DOCKER_* variables for one machine in the syntax of a shell,
/// then the two-line usage hint, in docker-machine's exact formats. Pure: no I/O.

#include <berth/core/error.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

enum class Shell { Bash, Zsh, Sh, Fish, PowerShell, Cmd, Tcsh, Emacs };

/// The names --shell takes, in parse_shell's order: bash, zsh, sh, fish, powershell, cmd, tcsh, emacs.
[[nodiscard]] const std::vector<std::string>& shell_names();

/// "bash", "zsh", "sh", "fish", "powershell", "cmd", "tcsh", "emacs"; a Usage error otherwise.
[[nodiscard]] Result<Shell> parse_shell(std::string_view name);

/// The shell from $SHELL's value (a path); an Error with a hint to pass --shell when it is empty
/// or not a shell berth knows (csh counts as tcsh, ksh/dash/ash/mksh as POSIX sh).
[[nodiscard]] Result<Shell> detect_shell(std::string_view shell_env);

struct EnvRequest {
    Shell shell = Shell::Bash;
    bool unset = false;
    std::string docker_host;     ///< tcp://HOST:PORT (set only)
    std::string cert_path;       ///< the machine's directory (set only)
    std::string machine_name;    ///< (set only)
    /// With --no-proxy: the variable to write (no_proxy if the lowercase one is set, else
    /// NO_PROXY) and its new value (set only).
    std::optional<std::string> no_proxy_var;
    std::string no_proxy_value;
    std::vector<std::string> command_line;  ///< argv as typed, echoed in the usage hint
};

/// The script: every value quoted for the shell by its quoting function (include/berth/shell/
/// shell_quote.h), so evaluating it sets each variable to the value's exact bytes and runs nothing;
/// ordinary values print exactly as docker-machine prints them. A Usage error when a value cannot
/// be carried safely by the shell (a newline for cmd, PowerShell or tcsh ...): nothing is printed.
[[nodiscard]] Result<std::string> write_env_script(const EnvRequest& request);

/// A script for a bundle (`berth bundle`), sourced from wherever the bundle was unpacked: the
/// variables of write_env_script, with DOCKER_CERT_PATH set to the directory the script itself is
/// in, found by the shell when it runs (bash and zsh from the sourced file's path, fish with
/// `status dirname`, PowerShell with $PSScriptRoot, cmd with %~dp0, Emacs from load-file-name;
/// POSIX sh and tcsh cannot know it and take the current directory: source them from there). The
/// other values are quoted for the shell as write_env_script quotes them; no usage hint.
[[nodiscard]] Result<std::string> write_bundle_env_script(Shell shell, std::string_view docker_host,
                                                          std::string_view machine_name);
/// The file name of that script in a bundle: env.sh (bash, zsh, sh), env.fish, env.ps1, env.cmd,
/// env.csh, env.el.
[[nodiscard]] std::string_view bundle_env_file(Shell shell);

/// write_env_script's text, or "" when it refuses.
[[nodiscard]] std::string render_env_script(const EnvRequest& request);

/// Which NO_PROXY variable to use and its value with `host` added once (exact entries, not
/// substrings: "10.1.2.30" does not contain "10.1.2.3"). `lower`/`upper` are the current values
/// of no_proxy and NO_PROXY (empty when unset).
struct NoProxy {
    std::string var;
    std::string value;
};
[[nodiscard]] NoProxy no_proxy_with(std::string_view lower, std::string_view upper,
                                    std::string_view host);

}  // namespace berth
