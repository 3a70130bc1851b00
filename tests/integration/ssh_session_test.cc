// LibsshSession against a real OpenSSH server on loopback.

#include <berth/transport/libssh_session.h>
#include <berth/transport/known_hosts.h>
#include <berth/transport/ssh_key.h>

#include "sshd_fixture.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

using namespace berth;
using namespace std::chrono_literals;
using berth::test::SshdFixture;
using berth::test::TempDir;
using berth::test::file_mode;

namespace {

SshTarget target_for(const SshdFixture& sshd, const TempDir& dir) {
    SshTarget t;
    t.host = "127.0.0.1";
    t.port = sshd.port();
    t.user = "root";
    t.key = sshd.client_key();
    t.known_hosts = dir / "known_hosts";
    t.machine = "t1";
    return t;
}

SshOptions options(HostKeyPolicy policy, std::chrono::seconds connect = 20s) {
    SshOptions o;
    o.host_key = policy;
    o.connect_timeout = connect;
    o.command_timeout = 60s;
    return o;
}

std::unique_ptr<LibsshSession> connect_ok(const SshTarget& t, HostKeyPolicy policy) {
    auto s = LibsshSession::connect(t, options(policy));
    INFO((s ? std::string() : s.error().line()));
    REQUIRE(s);
    return std::move(*s);
}

}  // namespace

TEST_CASE("the host key is pinned on first contact and checked after", "[ssh]") {
    SshdFixture sshd;
    TempDir dir;
    auto t = target_for(sshd, dir);

    auto unpinned = LibsshSession::connect(t, options(HostKeyPolicy::RequirePinned));
    REQUIRE_FALSE(unpinned);
    CHECK(unpinned.error().message.find("no SSH host key is pinned") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(t.known_hosts));

    auto first = connect_ok(t, HostKeyPolicy::PinOnFirstUse);
    CHECK(first->host_key_fingerprint() == sshd.host_key_fingerprint());
    REQUIRE(std::filesystem::exists(t.known_hosts));
    CHECK(file_mode(t.known_hosts) == 0600);
    std::ifstream in(t.known_hosts);
    std::string line;
    std::getline(in, line);
    CHECK(line.starts_with("berth-t1 ssh-ed25519 "));  // pinned by machine, not by address

    auto again = connect_ok(t, HostKeyPolicy::RequirePinned);
    CHECK(again->run("true").value().exit_status == 0);
}

TEST_CASE("a swapped host key is refused with both fingerprints and accepted only on request", "[ssh]") {
    SshdFixture sshd;
    TempDir dir;
    auto t = target_for(sshd, dir);
    const std::string old_fp = sshd.host_key_fingerprint();
    connect_ok(t, HostKeyPolicy::PinOnFirstUse);

    sshd.restart_with_new_host_key();
    const std::string new_fp = sshd.host_key_fingerprint();
    REQUIRE(old_fp != new_fp);
    for (auto policy : {HostKeyPolicy::RequirePinned, HostKeyPolicy::PinOnFirstUse}) {
        auto refused = LibsshSession::connect(t, options(policy));
        REQUIRE_FALSE(refused);
        CHECK(refused.error().message.find("has CHANGED") != std::string::npos);
        CHECK(refused.error().message.find(old_fp) != std::string::npos);
        CHECK(refused.error().message.find(new_fp) != std::string::npos);
        CHECK(refused.error().hint.find("--replace-host-key") != std::string::npos);
    }

    // --replace-host-key takes the expected fingerprint: none, or another one, is refused.
    for (const std::string& wrong : {std::string(), old_fp}) {
        auto o = options(HostKeyPolicy::ReplacePinned);
        o.expected_fingerprint = wrong;
        auto refused = LibsshSession::connect(t, o);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().message.find(new_fp) != std::string::npos);
        CHECK(refused.error().message.find("as --replace-host-key expects") != std::string::npos);
    }
    auto o = options(HostKeyPolicy::ReplacePinned);
    o.expected_fingerprint = new_fp;
    auto replaced = LibsshSession::connect(t, o);
    REQUIRE(replaced);
    CHECK((*replaced)->host_key_fingerprint() == new_fp);
    auto after = connect_ok(t, HostKeyPolicy::RequirePinned);
    CHECK(after->host_key_fingerprint() == new_fp);
    std::ifstream in(t.known_hosts);
    int lines = 0;
    for (std::string l; std::getline(in, l);) lines += l.empty() ? 0 : 1;
    CHECK(lines == 1);
}

