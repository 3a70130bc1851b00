// berth completion's scripts with hostile words: each installed shell loads a script generated
// from a CLI with such words and offers them with their exact bytes, running nothing.

#include "../../src/cli/completion_hint.h"
#include "../../src/cli/completion_script.h"

#include <berth/process/runner.h>

#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

using namespace berth;
using namespace berth::cli;

namespace {

// Command substitution both ways, quotes, a backslash, a ';' command, a history '!', a glob,
// fish's (...) and a '|' (a case pattern's alternative).
const std::vector<std::string> k_hostile = {"a$(touch x1)", "b`touch x2`", "c'd\"e\\f", "g;touch x3", "!h*",
                                            "(touch x4)", "i|j", "k l"};

std::string script_for(const std::string& shell) {
    CLI::App app{"test", "berth"};
    std::string pick;
    auto* sub = app.add_subcommand("g'o", "A verb with a quote");
    sub->add_option("--pick", pick, "It's a \"hostile\" $(help)")->check(completes_words(k_hostile));
    auto model = completion_model(app);
    if (shell == "bash") return bash_completion(model);
    if (shell == "zsh") return zsh_completion(model);
    return fish_completion(model);
}

/// Runs `argv` in a fresh directory holding the script as "script"; the candidates it printed,
/// one per line, after checking that nothing of the words ran.
std::vector<std::string> candidates(const std::string& shell, const std::vector<std::string>& argv) {
    test::TempDir dir;
    test::write_text(dir / "script", script_for(shell));
    Command c;
    c.argv = argv;
    c.cwd = dir.path().string();
    c.timeout = std::chrono::seconds(30);
    ProcessRunner runner;
    auto r = runner.run(c);
    REQUIRE(r);
    CAPTURE(r->out, r->err);
    CHECK(r->exit_status == 0);
    CHECK(r->err.empty());
    for (const char* marker : {"x1", "x2", "x3", "x4"}) {
        CAPTURE(marker);
        CHECK_FALSE(std::filesystem::exists(dir / marker));
    }
    std::vector<std::string> lines;
    std::string line;
    for (char ch : r->out) {
        if (ch != '\n') line += ch;
        else lines.push_back(std::exchange(line, {}));
    }
    return lines;
}

const std::string k_print = "; __berth_candidates '' \"g'o\" --pick; printf '%s\\n' \"${__berth_reply[@]}\"";

}  // namespace

TEST_CASE("completion scripts carry hostile words literally in bash", "[completion][security]") {
    auto got = candidates("bash", {"bash", "--norc", "--noprofile", "-c", "source ./script" + k_print});
    CHECK(got == k_hostile);
}

TEST_CASE("completion scripts carry hostile words literally in zsh", "[completion][security]") {
    auto got = candidates("zsh", {"zsh", "-f", "-c", "autoload -U compinit; compinit -u -D; source ./script" + k_print});
    CHECK(got == k_hostile);
}

TEST_CASE("completion scripts carry hostile words literally in fish", "[completion][security]") {
    auto got = candidates("fish", {"fish", "--no-config", "-c", "source ./script; complete -C \"berth g\\'o --pick \""});
    for (auto& line : got) line = line.substr(0, line.find('\t'));
    auto want = k_hostile;  // fish sorts the candidates
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    CHECK(got == want);
}
