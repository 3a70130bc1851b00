// Progress events (core/progress.h) and berth apply's three renderers (src/cli/progress_render.h),
// driven by scripted event sequences and rendered to strings.

#include <berth/core/progress.h>
#include <berth/provision/apt_status.h>

#include "../../src/cli/progress_render.h"

#include <catch2/catch.hpp>

#include <sstream>
#include <thread>

using namespace berth;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::system_clock;
const Clock::time_point t0 = Clock::from_time_t(1'700'000'000);  // 2023-11-14T22:13:20Z

ProgressEvent ev(ProgressEvent::Kind kind, std::string machine, std::string step, std::chrono::milliseconds after,
                 std::uint64_t done = 0, std::uint64_t total = 0, std::string message = "") {
    ProgressEvent e;
    e.kind = kind;
    e.machine = std::move(machine);
    e.step = std::move(step);
    e.at = t0 + after;
    e.done = done;
    e.total = total;
    e.message = std::move(message);
    return e;
}

using K = ProgressEvent::Kind;

}  // namespace

TEST_CASE("progress calls go to this thread's innermost scope, nowhere without one", "[progress]") {
    progress_step("nobody listens");  // no scope: nothing happens
    std::vector<ProgressEvent> got;
    {
        ProgressScope outer("n1", [&](const ProgressEvent& e) { got.push_back(e); });
        progress_step("machine");
        {
            ProgressScope inner("n2", [&](const ProgressEvent& e) { got.push_back(e); });
            progress_fraction("upload", 5, 10);
            std::thread other([] { progress_step("another thread"); });  // its own (no) scope
            other.join();
            {
                ProgressScope quiet("n3", {});  // an empty sink silences
                progress_message("hidden");
            }
            progress_message("warning");
        }
        progress_step("ssh");  // the outer scope again
    }
    progress_step("after");
    REQUIRE(got.size() == 4);
    CHECK(got[0].machine == "n1");
    CHECK(got[0].kind == K::Step);
    CHECK(got[0].step == "machine");
    CHECK(got[0].at != Clock::time_point{});
    CHECK(got[1].machine == "n2");
    CHECK(got[1].kind == K::Fraction);
    CHECK((got[1].done == 5 && got[1].total == 10));
    CHECK((got[2].machine == "n2" && got[2].kind == K::Message && got[2].message == "warning"));
    CHECK((got[3].machine == "n1" && got[3].step == "ssh"));
}

TEST_CASE("plain progress: timestamped lines per machine, a fraction every 10%", "[progress][apply]") {
    std::ostringstream out;
    auto r = cli::make_plain_renderer(out, true);
    r->event(ev(K::Step, "n1", "machine", 0ms));
    r->event(ev(K::Step, "n2", "machine", 100ms));
    r->event(ev(K::Step, "n1", "upload", 1000ms));
    for (std::uint64_t d = 0; d <= 100; d += 5) r->event(ev(K::Fraction, "n1", "upload", 1000ms, d, 100));
    r->event(ev(K::Fraction, "n1", "upload", 1000ms, 100, 100));  // again: not repeated
    r->event(ev(K::Message, "n2", "", 1500ms, 0, 0, "a warning"));
    r->event(ev(K::Done, "n1", "", 3500ms, 0, 0, "created"));
    r->event(ev(K::Failed, "n2", "", 4000ms, 0, 0, "creating n2 failed: no space"));
    std::string want = "22:13:20 [n1] machine\n22:13:20 [n2] machine\n22:13:21 [n1] upload\n";
    for (int p = 10; p <= 100; p += 10) want += "22:13:21 [n1] upload " + std::to_string(p) + "%\n";
    want += "22:13:21 [n2] a warning\n22:13:23 [n1] done: created (3.5s)\n22:13:24 [n2] FAILED: creating n2 failed: no space\n";
    CHECK(out.str() == want);
}

TEST_CASE("plain progress: the install's download then its dpkg run - each step counts its own tenths",
          "[progress][apply][apt]") {
    std::ostringstream out;
    auto r = cli::make_plain_renderer(out, true);
    r->event(ev(K::Step, "n1", "packages", 0ms));
    for (std::uint64_t d : {0, 500, 1000}) r->event(ev(K::Fraction, "n1", "packages (download)", 0ms, d, 1000));
    for (std::uint64_t d : {0, 250, 990, 1000}) r->event(ev(K::Fraction, "n1", "packages", 0ms, d, 1000));
    CHECK(out.str() ==
          "22:13:20 [n1] packages\n22:13:20 [n1] packages (download) 50%\n22:13:20 [n1] packages (download) 100%\n"
          "22:13:20 [n1] packages 25%\n22:13:20 [n1] packages 99%\n22:13:20 [n1] packages 100%\n");
}