TEST_CASE("the same host key at another address or port passes: keys are pinned by machine", "[ssh]") {
    SshdFixture sshd;
    TempDir dir;
    auto t = target_for(sshd, dir);
    connect_ok(t, HostKeyPolicy::PinOnFirstUse);
    auto moved = t;
    moved.host = "127.0.0.2";  // a new DHCP lease
    auto s = connect_ok(moved, HostKeyPolicy::RequirePinned);
    CHECK(s->host_key_fingerprint() == sshd.host_key_fingerprint());
    moved.machine = "other";  // another machine's pins do not vouch for this one
    auto refused = LibsshSession::connect(moved, options(HostKeyPolicy::RequirePinned));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("no SSH host key is pinned for other") != std::string::npos);
    CHECK(refused.error().message.find(sshd.host_key_fingerprint()) != std::string::npos);
}

TEST_CASE("a known_hosts file pinned by address (older berth) is moved to the machine's alias on use", "[ssh]") {
    SshdFixture sshd;
    TempDir dir;
    auto t = target_for(sshd, dir);
    std::istringstream words(sshd.host_key_line());
    std::string type, blob;
    words >> type >> blob;
    {
        std::ofstream out(t.known_hosts);
        out << "[127.0.0.1]:" << sshd.port() << " " << type << " " << blob << "\n";
    }
    auto s = connect_ok(t, HostKeyPolicy::RequirePinned);
    CHECK(s->host_key_fingerprint() == sshd.host_key_fingerprint());
    std::ifstream in(t.known_hosts);
    std::string line;
    std::getline(in, line);
    CHECK(line == "berth-t1 " + type + " " + blob);
    CHECK(file_mode(t.known_hosts) == 0600);
    auto moved = t;
    moved.host = "127.0.0.2";
    connect_ok(moved, HostKeyPolicy::RequirePinned);
}

TEST_CASE("a fingerprint given with --replace-host-key pins a host with no key pinned - nothing else does", "[ssh]") {
    SshdFixture sshd;
    TempDir dir;
    auto t = target_for(sshd, dir);
    auto o = options(HostKeyPolicy::ReplacePinned);
    o.expected_fingerprint = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    auto wrong = LibsshSession::connect(t, o);
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().message.find(sshd.host_key_fingerprint()) != std::string::npos);
    CHECK(wrong.error().message.find(o.expected_fingerprint) != std::string::npos);
    CHECK_FALSE(has_pinned_keys(t.known_hosts));
    o.expected_fingerprint = sshd.host_key_fingerprint();
    REQUIRE(LibsshSession::connect(t, o));
    connect_ok(t, HostKeyPolicy::RequirePinned);
}

TEST_CASE("run returns output and exit status and reads the whole script first", "[ssh]") {
    SshdFixture sshd;
    TempDir dir;
    auto s = connect_ok(target_for(sshd, dir), HostKeyPolicy::PinOnFirstUse);

    auto r = s->run("echo out; echo err >&2; exit 3");
    REQUIRE(r);
    CHECK(r->exit_status == 3);
    CHECK(r->out == "out\n");
    CHECK(r->err == "err\n");

    // A command that reads stdin must not eat the rest of the script.
    auto swallow = s->run("cat\necho after-cat\nid -u");
    REQUIRE(swallow);
    CHECK(swallow->out == "after-cat\n0\n");

    auto quoted = s->run("printf '%s|' \"a b\" 'it'\"'\"'s' $((6*7))");
    REQUIRE(quoted);
    CHECK(quoted->out == "a b|it's|42|");

    auto big = s->run("head -c 1000000 /dev/zero | tr '\\0' x");
    REQUIRE(big);
    CHECK(big->out.size() == 1000000);
    CHECK(s->channels_opened() == 4);
}

TEST_CASE("run_streaming hands stdout over as it arrives - the result still holds all of it", "[ssh]") {
    SshdFixture sshd;
    TempDir dir;
    auto s = connect_ok(target_for(sshd, dir), HostKeyPolicy::PinOnFirstUse);
    // The first line arrives while the command still sleeps: a piece before the end, and the
    // status lines apt writes to fd 3 come through as the install script sends them (3>&1 1>&2).
    std::vector<std::string> pieces;
    std::string when_first;
    auto r = s->run_streaming("sh -c 'echo pmstatus:a:50:x >&3; echo noise; sleep 2; echo done >&3' 3>&1 1>&2",
                              std::chrono::seconds(30), [&](std::string_view piece) {
                                  pieces.emplace_back(piece);
                                  if (pieces.size() == 1) when_first = std::string(piece);
                              });
    REQUIRE(r);
    CHECK(r->exit_status == 0);
    CHECK(r->out == "pmstatus:a:50:x\ndone\n");
    CHECK(r->err == "noise\n");
    REQUIRE(pieces.size() >= 2);  // one before the sleep, one after
    CHECK(when_first == "pmstatus:a:50:x\n");
    std::string all;
    for (const auto& p : pieces) all += p;
    CHECK(all == r->out);
}

