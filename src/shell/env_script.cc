#include <berth/shell/env_script.h>

#include <berth/shell/shell_quote.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace berth {
namespace {

struct Syntax {
    std::string prefix;
    std::string delimiter;
    std::string suffix;
};

// The quotes are the quoting function's (quote_for): docker-machine's double quotes for ordinary values.
Syntax set_syntax(Shell shell) {
    switch (shell) {
        case Shell::Fish: return {"set -gx ", " ", ";\n"};
        case Shell::PowerShell: return {"$Env:", " = ", "\n"};
        case Shell::Cmd: return {"SET ", "=", "\n"};
        case Shell::Tcsh: return {"setenv ", " ", ";\n"};
        case Shell::Emacs: return {"(setenv \"", "\" ", ")\n"};
        case Shell::Bash:
        case Shell::Zsh:
        case Shell::Sh: break;
    }
    return {"export ", "=", "\n"};
}

/// One value as a literal word of the shell, or why the shell cannot carry it.
Result<std::string> quote_for(Shell shell, std::string_view value) {
    switch (shell) {
        case Shell::Fish: return quote_fish(value);
        case Shell::PowerShell: return quote_powershell(value);
        case Shell::Cmd: return quote_cmd(value);
        case Shell::Tcsh: return quote_tcsh(value);
        case Shell::Emacs: return quote_emacs(value);
        case Shell::Bash:
        case Shell::Zsh:
        case Shell::Sh: break;
    }
    return quote_sh(value);
}

Syntax unset_syntax(Shell shell) {
    switch (shell) {
        case Shell::Fish: return {"set -e ", "", ";\n"};
        case Shell::PowerShell: return {"Remove-Item Env:\\\\", "", "\n"};
        case Shell::Cmd: return {"SET ", "=", "\n"};
        case Shell::Tcsh: return {"unsetenv ", "", ";\n"};
        case Shell::Emacs: return {"(setenv \"", "\" nil", ")\n"};
        case Shell::Bash:
        case Shell::Zsh:
        case Shell::Sh: break;
    }
    return {"unset ", "", "\n"};
}

bool hint_plain(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view(" -_./:=,+@~").find(c) != std::string_view::npos;
}

// docker-machine quotes argv[0] when it holds a space or a backslash; berth also quotes any other
// argument with a space so that the hint still works when pasted. Any other argument (a store path
// with `$(...)`) is quoted for the shell, since tcsh's hint runs it inside backquotes; one with a
// control character is shown as "..." (a newline would end the comment the hint is in).
std::string command_line(Shell shell, const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& arg : argv) {
        if (!out.empty()) out += ' ';
        const bool first = &arg == &argv.front();
        if (std::all_of(arg.begin(), arg.end(), [&](char c) { return hint_plain(c) || (first && c == '\\'); })) {
            const bool quote = arg.find(' ') != std::string::npos || (first && arg.find('\\') != std::string::npos);
            out += quote ? "\"" + arg + "\"" : arg;
            continue;
        }
        auto quoted = quote_for(shell == Shell::Emacs ? Shell::Sh : shell, arg);
        const bool control = std::any_of(arg.begin(), arg.end(), [](char c) {
            return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
        });
        out += quoted && !control ? *quoted : "...";
    }
    return out;
}

// docker-machine prints "shell: " with a trailing space; berth prints the line as the issue's
// golden output has it, without one.
std::string usage_hint(Shell shell, const std::vector<std::string>& argv) {
    std::string cl = command_line(shell, argv);
    std::string comment = "#";
    std::string cmd;
    switch (shell) {
        case Shell::Fish: cmd = "eval (" + cl + ")"; break;
        case Shell::PowerShell: cmd = "& " + cl + " | Invoke-Expression"; break;
        case Shell::Cmd:
            cmd = "\t@FOR /f \"tokens=*\" %i IN ('" + cl + "') DO @%i";
            comment = "REM";
            break;
        case Shell::Emacs:
            cmd = "(with-temp-buffer (shell-command " + quote_emacs(cl) + " (current-buffer)) (eval-buffer))";
            comment = ";;";
            break;
        case Shell::Tcsh:
            cmd = "eval `" + cl + "`";
            comment = ":";
            break;
        case Shell::Bash:
        case Shell::Zsh:
        case Shell::Sh: cmd = "eval $(" + cl + ")"; break;
    }
    return comment + " Run this command to configure your shell:\n" + comment + " " + cmd + "\n";
}

}  // namespace

