#include <berth/process/runner.h>

#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

using namespace berth;
using namespace std::chrono_literals;

namespace {

Command command(std::vector<std::string> argv, std::chrono::milliseconds timeout = 60s) {
    Command c;
    c.argv = std::move(argv);
    c.timeout = timeout;
    return c;
}

Command interactive(std::vector<std::string> argv, std::chrono::milliseconds timeout = 60s) {
    Command c = command(std::move(argv), timeout);
    c.interactive = true;
    return c;
}

/// Points this process's stdout (fd 1) at a file while it lives, as a terminal would be for
/// `berth scp`: an interactive child writes there.
class StdoutToFile {
public:
    explicit StdoutToFile(const std::filesystem::path& file) {
        std::fflush(stdout);
        m_saved = ::dup(1);
        const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ::dup2(fd, 1);
        ::close(fd);
    }
    ~StdoutToFile() {
        std::fflush(stdout);
        ::dup2(m_saved, 1);
        ::close(m_saved);
    }
    StdoutToFile(const StdoutToFile&) = delete;
    StdoutToFile& operator=(const StdoutToFile&) = delete;

private:
    int m_saved = -1;
};

std::string slurp(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
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

TEST_CASE("an interactive command writes to berth's own stdout and keeps its exit status", "[runner]") {
    test::TempDir dir;
    ProcessRunner runner;
    Result<CommandResult> r;
    {
        StdoutToFile redirect(dir / "stdout");
        r = runner.run(interactive({"sh", "-c", "echo hi; exit 3"}));
    }
    REQUIRE(r);
    CHECK(r->exit_status == 3);
    CHECK(r->out.empty());
    CHECK(r->err.empty());
    CHECK(slurp(dir / "stdout") == "hi\n");
}

TEST_CASE("an interactive command killed by a signal exits 128+signal", "[runner]") {
    ProcessRunner runner;
    auto r = runner.run(interactive({"sh", "-c", "kill -TERM $$"}));
    REQUIRE(r);
    CHECK(r->exit_status == 128 + 15);
}

TEST_CASE("an interactive command cannot also be given stdin data", "[runner]") {
    ProcessRunner runner;
    Command c = interactive({"cat"});
    c.stdin_data = "x";
    auto r = runner.run(c);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("interactive `cat` cannot also be given stdin data") != std::string::npos);
}

TEST_CASE("a timeout of zero lets a command run as long as it takes", "[runner]") {
    ProcessRunner runner;
    auto piped = runner.run(command({"sh", "-c", "sleep 0.2; echo done"}, 0ms));
    REQUIRE(piped);
    CHECK(piped->out == "done\n");
    CHECK_FALSE(piped->timed_out);
    auto copied = runner.run(interactive({"sh", "-c", "sleep 0.2; exit 4"}, 0ms));
    REQUIRE(copied);
    CHECK(copied->exit_status == 4);
}

TEST_CASE("an interactive command that outlives its timeout is killed", "[runner]") {
    ProcessRunner runner;
    const auto start = std::chrono::steady_clock::now();
    auto r = runner.run(interactive({"sleep", "30"}, 300ms));
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("`sleep 30` did not finish within") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - start < 10s);
}
