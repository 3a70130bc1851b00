#pragma once
/// One quoting function per shell that `berth env` writes for. Each returns the value as one
/// literal word of that shell: evaluating the word yields the value's exact bytes and runs nothing.
/// An ordinary value (letters, digits, '/', ':', '.', ',', '-', '_', '<', '>', space ...) keeps
/// docker-machine's double-quoted form, so ordinary output is byte for byte docker-machine's; any
/// other value takes the shell's literal form. Where a shell cannot carry a value safely (a newline
/// for cmd, PowerShell and tcsh; '"', '%', '!', '^', '&', '|' for cmd) the function
/// returns an Error that names the shell and the character. Pure: no I/O.

#include <berth/core/error.h>

#include <string>
#include <string_view>

namespace berth {

/// bash, zsh and POSIX sh: "VALUE", or 'VALUE' with each ' written '\''. Never refuses.
[[nodiscard]] std::string quote_sh(std::string_view value);

/// fish: "VALUE", or 'VALUE' with \ and ' backslash-escaped. Never refuses.
[[nodiscard]] std::string quote_fish(std::string_view value);

/// PowerShell: "VALUE", or 'VALUE' with every single-quote character (' and U+2018..U+201B)
/// doubled. Refuses control characters (Invoke-Expression reads the output line by line).
[[nodiscard]] Result<std::string> quote_powershell(std::string_view value);

/// cmd.exe (SET NAME=VALUE, run by the hint's FOR /f ... DO @%i): VALUE as it is. Refuses control
/// characters (FOR /f runs each line), % ! ^ (expanded by a batch file or delayed expansion) and
/// " & | (which would end the command when the line is pasted). '<' and '>' are kept: docker-machine
/// prints them, and FOR expands %i only after cmd has parsed redirections.
[[nodiscard]] Result<std::string> quote_cmd(std::string_view value);

/// tcsh and csh: "VALUE", or 'VALUE' with ' written '\'', ! written '\!' and \ written '\\'
/// (outside the quotes, so no history substitution and no backslash_quote surprises).
/// Refuses control characters (eval `...` joins the output's lines).
[[nodiscard]] Result<std::string> quote_tcsh(std::string_view value);

/// Emacs Lisp: a string literal "VALUE" with \ and " backslash-escaped. Never refuses.
[[nodiscard]] std::string quote_emacs(std::string_view value);

}  // namespace berth