const std::vector<std::string>& shell_names() {
    static const std::vector<std::string> names = {"bash", "zsh", "sh", "fish", "powershell", "cmd", "tcsh", "emacs"};
    return names;
}

Result<Shell> parse_shell(std::string_view name) {
    if (name == "bash") return Shell::Bash;
    if (name == "zsh") return Shell::Zsh;
    if (name == "sh") return Shell::Sh;
    if (name == "fish") return Shell::Fish;
    if (name == "powershell") return Shell::PowerShell;
    if (name == "cmd") return Shell::Cmd;
    if (name == "tcsh") return Shell::Tcsh;
    if (name == "emacs") return Shell::Emacs;
    return fail_usage("unknown shell \"" + std::string(name) + "\"",
                      "--shell takes bash, zsh, sh, fish, powershell, cmd, tcsh or emacs");
}

Result<Shell> detect_shell(std::string_view shell_env) {
    const std::string hint = "pass --shell bash|zsh|fish|powershell|cmd|tcsh|emacs";
    if (shell_env.empty())
        return fail("cannot detect your shell: $SHELL is not set", hint);
    const std::string base = std::filesystem::path(std::string(shell_env)).filename().string();
    if (base == "csh") return Shell::Tcsh;
    if (base == "ksh" || base == "dash" || base == "ash" || base == "mksh") return Shell::Sh;
    if (base == "pwsh") return Shell::PowerShell;
    auto shell = parse_shell(base);
    if (!shell) return fail("cannot detect your shell: $SHELL is \"" + std::string(shell_env) +
                                "\", which berth does not know",
                            hint);
    return shell;
}

Result<std::string> write_env_script(const EnvRequest& r) {
    const Syntax s = r.unset ? unset_syntax(r.shell) : set_syntax(r.shell);
    std::string out;
    auto line = [&](const std::string& name, const std::string& value) -> Result<void> {
        if (r.unset) {
            out += s.prefix + name + s.delimiter + s.suffix;
            return {};
        }
        auto quoted = quote_for(r.shell, value);
        if (!quoted) {
            Error e = quoted.error();
            e.message = "cannot print " + name + ": " + e.message;
            return std::unexpected(e);
        }
        out += s.prefix + name + s.delimiter + *quoted + s.suffix;
        return {};
    };
    for (const auto& [name, value] : {std::pair<std::string, std::string>{"DOCKER_TLS_VERIFY", "1"},
                                      {"DOCKER_HOST", r.docker_host},
                                      {"DOCKER_CERT_PATH", r.cert_path},
                                      {"DOCKER_MACHINE_NAME", r.machine_name}})
        if (auto ok = line(name, value); !ok) return std::unexpected(ok.error());
    if (r.no_proxy_var)
        if (auto ok = line(*r.no_proxy_var, r.no_proxy_value); !ok) return std::unexpected(ok.error());
    out += usage_hint(r.shell, r.command_line);
    return out;
}

