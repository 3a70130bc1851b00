// berth(1)'s generator: roff_escape on each of roff's special characters, and a page generated from
// a CLI with hostile help text, rendered by the real groff: the text comes out exactly as written,
// no line of it is read as a request, and groff warns about nothing.

#include "../../src/cli/man_page.h"
#include "../../src/cli/roff.h"

#include <berth/process/runner.h>

#include "temp_dir.h"

#include <catch2/catch.hpp>

using namespace berth;
using namespace berth::cli;

TEST_CASE("roff_escape writes each character roff would read as markup as an escape", "[man]") {
    CHECK(roff_escape("") == "");
    CHECK(roff_escape("plain words") == "plain words");
    CHECK(roff_escape("--storage-path") == "\\-\\-storage\\-path");
    CHECK(roff_escape("C:\\dir\\fB") == "C:\\edir\\efB");
    CHECK(roff_escape("it's") == "it\\(aqs");
    CHECK(roff_escape("'TH at the start") == "\\(aqTH at the start");
    CHECK(roff_escape("say \"hi\"") == "say \\(dqhi\\(dq");
    CHECK(roff_escape("`berth ls`") == "\\(gaberth ls\\(ga");
    CHECK(roff_escape(".SH NAME") == "\\&.SH NAME");
    CHECK(roff_escape("a.b") == "a.b");
    CHECK(roff_escape(" indented") == "\\& indented");
    CHECK(roff_escape("one\n.SH two") == "one .SH two");
    CHECK(roff_escape("\n.SH two") == "\\& .SH two");
    CHECK(roff_escape("tab\there") == "tab here");
    CHECK(roff_escape("\x1b[31mred") == "\\ex1B[31mred");
    CHECK(roff_escape(std::string_view("nul\0", 4)) == "nul\\ex00");
    CHECK(roff_escape("caf\xc3\xa9") == "caf\xc3\xa9");
}

namespace {

// Each is help text a verb or option could carry: roff requests at a line start (after a
// newline), font escapes, quotes of each kind, a backslash, a comment, a control character.
const std::vector<std::string> k_hostile = {
    "Quote's \"double\" and `back`",
    "Ends here\n.SH INJECTED",
    "\\fBnot bold\\fR and \\\" not a comment",
    "\n'br at a line start",
    "--a-flag -x and C:\\path",
    "caf\xc3\xa9 \x1b[31m",
};

struct HostileCli {
    CLI::App app{k_hostile[0], "berth"};
    std::string a, b;
    HostileCli() {
        auto* verb = app.add_subcommand("go", k_hostile[1]);
        verb->add_option("--pick", a, k_hostile[2])->envname("BERTH_PICK");
        auto* nested = verb->add_subcommand("deep", k_hostile[3]);
        nested->add_option("name", b, k_hostile[4])->required();
        app.add_subcommand("other", k_hostile[5]);
        app.add_subcommand("secret", "A hidden verb")->group("");
    }
};

/// What a reader sees: the page through groff (UTF-8 input, as man-db gives it), no fill
/// adjustment, no hyphenation, lines long enough for every text, no overstriking.
std::string render(const std::string& page, std::string& warnings) {
    test::TempDir dir;
    test::write_text(dir / "berth.1", page);
    Command c;
    c.argv = {"groff", "-Kutf8", "-man", "-Tutf8", "-ww", "-rLL=400n", "-rHY=0", "-dAD=l", "-P-cbou",
              (dir / "berth.1").string()};
    c.timeout = std::chrono::seconds(30);
    ProcessRunner runner;
    auto r = runner.run(c);
    REQUIRE(r);
    CAPTURE(r->err);
    REQUIRE(r->exit_status == 0);
    warnings = r->err;
    return r->out;
}

/// The text as the rendered page shows it: newlines and tabs filled as spaces, control characters
/// as \xNN.
std::string as_shown(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '\n' || c == '\t') out += ' ';
        else if (c == '\x1b') out += "\\x1B";
        else out += c;
    }
    return out.starts_with(' ') ? out.substr(1) : out;
}

}  // namespace

TEST_CASE("man page: hostile help text is printed literally by groff, never read as markup", "[man][security]") {
    HostileCli cli;
    const std::string page = man_page(cli.app, {"1.2.3", "2026-12-07"});
    std::string warnings;
    const std::string shown = render(page, warnings);
    CHECK(warnings.empty());
    for (const auto& text : k_hostile) {
        CAPTURE(text, shown);
        CHECK(shown.find(as_shown(text)) != std::string::npos);
    }
    CHECK(shown.find("BERTH_PICK") != std::string::npos);
    // Only berth's own sections: the injected .SH stayed text.
    CHECK(page.find("\n.SH INJECTED") == std::string::npos);
    CHECK(page.find("\n'br") == std::string::npos);
}

TEST_CASE("man page: a subsection for every verb and nested verb, none for a hidden one", "[man]") {
    HostileCli cli;
    const std::string page = man_page(cli.app, {"1.2.3", ""});
    CHECK(page.find(".TH BERTH 1 \"\" \"berth 1.2.3\"") != std::string::npos);
    for (const char* verb : {"berth go", "berth go deep", "berth other"}) {
        CAPTURE(verb);
        CHECK(page.find(".SS \"" + std::string(verb) + "\"\n") != std::string::npos);
    }
    CHECK(page.find("secret") == std::string::npos);
    for (const char* section : {"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "ENVIRONMENT",
                                "EXIT STATUS", "FILES", "SEE ALSO"}) {
        CAPTURE(section);
        CHECK(page.find(".SH " + std::string(section) + "\n") != std::string::npos);
    }
}

TEST_CASE("man page: the date is written as it is when it is YYYY-MM-DD, escaped otherwise", "[man][security]") {
    HostileCli cli;
    CHECK(man_page(cli.app, {"1.2.3", "2026-12-07"}).find(".TH BERTH 1 \"2026-12-07\" \"berth 1.2.3\"") !=
          std::string::npos);
    CHECK(man_page(cli.app, {"1.2.3", "x\" \"y"}).find(".TH BERTH 1 \"x\\(dq \\(dqy\" ") != std::string::npos);
    CHECK(man_page(cli.app, {"1.2.3", "2026-12-7a"}).find(".TH BERTH 1 \"2026\\-12\\-7a\" ") != std::string::npos);
}