TEST_CASE("uploads land whole with the mode and owner asked for", "[ssh]") {
    SshdFixture sshd;
    TempDir dir;
    auto s = connect_ok(target_for(sshd, dir), HostKeyPolicy::PinOnFirstUse);
    const auto remote = dir / "etc-docker";
    std::filesystem::create_directories(remote);

    REQUIRE(s->upload("server key\n", (remote / "server-key.pem").string(), 0400, "root:root"));
    REQUIRE(s->upload("{\"icc\": false}\n", (remote / "daemon.json").string(), 0644));
    REQUIRE(s->upload("x", (remote / "nobody.txt").string(), 0640, "nobody:nogroup"));

    CHECK(file_mode(remote / "server-key.pem") == 0400);
    CHECK(file_mode(remote / "daemon.json") == 0644);
    struct stat st{};
    REQUIRE(::stat((remote / "nobody.txt").c_str(), &st) == 0);
    CHECK(st.st_uid == 65534);
    CHECK((st.st_mode & 07777) == 0640);
    CHECK(s->read((remote / "daemon.json").string()).value() == "{\"icc\": false}\n");

    // Replacing a file replaces it whole; nothing is left beside it.
    REQUIRE(s->upload("v2", (remote / "daemon.json").string(), 0644));
    CHECK(s->read((remote / "daemon.json").string()).value() == "v2");
    int entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(remote)) entries += e.is_regular_file() ? 1 : 0;
    CHECK(entries == 3);

    auto missing = s->read((remote / "nope").string());
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == ErrorKind::NotFound);

    auto no_dir = s->upload("x", (remote / "no-such-dir" / "f").string(), 0644);
    REQUIRE_FALSE(no_dir);
    CHECK(no_dir.error().message.find("cannot install") != std::string::npos);
}

namespace {

/// Staged copies left in any upload directory whose name ends with `tag`.
int staged_left(const std::string& tag) {
    int left = 0;
    for (const auto& d : std::filesystem::directory_iterator("/tmp")) {
        if (!d.path().filename().string().starts_with("berth-upload.")) continue;
        std::error_code ec;
        for (const auto& f : std::filesystem::directory_iterator(d.path(), ec))
            left += f.path().filename().string().ends_with(tag) ? 1 : 0;
    }
    return left;
}

std::string files_written(const Error& e) {
    for (const auto& [key, value] : e.context)
        if (key == k_files_written) return value;
    return "(none)";
}

}  // namespace

TEST_CASE("upload_all writes every file with one remote command - the mode and owner of each", "[ssh]") {
    SshdFixture sshd;
    TempDir dir;
    auto s = connect_ok(target_for(sshd, dir), HostKeyPolicy::PinOnFirstUse);
    const auto remote = dir / "etc";
    std::filesystem::create_directories(remote);
    const std::string tag = "-batch-" + std::to_string(::getpid());
    const std::vector<FileUpload> files = {
        {(remote / ("key" + tag)).string(), "server key\n", 0400, "root:root"},
        {(remote / ("it's a conf" + tag)).string(), "a = 'b'\n", 0644, "root:root"},
        {(remote / ("nobody" + tag)).string(), std::string(100000, 'x'), 0640, "nobody:nogroup"},
        {(remote / ("sbin" + tag)).string(), "#!/bin/sh\n", 0755, "root"},
    };
    const int before = s->channels_opened();
    auto ok = s->upload_all(files);
    INFO((ok ? std::string() : ok.error().line()));
    REQUIRE(ok);
    CHECK(s->channels_opened() == before + 1);  // one command for all four, staging over SFTP

    for (const auto& f : files) {
        std::ifstream in(f.path, std::ios::binary);
        CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == f.content);
        CHECK(file_mode(f.path) == f.mode);
        CHECK_FALSE(std::filesystem::exists(f.path + ".berth-new"));
    }
    struct stat st{};
    REQUIRE(::stat(files[2].path.c_str(), &st) == 0);
    CHECK(st.st_uid == 65534);
    CHECK(staged_left(tag) == 0);

    CHECK(s->upload_all({}));  // nothing to write: no command
    CHECK(s->channels_opened() == before + 1);
}