TEST_CASE("terminal progress: one line per machine redrawn in place, a bar when a fraction is known",
          "[progress][apply]") {
    std::ostringstream out;
    auto r = cli::make_tty_renderer(out);
    r->event(ev(K::Step, "n1", "machine", 0ms));
    CHECK(out.str() == "\r\x1b[2Kn1            machine               0:00\n\x1b[J");
    out.str("");
    r->event(ev(K::Step, "n2", "machine", 0ms));
    // Up one line (what was drawn), then both machines' lines.
    CHECK(out.str() == "\x1b[1A\r\x1b[2Kn1            machine               0:00\n"
                       "\r\x1b[2Kn2            machine               0:00\n\x1b[J");
    out.str("");
    r->event(ev(K::Fraction, "n1", "upload", 12s, 50, 100));
    CHECK(out.str() == "\x1b[2A\r\x1b[2Kn1            upload                0:12  [##########----------] 50%\n"
                       "\r\x1b[2Kn2            machine               0:12\n\x1b[J");
    out.str("");
    r->tick(t0 + 75s);
    CHECK(out.str().find("n2            machine               1:15\n") != std::string::npos);
    out.str("");
    // A finished machine's line scrolls up and stays; only n2 is redrawn below it.
    r->event(ev(K::Done, "n1", "", 80s, 0, 0, "created"));
    CHECK(out.str() == "\x1b[2A\r\x1b[2Kn1            created  1:20\n"
                       "\r\x1b[2Kn2            machine               1:20\n\x1b[J");
    out.str("");
    r->event(ev(K::Failed, "n2", "", 90s, 0, 0, "creating n2 failed"));
    CHECK(out.str() == "\x1b[1A\r\x1b[2Kn2            FAILED: creating n2 failed  1:30\n\x1b[J");
    out.str("");
    r->tick(t0 + 100s);  // nothing at work: nothing drawn
    CHECK(out.str().empty());
}

TEST_CASE("JSON progress: one object per line with the documented fields", "[progress][apply]") {
    std::ostringstream out;
    auto r = cli::make_json_renderer(out);
    r->event(ev(K::Step, "n1", "packages", 250ms));
    r->event(ev(K::Fraction, "n1", "upload", 1000ms, 3, 4));
    r->event(ev(K::Done, "n1", "", 2000ms, 0, 0, "created"));
    r->event(ev(K::Failed, "n2", "", 2000ms, 0, 0, "it broke"));
    CHECK(out.str() ==
          R"({"event":"step","machine":"n1","step":"packages","time":"2023-11-14T22:13:20.250Z"})" "\n"
          R"({"done":3,"event":"fraction","machine":"n1","step":"upload","time":"2023-11-14T22:13:21.000Z","total":4})" "\n"
          R"({"event":"done","machine":"n1","message":"created","time":"2023-11-14T22:13:22.000Z"})" "\n"
          R"({"event":"failed","machine":"n2","message":"it broke","time":"2023-11-14T22:13:22.000Z"})" "\n");
}

TEST_CASE("the locked sink feeds one renderer from many threads, lines whole", "[progress][apply]") {
    std::ostringstream out;
    auto r = cli::make_json_renderer(out);
    std::mutex mutex;
    auto sink = cli::make_locked_sink(*r, mutex);
    std::vector<std::jthread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            ProgressScope scope("m" + std::to_string(t), sink);
            for (int i = 0; i < 100; ++i) progress_fraction("upload", static_cast<std::uint64_t>(i), 100);
        });
    threads.clear();
    std::istringstream in(out.str());
    int lines = 0;
    for (std::string l; std::getline(in, l); ++lines) CHECK_FALSE(nlohmann::json::parse(l, nullptr, false).is_discarded());
    CHECK(lines == 800);
}

TEST_CASE("apt's status lines become the packages step's fraction - cut anywhere - noise ignored", "[progress][apt]") {
    std::vector<ProgressEvent> got;
    ProgressScope scope("n1", [&](const ProgressEvent& e) { got.push_back(e); });
    AptStatusReader apt;
    const std::string stream =
        "dlstatus:1:0:Retrieving file 1 of 3\n"
        "dlstatus:1:0.2:Retrieving file 1 of 3\n"   // the same whole percent: no event
        "dlstatus:2:66.6667:Retrieving file 2 of 3\n"
        "Reading package lists...\n"               // not a status line
        "pmstatus:docker.io:12.5:Unpacking docker.io (20.10.24+dfsg1-1+deb12u1)\r\n"
        "pmstatus:docker.io:abc:bad\n"              // malformed: ignored
        "pmstatus:x:250:too much\n"                 // out of range: ignored
        "pmerror:auditd:40:something\n"             // not reported as progress
        "pmstatus:nftables:100:Installed nftables\n";
    // Cut into pieces of 7 bytes, as SSH may deliver it.
    for (std::size_t i = 0; i < stream.size(); i += 7) apt.feed(std::string_view(stream).substr(i, 7));
    REQUIRE(got.size() == 4);
    for (const auto& e : got) {
        CHECK(e.kind == ProgressEvent::Kind::Fraction);
        CHECK(e.machine == "n1");
        CHECK(e.total == 1000);
    }
    CHECK(got[0].step == "packages (download)");
    CHECK(got[0].done == 0);
    CHECK(got[1].done == 666);
    CHECK(got[2].step == "packages");
    CHECK(got[2].done == 125);
    CHECK(got[3].done == 1000);
    // A line never ended does not grow without bound.
    apt.feed(std::string(10000, 'x'));
    apt.feed("\npmstatus:a:50:half\n");
    REQUIRE(got.size() == 5);
    CHECK(got[4].done == 500);
}
