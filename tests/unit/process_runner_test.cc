#include <berth/process/runner.h>

#include <catch2/catch.hpp>

using namespace berth;
using namespace std::chrono_literals;

namespace {

Command command(std::vector<std::string> argv, std::chrono::milliseconds timeout = 60s) {
    Command c;
    c.argv = std::move(argv);
    c.timeout = timeout;
    return c;
}

}  // namespace

TEST_CASE("runner captures output and exit status of an argv", "[runner]") {
    ProcessRunner runner;
    auto r = runner.run(command({"sh", "-c", "echo out; echo err >&2; exit 7"}));
    REQUIRE(r);
    CHECK(r->exit_status == 7);
    CHECK(r->out == "out\n");
    CHECK(r->err == "err\n");
    CHECK_FALSE(r->timed_out);
}

TEST_CASE("runner passes arguments verbatim - without a shell", "[runner]") {
    ProcessRunner runner;
    auto r = runner.run(command({"printf", "%s|", "a b", "$HOME", "'q'"}));
    REQUIRE(r);
    CHECK(r->out == "a b|$HOME|'q'|");
}

TEST_CASE("runner feeds stdin and sets the environment", "[runner]") {
    ProcessRunner runner;
    Command c = command({"sh", "-c", "cat; echo \"$FOO-${HOME:-nohome}\""});
    c.stdin_data = std::string(200000, 'x');
    c.env_set = {{"FOO", "bar"}};
    c.env_unset = {"HOME"};
    auto r = runner.run(c);
    REQUIRE(r);
    CHECK(r->out.size() == 200000 + std::string("bar-nohome\n").size());
    CHECK(r->out.ends_with("bar-nohome\n"));
}

TEST_CASE("runner drains large outputs on both streams without deadlock", "[runner]") {
    ProcessRunner runner;
    auto r = runner.run(command({"sh", "-c", "head -c 3000000 /dev/zero; head -c 2000000 /dev/zero >&2"}));
    REQUIRE(r);
    CHECK(r->out.size() == 3000000);
    CHECK(r->err.size() == 2000000);
}

TEST_CASE("runner kills a command that outlives its timeout - with its children", "[runner]") {
    ProcessRunner runner;
    auto r = runner.run(command({"sh", "-c", "sleep 30 & sleep 30"}, 300ms));
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("did not finish within") != std::string::npos);
}

TEST_CASE("a missing program is named as the problem", "[runner]") {
    ProcessRunner runner;
    auto r = runner.run(command({"no-such-program-berth"}));
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("cannot run `no-such-program-berth`") != std::string::npos);
    CHECK(r.error().hint.find("PATH") != std::string::npos);
}

TEST_CASE("format_argv quotes what a shell would split", "[runner]") {
    CHECK(format_argv({"VBoxManage", "showvminfo", "vm 1", "--machinereadable"}) ==
          "VBoxManage showvminfo 'vm 1' --machinereadable");
    CHECK(format_argv({"echo", "it's"}) == "echo 'it'\\''s'");
}
