// berth env with hostile values: each shell that is installed here evaluates the output for real
// (the variable must hold the value's exact bytes and nothing may run); PowerShell, cmd and Emacs
// cannot run here, so their text is decoded by their quoting rules.

#include <berth/process/runner.h>
#include <berth/shell/env_script.h>
#include <berth/shell/shell_quote.h>

#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>

using namespace berth;

namespace {

// Command substitution both ways, quotes, a backslash, cmd's %VAR%, a newline, a ';' command, a
// history '!' and a glob: each would run something or change the value if it were not quoted.
const std::string k_hostile = "/s/$(touch x1)/`touch x2`/\"q\"/'s'/b\\s/%PATH%/;touch x3;/!x/*/l1\nl2";
const std::string k_hostile_line = "/s/$(touch x1)/`touch x2`/\"q\"/'s'/b\\s/%PATH%/;touch x3;/!x/*/ ‘u’";

EnvRequest hostile_request(Shell shell, const std::string& value) {
    EnvRequest req;
    req.shell = shell;
    req.docker_host = "tcp://10.1.2.3:2376";
    req.cert_path = value;
    req.machine_name = "n1";
    req.no_proxy_var = "NO_PROXY";
    req.no_proxy_value = "localhost," + value;
    // argv[0] is `true`: tcsh's hint runs the command line inside backquotes.
    req.command_line = {"true", "-s", "/t/$(touch x4)/`touch x5`;touch x6", "-s", "/t/a\nb", "env", "n1"};
    return req;
}

bool installed(const std::string& shell) {
    ProcessRunner runner;
    auto r = runner.run(Command{.argv = {"sh", "-c", "command -v " + shell}, .env_set = {}, .env_unset = {},
                                .stdin_data = std::nullopt, .cwd = std::nullopt,
                                .timeout = std::chrono::seconds(10)});
    return r && r->exit_status == 0;
}

std::map<std::string, std::string> read_env_dump(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::map<std::string, std::string> vars;
    std::string all = ss.str();
    std::size_t pos = 0;
    while (pos < all.size()) {
        auto end = all.find('\0', pos);
        if (end == std::string::npos) end = all.size();
        std::string entry = all.substr(pos, end - pos);
        auto eq = entry.find('=');
        if (eq != std::string::npos) vars[entry.substr(0, eq)] = entry.substr(eq + 1);
        pos = end + 1;
    }
    return vars;
}

/// Runs `shell -c script` in a fresh directory holding the env output as "out"; returns the
/// environment the shell had afterwards, and checks that no command of the values ran.
std::map<std::string, std::string> evaluate(const std::vector<std::string>& shell_argv, const std::string& output) {
    test::TempDir dir;
    test::write_text(dir / "out", output);
    Command c;
    c.argv = shell_argv;
    c.cwd = dir.path().string();
    c.env_unset = {"DOCKER_CERT_PATH", "NO_PROXY", "no_proxy", "DOCKER_HOST"};
    c.timeout = std::chrono::seconds(30);
    ProcessRunner runner;
    auto r = runner.run(c);
    REQUIRE(r);
    CAPTURE(output, r->out, r->err);
    CHECK(r->exit_status == 0);
    for (const char* marker : {"x1", "x2", "x3", "x4", "x5", "x6"}) {
        CAPTURE(marker);
        CHECK_FALSE(std::filesystem::exists(dir / marker));
    }
    return read_env_dump(dir / "dump");
}

void check_literal(const std::map<std::string, std::string>& vars, const std::string& value) {
    REQUIRE(vars.contains("DOCKER_CERT_PATH"));
    CHECK(vars.at("DOCKER_CERT_PATH") == value);
    CHECK(vars.at("NO_PROXY") == "localhost," + value);
    CHECK(vars.at("DOCKER_HOST") == "tcp://10.1.2.3:2376");
    CHECK(vars.at("DOCKER_TLS_VERIFY") == "1");
}

/// Decodes PowerShell's `$Env:NAME = LITERAL` line: "..." (nothing PowerShell expands inside) or
/// '...' with each single-quote character doubled.
std::string powershell_value(const std::string& line) {
    auto eq = line.find(" = ");
    REQUIRE(eq != std::string::npos);
    std::string lit = line.substr(eq + 3);
    if (lit.front() == '"') {
        REQUIRE(lit.back() == '"');
        std::string inner = lit.substr(1, lit.size() - 2);
        CHECK(inner.find_first_of("`$\"") == std::string::npos);
        for (char c : inner) CHECK(static_cast<unsigned char>(c) < 0x80);
        return inner;
    }
    REQUIRE(lit.front() == '\'');
    auto quote_len = [&](std::size_t i) -> std::size_t {
        if (lit[i] == '\'') return 1;
        if (lit.compare(i, 2, "\xE2\x80") == 0 && i + 2 < lit.size() &&
            static_cast<unsigned char>(lit[i + 2]) >= 0x98 && static_cast<unsigned char>(lit[i + 2]) <= 0x9B)
            return 3;
        return 0;
    };
    std::string out;
    std::size_t i = 1;
    while (true) {
        REQUIRE(i < lit.size());
        if (auto n = quote_len(i); n > 0) {
            if (i + n < lit.size() && quote_len(i + n) > 0) {
                out += lit.substr(i, n);
                i += n + quote_len(i + n);
                continue;
            }
            CHECK(i + n == lit.size());  // the closing quote ends the line: nothing after it runs
            return out;
        }
        out += lit[i++];
    }
}

/// Decodes Emacs's `(setenv "NAME" "...")`: \\ and \" escaped, no other quote.
std::string emacs_value(const std::string& line) {
    auto start = line.find("\" \"");
    REQUIRE(start != std::string::npos);
    std::string out;
    std::size_t i = start + 3;
    for (; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] == '\\') {
            ++i;
            REQUIRE((line[i] == '\\' || line[i] == '"'));
        }
        out += line[i];
    }
    CHECK(line.substr(i) == "\")");
    return out;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
}

}  // namespace