TEST_CASE("upload_all stops at the file that fails - names it, says how many were written, leaves nothing staged", "[ssh]") {
    SshdFixture sshd;
    TempDir dir;
    auto s = connect_ok(target_for(sshd, dir), HostKeyPolicy::PinOnFirstUse);
    const auto remote = dir / "etc";
    std::filesystem::create_directories(remote);
    const std::string tag = "-fails-" + std::to_string(::getpid());
    const std::vector<FileUpload> files = {
        {(remote / ("first" + tag)).string(), "1", 0644, "root:root"},
        {(remote / "no-such-dir" / ("second" + tag)).string(), "2", 0644, "root:root"},
        {(remote / ("third" + tag)).string(), "3", 0644, "root:root"},
    };
    const int before = s->channels_opened();
    auto failed = s->upload_all(files);
    REQUIRE_FALSE(failed);
    INFO(failed.error().line());
    CHECK(failed.error().message.starts_with("cannot install " + files[1].path + " on t1: "));
    CHECK(failed.error().message.find("berth-upload-failed") == std::string::npos);
    CHECK(files_written(failed.error()) == "1");
    CHECK(s->channels_opened() == before + 1);
    CHECK(std::filesystem::exists(files[0].path));  // before the failure: written
    CHECK_FALSE(std::filesystem::exists(files[2].path));  // after it: not
    CHECK(staged_left(tag) == 0);

    // An owner that does not exist fails the same way, and an existing file keeps its content.
    auto bad_owner = s->upload_all({{files[0].path, "new", 0644, "no-such-user:root"}});
    REQUIRE_FALSE(bad_owner);
    CHECK(bad_owner.error().message.starts_with("cannot install " + files[0].path + " on t1: "));
    CHECK(files_written(bad_owner.error()) == "0");
    CHECK(s->read(files[0].path).value() == "1");
    CHECK_FALSE(std::filesystem::exists(files[0].path + ".berth-new"));
    CHECK(staged_left(tag) == 0);
}

TEST_CASE("a new program is renamed over a running one: no ETXTBSY - the running process keeps its file", "[ssh][authz]") {
    SshdFixture sshd;
    TempDir dir;
    auto s = connect_ok(target_for(sshd, dir), HostKeyPolicy::PinOnFirstUse);
    const auto program = dir / "sbin" / "berth-authz";
    std::filesystem::create_directories(program.parent_path());
    std::filesystem::copy_file("/bin/sleep", program);
    std::filesystem::permissions(program, std::filesystem::perms::owner_all);
    // Running, as berth-authz is when provision replaces it: opening it for writing would fail
    // with ETXTBSY, and writing it in place would tear the program under the running process.
    auto started = s->run("p=" + shell_quote(program.string()) + "; \"$p\" 60 </dev/null >/dev/null 2>&1 & echo $!");
    REQUIRE(started);
    const std::string pid = started->out.substr(0, started->out.find('\n'));
    REQUIRE_FALSE(pid.empty());
    const std::string replacement = "#!/bin/sh\necho the new berth-authz\n";
    auto up = s->upload(replacement, program.string(), 0755, "root:root");
    INFO((up ? std::string() : up.error().line()));
    CHECK(up);
    CHECK(s->read(program.string()).value() == replacement);
    CHECK(file_mode(program) == 0755);
    // The old process still runs its own (now unlinked) program file.
    auto still = s->run("kill -0 " + pid + " && readlink /proc/" + pid + "/exe; kill " + pid);
    REQUIRE(still);
    CHECK(still->exit_status == 0);
    CHECK(still->out.find("(deleted)") != std::string::npos);
}

TEST_CASE("a command that outlives its timeout is an error and the session goes on", "[ssh]") {
    SshdFixture sshd;
    TempDir dir;
    auto s = connect_ok(target_for(sshd, dir), HostKeyPolicy::PinOnFirstUse);
    // 5 s, not 1: on a loaded machine (CI's two cores building) the first output alone can take
    // longer than a second to arrive, and the hint must show it.
    auto slow = s->run("echo started; sleep 30", 5s);
    REQUIRE_FALSE(slow);
    INFO(slow.error().line());
    CHECK(slow.error().message.find("did not finish within 5 s") != std::string::npos);
    CHECK(slow.error().hint.find("started") != std::string::npos);
    auto next = s->run("echo still-here");
    REQUIRE(next);
    CHECK(next->out == "still-here\n");
}

