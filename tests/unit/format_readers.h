#pragma once
// Readers of the formats berth writes, for tests that check what a value turns into: the words
// systemd makes of an ExecStart= line (systemd.syntax(7), systemd.service(5) "Command lines"),
// and what a POSIX shell reads from a script or an EnvironmentFile-style file (a real /bin/sh).

#include <berth/process/runner.h>

#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::test {

/// The argv systemd runs for `line` (the text after "ExecStart="): specifiers ("%%" -> "%",
/// any other is refused: nullopt), words split on blanks with "..." and '...' quoting and C
/// escapes, then "$$" -> "$" in each argument (not in the program, which systemd does not
/// substitute). A word that is a bare $VAR is kept as it is.
inline std::optional<std::vector<std::string>> systemd_exec_argv(const std::string& line) {
    std::string text;
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] != '%') { text += line[i]; continue; }
        if (i + 1 >= line.size() || line[i + 1] != '%') return std::nullopt;
        text += '%';
        ++i;
    }
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    char quote = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (!quote && (c == ' ' || c == '\t')) {
            if (in_word) words.push_back(word);
            word.clear();
            in_word = false;
            continue;
        }
        in_word = true;
        if (c == '\\') {
            if (++i >= text.size()) return std::nullopt;
            const char e = text[i];
            if (e == 'n') word += '\n';
            else if (e == 't') word += '\t';
            else if (e == 'x' && i + 2 < text.size()) {
                word += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
                i += 2;
            } else if (e == '\\' || e == '"' || e == '\'') word += e;
            else return std::nullopt;  // an escape this reader (and the writer) does not use
        } else if (quote && c == quote) quote = 0;
        else if (!quote && (c == '"' || c == '\'')) quote = c;
        else word += c;
    }
    if (quote) return std::nullopt;
    if (in_word) words.push_back(word);
    for (std::size_t n = 1; n < words.size(); ++n) {
        std::string& w = words[n];
        std::string out;
        for (std::size_t i = 0; i < w.size(); ++i) {
            out += w[i];
            if (w[i] == '$' && i + 1 < w.size() && w[i + 1] == '$') ++i;
        }
        w = out;
    }
    return words;
}

/// The value of the last "KEY=" line in `unit_text` ("ExecStart=" gives the command line).
inline std::string unit_setting(const std::string& unit_text, const std::string& key) {
    std::string value;
    std::size_t pos = 0;
    while (pos < unit_text.size()) {
        auto end = unit_text.find('\n', pos);
        if (end == std::string::npos) end = unit_text.size();
        const std::string line = unit_text.substr(pos, end - pos);
        if (line.starts_with(key + "=")) value = line.substr(key.size() + 1);
        pos = end + 1;
    }
    return value;
}

/// Runs `script` with /bin/sh (on stdin); its exit status and output.
inline CommandResult run_sh(const std::string& script, const std::vector<std::string>& args = {}) {
    ProcessRunner runner;
    Command c;
    c.argv = {"/bin/sh", "-s", "--"};
    c.argv.insert(c.argv.end(), args.begin(), args.end());
    c.stdin_data = script;
    c.timeout = std::chrono::seconds(20);
    auto r = runner.run(c);
    REQUIRE(r);
    return *r;
}

/// What apt itself reads from `text` as a file of /etc/apt/apt.conf.d (apt.conf(5)), through the
/// real apt-config: "keys" lists the keys the file adds to the system's configuration, one per
/// line (parents included: "Acquire::http" with "Acquire::http::Proxy"), and `key`'s value
/// follows after a line "@value". nullopt when apt refuses the file (a syntax error). The test
/// fails when apt-config is not installed: it cannot check the file without it.
inline std::optional<std::string> apt_conf_read(const std::string& text, const std::string& key) {
    auto r = run_sh("command -v apt-config >/dev/null || exit 127\n"
                    "f=$(mktemp) || exit 3\n"
                    "printf '%s' \"$1\" > \"$f\"\n"
                    "apt-config dump > \"$f.base\" || exit 3\n"
                    "if ! apt-config -c \"$f\" dump > \"$f.with\"; then rm -f \"$f\" \"$f.base\" \"$f.with\"; exit 4; fi\n"
                    "diff \"$f.base\" \"$f.with\" | sed -n 's/^> //p' | sed 's/ .*//' | grep -v '^CommandLine::'\n"
                    "eval \"$(apt-config -c \"$f\" shell V \"$2\")\"\n"
                    "printf '@value\\n%s' \"${V-}\"\n"
                    "rm -f \"$f\" \"$f.base\" \"$f.with\"\n",
                    {text, key});
    INFO(r.err);
    REQUIRE(r.exit_status != 127);  // apt-config (package apt) is needed
    REQUIRE(r.exit_status != 3);
    if (r.exit_status == 4) return std::nullopt;
    REQUIRE(r.exit_status == 0);
    return r.out;
}

}  // namespace berth::test
