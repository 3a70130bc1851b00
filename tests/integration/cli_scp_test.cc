// `berth scp -d` through the real binary against a real sshd on loopback: rsync over the machine's
// own ssh (its key, its pinned host key), only what changed sent again, hostile paths taken as
// names, and a clear error without rsync.

#include <berth/store/atomic_file.h>

#include "berth_cli.h"
#include "generic_machine.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

using namespace berth;

namespace {

struct stat stat_of(const std::filesystem::path& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st;
}

}  // namespace

TEST_CASE("scp -d copies a directory with rsync - a second run sends only what changed", "[cli][ssh][output]") {
    test::SshdFixture sshd;
    // A store path rsync's -e must carry as one word: spaces, both quotes.
    test::BerthCli b("store 'q\" dir");
    test::make_generic_machine(b.store(), sshd, "g1");
    const auto src = b.dir / "src";
    test::write_text(src / "a file.txt", "with a space\n");
    test::write_text(src / "keep.txt", "unchanged\n");
    test::write_text(src / "sub" / "deep.txt", "deep\n");
    const auto remote = b.dir / "remote dir";  // a remote path with a space
    std::filesystem::create_directories(remote);

    auto first = b.run({"scp", "-d", "-r", src.string(), "g1:" + remote.string()});
    INFO(first.err);
    REQUIRE(first.exit_status == 0);
    CHECK(read_file(remote / "src" / "a file.txt").value() == "with a space\n");
    CHECK(read_file(remote / "src" / "sub" / "deep.txt").value() == "deep\n");
    const struct stat keep = stat_of(remote / "src" / "keep.txt");
    const struct stat spaced = stat_of(remote / "src" / "a file.txt");
    CHECK(keep.st_mtime == stat_of(src / "keep.txt").st_mtime);  // -t: times kept, so the next run can skip it

    test::write_text(src / "a file.txt", "changed, with a space\n");
    auto second = b.run({"scp", "--delta", "-r", src.string(), "g1:" + remote.string()});
    INFO(second.err);
    REQUIRE(second.exit_status == 0);
    CHECK(read_file(remote / "src" / "a file.txt").value() == "changed, with a space\n");
    CHECK(stat_of(remote / "src" / "a file.txt").st_ino != spaced.st_ino);  // rewritten
    CHECK(stat_of(remote / "src" / "keep.txt").st_ino == keep.st_ino);      // not sent again

    // Down from the machine, into a local path with a space.
    auto down = b.run({"scp", "-d", "g1:" + (remote / "src" / "a file.txt").string(), (b.dir / "back here.txt").string()});
    INFO(down.err);
    CHECK(down.exit_status == 0);
    CHECK(read_file(b.dir / "back here.txt").value() == "changed, with a space\n");
    // The private ssh_config is gone after the copy.
    for (const auto& e : std::filesystem::directory_iterator(b.store()))
        CHECK(e.path().filename().string().find("scp-config") == std::string::npos);
}

TEST_CASE("scp -d: a hostile remote path is a name, not a command - rsync missing names its package",
          "[cli][ssh][output]") {
    test::SshdFixture sshd;
    test::BerthCli b;
    test::make_generic_machine(b.store(), sshd, "g1");
    test::write_text(b.dir / "payload.txt", "payload\n");
    const auto remote = b.dir / "remote";
    std::filesystem::create_directories(remote);
    // Each name would run `touch MARKER` in the remote shell's directory (root's home) if a shell
    // split it; a file name cannot hold a slash, so the marker is a name there.
    const std::string marker = "berth-scp-d-pwned-" + std::to_string(::getpid());
    const char* home = std::getenv("HOME");
    const std::vector<std::filesystem::path> marker_paths = {std::filesystem::path(home ? home : "/root") / marker,
                                                             "/root/" + marker, std::filesystem::current_path() / marker};
    for (const std::string& name : {"x; touch " + marker, "$(touch " + marker + ")", "`touch " + marker + "`",
                                   "it's \"quoted\" & | " + marker, "-e touch " + marker}) {
        CAPTURE(name);
        auto r = b.run({"scp", "-d", (b.dir / "payload.txt").string(), "g1:" + (remote / name).string()});
        INFO(r.err);
        CHECK(r.exit_status == 0);
        CHECK(read_file(remote / name).value_or("") == "payload\n");
        for (const auto& p : marker_paths) CHECK_FALSE(std::filesystem::exists(p));
    }
    // A local source that looks like an option (after berth's own "--") is a path to rsync too.
    test::write_text(b.dir / "-e touch x", "dash\n");
    b.cwd = b.dir.path();
    auto dash = b.run({"scp", "-d", "--", "-e touch x", "g1:" + (remote / "dash.txt").string()});
    INFO(dash.err);
    CHECK(dash.exit_status == 0);
    CHECK(read_file(remote / "dash.txt").value_or("") == "dash\n");
    b.cwd.reset();

    // rsync copies between this host and one machine; "::" would be an rsync daemon's module.
    auto two = b.run({"scp", "-d", "g1:/etc/hostname", "g1:" + (remote / "h").string()});
    CHECK(two.exit_status == 2);
    CHECK(two.err.find("not between two machines") != std::string::npos);
    auto daemon = b.run({"scp", "-d", (b.dir / "payload.txt").string(), "g1::module"});
    CHECK(daemon.exit_status == 2);

    // Without rsync on PATH: an error that names the package; ssh alone is there.
    const auto bin = b.dir / "bin";
    std::filesystem::create_directories(bin);
    std::filesystem::create_symlink("/usr/bin/ssh", bin / "ssh");
    b.env["PATH"] = std::filesystem::path(BERTH_BINARY).parent_path().string() + ":" + bin.string();
    auto missing = b.run({"scp", "-d", (b.dir / "payload.txt").string(), "g1:" + (remote / "m").string()});
    CHECK(missing.exit_status == 1);
    CHECK(missing.err.find("rsync") != std::string::npos);
    CHECK(missing.err.find("apt-get install rsync") != std::string::npos);
}
