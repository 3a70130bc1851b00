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
