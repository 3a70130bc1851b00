#include <berth/shell/shell_quote.h>

#include <cstdio>

namespace berth {
namespace {

bool is_control(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}

/// A value every shell's double quotes keep as it is: no control characters, nothing a shell
/// expands inside double quotes ($ ` \ ! "), and plain ASCII (PowerShell treats some Unicode
/// quotation marks as quotes).
bool plain(std::string_view value) {
    for (char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (is_control(c) || u >= 0x80) return false;
        if (c == '$' || c == '`' || c == '\\' || c == '!' || c == '"') return false;
    }
    return true;
}

std::string describe(char c) {
    if (c == '\n') return "a newline";
    if (c == '\r') return "a carriage return";
    if (c == '\t') return "a tab";
    char buf[16];
    if (is_control(c)) {
        std::snprintf(buf, sizeof buf, "0x%02x", static_cast<unsigned>(static_cast<unsigned char>(c)));
        return std::string("the control character ") + buf;
    }
    return std::string("'") + c + "'";
}

Error refuse(std::string_view shell, char c, std::string_view value) {
    return fail_usage(std::string(shell) + " cannot carry " + describe(c) + " safely in \"" +
                          std::string(value.substr(0, value.find_first_of("\r\n"))) + "\"",
                      "print for another shell (--shell bash), or use a store path and NO_PROXY without it")
        .error();
}

std::string double_quoted(std::string_view value) { return "\"" + std::string(value) + "\""; }

}  // namespace

std::string quote_sh(std::string_view value) {
    if (plain(value)) return double_quoted(value);
    std::string out = "'";
    for (char c : value) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}

std::string quote_fish(std::string_view value) {
    if (plain(value)) return double_quoted(value);
    std::string out = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

Result<std::string> quote_powershell(std::string_view value) {
    for (char c : value)
        if (is_control(c)) return std::unexpected(refuse("PowerShell", c, value));
    if (plain(value)) return double_quoted(value);
    std::string out = "'";
    for (std::size_t i = 0; i < value.size(); ++i) {
        // U+2018..U+201B are E2 80 98..9B in UTF-8; PowerShell ends a '...' string at each of them.
        if (value[i] == '\'') {
            out += "''";
        } else if (value.substr(i, 2) == "\xE2\x80" && i + 2 < value.size() &&
                   static_cast<unsigned char>(value[i + 2]) >= 0x98 &&
                   static_cast<unsigned char>(value[i + 2]) <= 0x9B) {
            out += std::string(value.substr(i, 3)) + std::string(value.substr(i, 3));
            i += 2;
        } else {
            out += value[i];
        }
    }
    return out + "'";
}

Result<std::string> quote_cmd(std::string_view value) {
    for (char c : value) {
        if (is_control(c) || std::string_view("\"%!^&|").find(c) != std::string_view::npos)
            return std::unexpected(refuse("cmd", c, value));
    }
    return std::string(value);
}

Result<std::string> quote_tcsh(std::string_view value) {
    for (char c : value)
        if (is_control(c)) return std::unexpected(refuse("tcsh", c, value));
    if (plain(value)) return double_quoted(value);
    std::string out = "'";
    for (char c : value) {
        if (c == '\'') out += "'\\''";
        else if (c == '!') out += "'\\!'";
        else if (c == '\\') out += "'\\\\'";
        else out += c;
    }
    return out + "'";
}

std::string quote_emacs(std::string_view value) {
    std::string out = "\"";
    for (char c : value) {
        if (c == '\\' || c == '"') out += '\\';
        out += c;
    }
    return out + "\"";
}

}  // namespace berth