TEST_CASE("a connection dropped mid-command is an error that says so", "[ssh]") {
    SshdFixture sshd;
    TempDir dir;
    auto s = connect_ok(target_for(sshd, dir), HostKeyPolicy::PinOnFirstUse);
    // Find this connection's sshd process above the shell and kill it.
    auto r = s->run(
        "p=$$; while [ \"$(cat /proc/$p/comm)\" != sshd ]; do p=$(awk '{print $4}' /proc/$p/stat); done; "
        "kill -9 $p; sleep 5",
        30s);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("SSH connection to t1 failed") != std::string::npos);
}

TEST_CASE("connect retries until the server answers, and gives up at the timeout", "[ssh]") {
    SECTION("a server that comes up late is reached") {
        SshdFixture sshd(false);
        TempDir dir;
        std::thread late([&] {
            std::this_thread::sleep_for(1500ms);
            sshd.start();
        });
        auto s = LibsshSession::connect(target_for(sshd, dir), options(HostKeyPolicy::PinOnFirstUse, 30s));
        late.join();
        REQUIRE(s);
    }
    SECTION("nobody listening: a clear error after the timeout") {
        SshdFixture sshd(false);
        TempDir dir;
        auto start = std::chrono::steady_clock::now();
        auto s = LibsshSession::connect(target_for(sshd, dir), options(HostKeyPolicy::PinOnFirstUse, 2s));
        REQUIRE_FALSE(s);
        CHECK(s.error().message.find("cannot reach root@127.0.0.1:" + std::to_string(sshd.port())) !=
              std::string::npos);
        CHECK(std::chrono::steady_clock::now() - start < 15s);
    }
}

TEST_CASE("a key the server does not know is refused with a hint", "[ssh]") {
    SshdFixture sshd;
    TempDir dir;
    auto t = target_for(sshd, dir);
    t.key = dir / "other_key";
    REQUIRE(generate_ssh_key(t.key, "other"));
    auto s = LibsshSession::connect(t, options(HostKeyPolicy::PinOnFirstUse));
    REQUIRE_FALSE(s);
    CHECK(s.error().message.find("was refused") != std::string::npos);
    CHECK(s.error().hint.find("authorized_keys") != std::string::npos);
}

TEST_CASE("berth's own ed25519 keys are private and work for login", "[ssh]") {
    SshdFixture sshd;
    TempDir dir;
    const auto key = dir / "id_ed25519";
    REQUIRE(generate_ssh_key(key, "berth@t1"));
    CHECK(file_mode(key) == 0600);
    auto line = public_key_line(key);
    REQUIRE(line);
    CHECK(line->starts_with("ssh-ed25519 AAAA"));
    // OpenSSH reads both halves.
    CHECK(berth::test::run_checked({"ssh-keygen", "-y", "-f", key.string()}).starts_with(*line));
    CHECK_FALSE(generate_ssh_key(key, "again"));

    sshd.authorize(*line);
    auto t = target_for(sshd, dir);
    t.key = key;
    auto s = LibsshSession::connect(t, options(HostKeyPolicy::PinOnFirstUse));
    REQUIRE(s);
}

TEST_CASE("a command's output is kept up to the cap - the rest drained - the cut said in err", "[ssh]") {
    SshdFixture sshd;
    TempDir dir;
    auto s = connect_ok(target_for(sshd, dir), HostKeyPolicy::PinOnFirstUse);
    const std::size_t more = k_max_remote_output_bytes + 4096;
    auto r = s->run("head -c " + std::to_string(more) + " /dev/zero; head -c " + std::to_string(more) +
                    " /dev/zero | tr '\\0' e >&2; exit 3");
    INFO((r ? std::string() : r.error().line()));
    REQUIRE(r);
    CHECK(r->exit_status == 3);  // read to the end: the command finished and its status came back
    CHECK(r->out.size() == k_max_remote_output_bytes);
    CHECK(r->err.starts_with("eeee"));
    CHECK(r->err.find("berth: the command's stdout was cut at 16 MiB: the last 4096 bytes were dropped") !=
          std::string::npos);
    CHECK(r->err.find("berth: the command's stderr was cut at 16 MiB: the last 4096 bytes were dropped") !=
          std::string::npos);
    CHECK(s->run("echo still-here").value().out == "still-here\n");
}