namespace {

// The lines that set DOCKER_CERT_PATH to the directory of the script being run; fixed text, no
// value from anywhere in it.
std::string_view self_dir_lines(Shell shell) {
    switch (shell) {
        case Shell::Fish: return "set -gx DOCKER_CERT_PATH (builtin realpath (status dirname));\n";
        case Shell::PowerShell: return "$Env:DOCKER_CERT_PATH = $PSScriptRoot\n";
        case Shell::Cmd: return "SET \"DOCKER_CERT_PATH=%~dp0\"\nSET \"DOCKER_CERT_PATH=%DOCKER_CERT_PATH:~0,-1%\"\n";
        case Shell::Tcsh:
            return "setenv DOCKER_CERT_PATH \"`pwd -P`\";\n";
        case Shell::Emacs:
            return "(setenv \"DOCKER_CERT_PATH\" (directory-file-name (file-name-directory (or load-file-name "
                   "buffer-file-name))))\n";
        case Shell::Bash:
        case Shell::Zsh:
        case Shell::Sh: break;
    }
    return "if [ -n \"${BASH_VERSION:-}\" ]; then eval '_berth_env=\"${BASH_SOURCE[0]}\"'\n"
           "elif [ -n \"${ZSH_VERSION:-}\" ]; then eval '_berth_env=\"${(%):-%x}\"'\n"
           "else _berth_env=./env.sh\n"
           "fi\n"
           "DOCKER_CERT_PATH=$(cd \"$(dirname \"$_berth_env\")\" && pwd -P) && export DOCKER_CERT_PATH\n"
           "unset _berth_env\n";
}

std::string_view bundle_comment(Shell shell) {
    switch (shell) {
        case Shell::Fish: return "# Point the docker CLI at the machine: source /path/to/bundle/env.fish\n";
        case Shell::PowerShell: return "# Point the docker CLI at the machine: . C:\\path\\to\\bundle\\env.ps1\n";
        case Shell::Cmd: return "@ECHO OFF\nREM Point the docker CLI at the machine: CALL C:\\path\\to\\bundle\\env.cmd\n";
        case Shell::Tcsh:
            return "# Point the docker CLI at the machine, from the bundle's directory (a sourced csh script cannot\n"
                   "# know where it is): cd /path/to/bundle; source env.csh\n";
        case Shell::Emacs: return ";; Point the docker CLI at the machine: M-x load-file RET /path/to/bundle/env.el\n";
        case Shell::Bash:
        case Shell::Zsh:
        case Shell::Sh: break;
    }
    return "# Point the docker CLI at the machine: . /path/to/bundle/env.sh (bash, zsh; in sh, from the\n"
           "# bundle's directory: . ./env.sh)\n";
}

}  // namespace

Result<std::string> write_bundle_env_script(Shell shell, std::string_view docker_host, std::string_view machine_name) {
    const Syntax s = set_syntax(shell);
    std::string out(bundle_comment(shell));
    for (const auto& [name, value] : {std::pair<std::string, std::string_view>{"DOCKER_TLS_VERIFY", "1"},
                                      {"DOCKER_HOST", docker_host},
                                      {"DOCKER_MACHINE_NAME", machine_name}}) {
        auto quoted = quote_for(shell, value);
        if (!quoted) {
            Error e = quoted.error();
            e.message = "cannot write " + name + " for " + std::string(bundle_env_file(shell)) + ": " + e.message;
            return std::unexpected(e);
        }
        out += s.prefix + name + s.delimiter + *quoted + s.suffix;
    }
    out += self_dir_lines(shell);
    return out;
}

std::string_view bundle_env_file(Shell shell) {
    switch (shell) {
        case Shell::Fish: return "env.fish";
        case Shell::PowerShell: return "env.ps1";
        case Shell::Cmd: return "env.cmd";
        case Shell::Tcsh: return "env.csh";
        case Shell::Emacs: return "env.el";
        case Shell::Bash:
        case Shell::Zsh:
        case Shell::Sh: break;
    }
    return "env.sh";
}

std::string render_env_script(const EnvRequest& r) { return write_env_script(r).value_or(std::string{}); }

NoProxy no_proxy_with(std::string_view lower, std::string_view upper, std::string_view host) {
    NoProxy np{"no_proxy", std::string(lower)};
    if (lower.empty()) np = {"NO_PROXY", std::string(upper)};
    auto trimmed = [](std::string_view s) {
        while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
        while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
        return s;
    };
    std::string_view rest = np.value;
    while (!rest.empty()) {
        auto comma = rest.find(',');
        if (trimmed(rest.substr(0, comma)) == host) return np;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    np.value = np.value.empty() ? std::string(host) : np.value + "," + std::string(host);
    return np;
}

}  // namespace berth