TEST_CASE("env quoting for bash - sh and zsh: the value arrives literally and nothing runs", "[env][security]") {
    for (const std::string shell : {"bash", "sh", "dash", "zsh"}) {
        CAPTURE(shell);
        REQUIRE(installed(shell));
        auto out = write_env_script(hostile_request(shell == "zsh" ? Shell::Zsh : Shell::Bash, k_hostile));
        REQUIRE(out);
        // eval "$(...)": exact bytes, the newline included.
        check_literal(evaluate({shell, "-c", "eval \"$(cat out)\" && env -0 > dump"}, *out), k_hostile);
        // The hint's own form, eval $(...) unquoted: word splitting turns the newline into a
        // space, and still nothing runs.
        auto split = evaluate({shell, "-c", "eval $(cat out) && env -0 > dump"}, *out);
        CHECK(split.at("DOCKER_CERT_PATH") == "/s/$(touch x1)/`touch x2`/\"q\"/'s'/b\\s/%PATH%/;touch x3;/!x/*/l1 l2");
    }
}

TEST_CASE("env quoting for fish: source and eval (...) run nothing", "[env][security]") {
    REQUIRE(installed("fish"));
    auto out = write_env_script(hostile_request(Shell::Fish, k_hostile));
    REQUIRE(out);
    check_literal(evaluate({"fish", "--no-config", "-c", "source out; and env -0 > dump"}, *out), k_hostile);
    auto hint = write_env_script(hostile_request(Shell::Fish, k_hostile_line));
    REQUIRE(hint);
    check_literal(evaluate({"fish", "--no-config", "-c", "eval (cat out); and env -0 > dump"}, *hint), k_hostile_line);
}

