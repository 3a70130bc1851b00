#include <berth/core/escape.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace berth {
namespace {

bool is_control(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}

std::string hex_escape(const char* format, char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, format, static_cast<unsigned>(static_cast<unsigned char>(c)));
    return buf;
}

}  // namespace

std::string shell_quote(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}

std::string rsync_rsh_word(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') out += "''";
        else out += c;
    }
    return out + "'";
}

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default: out += is_control(c) ? hex_escape("\\u%04x", c) : std::string(1, c);
        }
    }
    return out + "\"";
}

std::string yaml_string(std::string_view text) {
    return json_string(text);
}

std::string xml_text(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '\n': out += "&#10;"; break;
            case '\r': out += "&#13;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string xml_attr(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '\'': out += "&apos;"; break;
            case '"': out += "&quot;"; break;
            case '\t': out += "&#9;"; break;
            case '\n': out += "&#10;"; break;
            case '\r': out += "&#13;"; break;
            default: out += c;
        }
    }
    return out;
}

bool xml_can_carry(std::string_view text) {
    for (char c : text)
        if (is_control(c) && c != '\t' && c != '\n' && c != '\r' && c != '\x7f') return false;
    return true;
}

namespace {

// A word of an ExecStart= line: plain as it is, else double-quoted with C escapes and `%%`; `$$`
// for a `$` when `dollars` (the arguments, where systemd substitutes variables).
std::string exec_word(std::string_view text, bool dollars) {
    const bool plain = !text.empty() && std::string_view("-@:+!").find(text.front()) == std::string_view::npos &&
                       std::all_of(text.begin(), text.end(), [](char c) {
                           return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
                                  std::string_view("/._+=,:@-").find(c) != std::string_view::npos;
                       });
    if (plain) return std::string(text);
    std::string out = "\"";
    for (char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\'': out += "\\'"; break;
            case '%': out += "%%"; break;
            case '$': out += dollars ? "$$" : "$"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            default: out += is_control(c) ? hex_escape("\\x%02x", c) : std::string(1, c);
        }
    }
    return out + "\"";
}

}  // namespace

std::string systemd_exec_word(std::string_view text) {
    return exec_word(text, true);
}

std::string systemd_exec_path(std::string_view path) {
    return exec_word(path, false);
}

bool systemd_can_exec(std::string_view path) {
    return path.starts_with('/') && !has_control_character(path) &&
           path.find_first_of("\"'\\") == std::string_view::npos;
}

std::string systemd_env_file_value(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\' || c == '`' || c == '$') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string apt_conf_quote(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\' || is_control(c)) out += hex_escape("%%%02X", c);
        else out += c;
    }
    return out + "\"";
}

bool apt_conf_can_carry(std::string_view text) {
    return !has_control_character(text) && text.find_first_of("\"\\") == std::string_view::npos;
}

bool has_control_character(std::string_view text) {
    for (char c : text)
        if (is_control(c)) return true;
    return false;
}

std::string terminal_text(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (!is_control(c) && c != '\\') {
            out += c;
            continue;
        }
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(static_cast<unsigned char>(c)));
        out += buf;
    }
    return out;
}

std::optional<std::string> nft_address(std::string_view text) {
    const std::string s(text);
    unsigned char buf[16];
    char out[INET6_ADDRSTRLEN];
    for (int family : {AF_INET, AF_INET6})
        if (::inet_pton(family, s.c_str(), buf) == 1 && ::inet_ntop(family, buf, out, sizeof out) != nullptr)
            return std::string(out);
    return std::nullopt;
}

}  // namespace berth
