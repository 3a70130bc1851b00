#pragma once
/// Every value berth puts into another format goes through the function named for that format:
/// a shell word, a JSON or YAML string, XML text or attribute, a systemd command-line word or an
/// EnvironmentFile value. Each returns text that the format's parser reads back as exactly the
/// input. What a format cannot carry at all (XML has no way to write most control characters,
/// nft strings have no escapes) is refused by the caller's validation before rendering; the
/// `*_can_carry` helpers say which values those are.

#include <optional>
#include <string>
#include <string_view>

namespace berth {

/// A POSIX shell: `text` as one single-quoted word ('it'\''s').
[[nodiscard]] std::string shell_quote(std::string_view text);

/// rsync's `-e`/`--rsh` COMMAND (rsync(1); main.c do_cmd): one word of it. rsync splits COMMAND
/// on spaces itself, without a shell: '...' and "..." keep spaces, a quote character doubled
/// inside its own quotes is one literal quote, and nothing else is special (no backslashes, no
/// `$`). So the word is written in single quotes with each `'` doubled, and rsync reads back
/// exactly `text` (a NUL cannot be carried: it ends the string).
[[nodiscard]] std::string rsync_rsh_word(std::string_view text);

/// JSON: a string literal with its double quotes; `"`, `\` and every control character (and DEL)
/// are escaped, other bytes (UTF-8) pass as they are.
[[nodiscard]] std::string json_string(std::string_view text);

/// YAML: a double-quoted scalar. Written as a JSON string, which YAML 1.2 reads as the same value.
[[nodiscard]] std::string yaml_string(std::string_view text);

/// XML character data (between tags): & < > escaped, newline and carriage return as character
/// references (so no line of the document is blank or changed by end-of-line handling).
[[nodiscard]] std::string xml_text(std::string_view text);
/// An XML attribute value, for either quote character: & < > ' " escaped, and tab, newline and
/// carriage return as character references (a parser would turn them into spaces otherwise).
[[nodiscard]] std::string xml_attr(std::string_view text);
/// Whether XML 1.0 can carry `text` at all: no control characters but tab, newline and CR.
[[nodiscard]] bool xml_can_carry(std::string_view text);

/// systemd unit files (systemd.syntax(7), systemd.service(5) "Command lines"): one word of an
/// ExecStart= line (or part of one, after "--flag="). A plain word (letters, digits, / . _ + = , : @ -,
/// not starting with a prefix character like `-`) is written as it is; any other is double-quoted
/// with C escapes, `%` written `%%` (specifiers) and `$` `$$` (environment substitution), so it is
/// taken literally and never as a prefix.
[[nodiscard]] std::string systemd_exec_word(std::string_view text);

/// systemd: the program of an ExecStart= line (its first word). Quoted like systemd_exec_word, but
/// `$` stays as it is: systemd substitutes variables in the arguments, not in the program's path.
[[nodiscard]] std::string systemd_exec_path(std::string_view path);
/// Whether systemd runs `path` as a program at all: an absolute path with no control character,
/// quote or backslash (systemd refuses those: "Executable name contains special characters").
[[nodiscard]] bool systemd_can_exec(std::string_view path);

/// systemd EnvironmentFile= (systemd.exec(5)): a value, double-quoted, with `"`, `\`, `` ` `` and
/// `$` backslash-escaped. systemd and a POSIX shell read it back as exactly `text` (which must
/// hold no control characters: validate first).
[[nodiscard]] std::string systemd_env_file_value(std::string_view text);

/// apt.conf(5) (/etc/apt/apt.conf.d/*): a value as a double-quoted string. apt has no escapes
/// inside quotes: it reads every byte up to the next `"` as it is. So a value with a double quote,
/// a backslash (apt.conf(5) forbids it) or a control character cannot be carried
/// (apt_conf_can_carry); validate first. Should one reach this function anyway, each such byte is
/// written as %XX (URL percent-encoding, which apt does not decode): the value stays one string on
/// one line and cannot end it or start another setting, but is not read back as given.
[[nodiscard]] std::string apt_conf_quote(std::string_view text);
/// Whether apt.conf can carry `text` exactly: no double quote, backslash or control character.
[[nodiscard]] bool apt_conf_can_carry(std::string_view text);

/// nftables: an IP address in a rule or set, as inet_ntop writes it (the canonical form, which
/// nft reads back as the same address); nullopt when `text` is not an IPv4 or IPv6 literal.
[[nodiscard]] std::optional<std::string> nft_address(std::string_view text);

/// Whether `text` has a control character (below 0x20, or DEL).
[[nodiscard]] bool has_control_character(std::string_view text);

/// A line for the terminal: each control character (an escape sequence's ESC, a line break)
/// written as \xNN, so a spec's or a host's text cannot move the cursor or forge a line.
[[nodiscard]] std::string terminal_text(std::string_view text);

}  // namespace berth
