#include <berth/shell/env_script.h>

#include <filesystem>

namespace berth {
namespace {

struct Syntax {
    std::string prefix;
    std::string delimiter;
    std::string suffix;
};

Syntax set_syntax(Shell shell) {
    switch (shell) {
        case Shell::Fish: return {"set -gx ", " \"", "\";\n"};
        case Shell::PowerShell: return {"$Env:", " = \"", "\"\n"};
        case Shell::Cmd: return {"SET ", "=", "\n"};
        case Shell::Tcsh: return {"setenv ", " \"", "\";\n"};
        case Shell::Emacs: return {"(setenv \"", "\" \"", "\")\n"};
        case Shell::Bash:
        case Shell::Zsh:
        case Shell::Sh: break;
    }
    return {"export ", "=\"", "\"\n"};
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

// docker-machine quotes argv[0] when it holds a space or a backslash; berth also quotes any other
// argument with a space so that the hint still works when pasted.
std::string command_line(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& arg : argv) {
        if (!out.empty()) out += ' ';
        const bool quote = arg.find(' ') != std::string::npos ||
                           (&arg == &argv.front() && arg.find('\\') != std::string::npos);
        out += quote ? "\"" + arg + "\"" : arg;
    }
    return out;
}

// docker-machine prints "shell: " with a trailing space; berth prints the line as the issue's
// golden output has it, without one.
std::string usage_hint(Shell shell, const std::vector<std::string>& argv) {
    const std::string cl = command_line(argv);
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
            cmd = "(with-temp-buffer (shell-command \"" + cl + "\" (current-buffer)) (eval-buffer))";
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

std::string render_env_script(const EnvRequest& r) {
    const Syntax s = r.unset ? unset_syntax(r.shell) : set_syntax(r.shell);
    std::string out;
    auto line = [&](const std::string& name, const std::string& value) {
        out += s.prefix + name + s.delimiter + (r.unset ? "" : value) + s.suffix;
    };
    line("DOCKER_TLS_VERIFY", "1");
    line("DOCKER_HOST", r.docker_host);
    line("DOCKER_CERT_PATH", r.cert_path);
    line("DOCKER_MACHINE_NAME", r.machine_name);
    if (r.no_proxy_var) line(*r.no_proxy_var, r.no_proxy_value);
    out += usage_hint(r.shell, r.command_line);
    return out;
}

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