TEST_CASE("env quoting for tcsh: eval `...` runs nothing - a newline is refused", "[env][security]") {
    REQUIRE(installed("tcsh"));
    auto out = write_env_script(hostile_request(Shell::Tcsh, k_hostile_line));
    REQUIRE(out);
    check_literal(evaluate({"tcsh", "-f", "-c", "eval `cat out` && env -0 > dump"}, *out), k_hostile_line);
    auto refused = write_env_script(hostile_request(Shell::Tcsh, k_hostile));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == ErrorKind::Usage);
    CHECK(refused.error().message.find("DOCKER_CERT_PATH") != std::string::npos);
    CHECK(refused.error().message.find("a newline") != std::string::npos);
}

TEST_CASE("env quoting for PowerShell: single quotes doubled - a newline is refused", "[env][security]") {
    auto out = write_env_script(hostile_request(Shell::PowerShell, k_hostile_line));
    REQUIRE(out);
    auto lines = lines_of(*out);
    REQUIRE(lines.size() == 7);
    CHECK(powershell_value(lines[0]) == "1");
    CHECK(powershell_value(lines[2]) == k_hostile_line);
    CHECK(powershell_value(lines[4]) == "localhost," + k_hostile_line);
    CHECK(lines[5].starts_with("# "));
    CHECK(lines[6].starts_with("# "));
    CHECK_FALSE(write_env_script(hostile_request(Shell::PowerShell, k_hostile)));
    CHECK_FALSE(quote_powershell("a\rb"));
}

TEST_CASE("env quoting for cmd: what cmd would interpret is refused - the rest is kept", "[env][security]") {
    const std::string kept = "/s/$(touch x1)/`touch x2`/'s'/b\\s/;touch x3;/*/<x>/(y)";
    auto out = write_env_script(hostile_request(Shell::Cmd, kept));
    REQUIRE(out);
    auto lines = lines_of(*out);
    REQUIRE(lines.size() == 7);
    CHECK(lines[2] == "SET DOCKER_CERT_PATH=" + kept);
    CHECK(lines[4] == "SET NO_PROXY=localhost," + kept);
    CHECK(lines[5].starts_with("REM "));
    CHECK(lines[6].starts_with("REM "));
    for (const std::string bad : {"a\nb", "a\rb", "a\"b", "%PATH%", "a!b!", "a^b", "a&calc", "a|b"}) {
        CAPTURE(bad);
        auto refused = write_env_script(hostile_request(Shell::Cmd, bad));
        REQUIRE_FALSE(refused);
        CHECK(refused.error().message.find("cmd cannot carry") != std::string::npos);
    }
}

TEST_CASE("env quoting for Emacs: a Lisp string literal", "[env][security]") {
    auto out = write_env_script(hostile_request(Shell::Emacs, k_hostile));
    REQUIRE(out);
    // The newline stays inside the string literal: the line after it is part of the value.
    auto pos = out->find("(setenv \"DOCKER_CERT_PATH\" ");
    REQUIRE(pos != std::string::npos);
    const std::string rest = out->substr(pos);
    const std::string joined = rest.substr(0, rest.find(")\n", rest.find("l2")) + 1);
    CHECK(emacs_value(joined) == k_hostile);
    CHECK(quote_emacs("a\"b\\c") == "\"a\\\"b\\\\c\"");
}

TEST_CASE("the usage hint quotes a hostile argument and hides a control character", "[env][security]") {
    auto out = write_env_script(hostile_request(Shell::Bash, "/s"));
    REQUIRE(out);
    CHECK(out->ends_with("# eval $(true -s '/t/$(touch x4)/`touch x5`;touch x6' -s ... env n1)\n"));
    auto tcsh = write_env_script(hostile_request(Shell::Tcsh, "/s"));
    REQUIRE(tcsh);
    CHECK(tcsh->ends_with(": eval `true -s '/t/$(touch x4)/`touch x5`;touch x6' -s ... env n1`\n"));
}
