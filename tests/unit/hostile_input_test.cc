// What another party wrote never crashes berth (issue 10 items 12, 13, 15): the host's facts
// report, machine records, odd entries in the store, a -s directory that is not berth's, and
// outputs larger than berth keeps.

#include <berth/process/runner.h>
#include <berth/provision/facts.h>
#include <berth/store/store.h>

#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <random>

using namespace berth;
using berth::test::TempDir;
using berth::test::file_mode;
using berth::test::write_text;
namespace fs = std::filesystem;

namespace {

std::string facts_with(const std::string& files, const std::string& ports) {
    return "@os-release\nID=debian\nVERSION_ID=\"12\"\n@hostname\nh\n@packages\ndocker.io 20.10\n@files\n" + files +
           "@exists\n@units\ndocker active enabled\n@sshd-ports\n" + ports + "@subid\n@dockerd\n@selinux\n@nft\n@end\n";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

MachineRecord sample(const std::string& name) {
    MachineRecord r;
    r.name = name;
    r.driver_name = "none";
    r.status = MachineStatus::Ready;
    r.driver = {{"url", "tcp://10.1.2.3:2376"}};
    return r;
}

}  // namespace

TEST_CASE("facts: a well-formed report parses - modes in octal - ports in decimal", "[facts]") {
    auto f = parse_facts(facts_with("/etc/docker/daemon.json abc 644 root:root\n", "22\n2222\n"));
    REQUIRE(f);
    CHECK(f->files.at("/etc/docker/daemon.json").mode == 0644);
    CHECK(f->files.at("/etc/docker/daemon.json").owner == "root:root");
    CHECK(f->sshd_ports == std::vector<int>{22, 2222});
}

TEST_CASE("facts: a malformed mode is an error naming the line - not an abort", "[facts]") {
    for (const char* mode : {"zz9", "", "-644", "99999999999999999999", "17777", "0x1a4", "7.5", "８"}) {
        CAPTURE(mode);
        auto f = parse_facts(facts_with("/etc/docker/daemon.json abc " + std::string(mode) + " root:root\n", "22\n"));
        REQUIRE_FALSE(f);
        CHECK(contains(f.error().message, "malformed line in @files"));
        CHECK(contains(f.error().message, "/etc/docker/daemon.json"));
    }
}

TEST_CASE("facts: an sshd port outside 1-65535 or not a number is an error - never a firewall rule", "[facts]") {
    for (const char* port : {"0", "65536", "99999999999", "-22", "22; drop", "port", "2 2", "+22"}) {
        CAPTURE(port);
        auto f = parse_facts(facts_with("", std::string(port) + "\n"));
        REQUIRE_FALSE(f);
        CHECK(contains(f.error().message, "malformed line in @sshd-ports"));
    }
    // Control characters in the report are not echoed raw to the terminal.
    auto f = parse_facts(facts_with("", "\x1b]0;owned\x07\n"));
    REQUIRE_FALSE(f);
    CHECK_FALSE(contains(f.error().message, "\x1b"));
}

TEST_CASE("facts: any bytes at all parse or fail - never throw", "[facts]") {
    std::mt19937 rng(10);
    const std::string sections[] = {"@files\n", "@sshd-ports\n", "@units\n", "@packages\n", "@end\n", "@os-release\n"};
    for (int round = 0; round < 2000; ++round) {
        std::string text;
        const int pieces = static_cast<int>(rng() % 12);
        for (int i = 0; i < pieces; ++i) {
            if (rng() % 3 == 0) text += sections[rng() % std::size(sections)];
            const int len = static_cast<int>(rng() % 24);
            for (int k = 0; k < len; ++k) text += static_cast<char>(rng() % 256);
            text += rng() % 2 ? "\n" : " ";
        }
        CHECK_NOTHROW((void)parse_facts(text));
    }
}

TEST_CASE("record: a schema_version that does not fit an int is never narrowed", "[store]") {
    nlohmann::json j = sample("n1").to_json();
    j["schema_version"] = 4294967297ULL;  // 2^32 + 1: an int would read 1
    auto big = MachineRecord::from_json(j, "machine.json");
    REQUIRE_FALSE(big);
    CHECK(contains(big.error().message, "written by a newer berth (schema 4294967297"));

    j["schema_version"] = 18446744073709551615ULL;
    REQUIRE_FALSE(MachineRecord::from_json(j, "machine.json"));

    j["schema_version"] = -4294967295LL;  // an int would read 1 here too
    auto negative = MachineRecord::from_json(j, "machine.json");
    REQUIRE_FALSE(negative);
    CHECK(contains(negative.error().message, "damaged"));

    j["schema_version"] = 1;
    CHECK(MachineRecord::from_json(j, "machine.json"));
}

TEST_CASE("store: a symlink loop - a file named like a machine - a dangling link do not stop ls", "[store]") {
    TempDir dir;
    Store store(dir / "berth");
    REQUIRE(store.ensure_layout());
    REQUIRE(store.save(sample("n1")));
    const fs::path machines = store.machines_dir();
    fs::create_directory_symlink(machines / "loop", machines / "loop");  // stat() says ELOOP
    fs::create_directory_symlink(machines / "a2", machines / "a1");
    fs::create_directory_symlink(machines / "a1", machines / "a2");
    fs::create_symlink(dir / "nowhere", machines / "dangling");
    write_text(machines / "n2", "not a machine");
    fs::create_directory(machines / "n3");
    ::chmod((machines / "n3").c_str(), 0);  // unreadable (to all but root)

    auto names = store.list_names();
    ::chmod((machines / "n3").c_str(), 0700);
    REQUIRE(names);
    CHECK(*names == std::vector<std::string>{"n1", "n3"});
    CHECK_FALSE(store.exists("loop"));
    auto loop = store.load("loop");
    REQUIRE_FALSE(loop);
    CHECK_FALSE(store.load("n3"));  // no record: shown as damaged by ls, removed by rm -f
}

TEST_CASE("store: -s on a non-empty directory that is not a store is refused and left as it was", "[store]") {
    TempDir dir;
    const fs::path home = dir / "home";
    write_text(home / "notes.txt", "mine");
    fs::create_directory(home / "cache");  // an unrelated cache/ does not make it berth's
    ::chmod(home.c_str(), 0755);
    Store store(home);
    auto made = store.ensure_layout();
    REQUIRE_FALSE(made);
    CHECK(made.error().kind == ErrorKind::Usage);
    CHECK(contains(made.error().message, "is not empty and is not a berth store"));
    CHECK(file_mode(home) == 0755);
    CHECK_FALSE(fs::exists(home / "machines"));
    CHECK_FALSE(fs::exists(home / "locks"));
    CHECK_FALSE(store.lock("n1"));

    write_text(dir / "file", "x");
    auto file = Store(dir / "file").ensure_layout();
    REQUIRE_FALSE(file);
    CHECK(contains(file.error().message, "is not a directory"));
}

TEST_CASE("store: a new path is made 0700 - an empty directory is used without chmod", "[store]") {
    TempDir dir;
    Store fresh(dir / "a" / "b" / "store");
    REQUIRE(fresh.ensure_layout());
    CHECK(file_mode(fresh.root()) == 0700);
    CHECK(file_mode(fresh.machines_dir()) == 0700);
    CHECK(file_mode(fresh.root() / "locks") == 0700);

    const fs::path empty = dir / "empty";
    fs::create_directory(empty);
    ::chmod(empty.c_str(), 0755);
    Store in_empty(empty);
    REQUIRE(in_empty.ensure_layout());
    CHECK(file_mode(empty) == 0755);  // not berth's to change
    CHECK(file_mode(empty / "machines") == 0700);
    CHECK(file_mode(empty / "locks") == 0700);
    REQUIRE(in_empty.ensure_layout());  // a second time: it is a store now
}

TEST_CASE("store: stores made by earlier berths keep working", "[store]") {
    TempDir dir;
    for (const char* own : {"machines", "locks", "cache/images"}) {
        CAPTURE(own);
        const fs::path root = dir / ("old-" + std::string(own).substr(0, 5));
        fs::create_directories(root / own);
        write_text(root / "scp-config.123", "left over");
        Store store(root);
        auto ok = store.ensure_layout();
        INFO((ok ? std::string() : ok.error().line()));
        REQUIRE(ok);
        REQUIRE(store.save(sample("n1")));
        CHECK(store.list_names().value() == std::vector<std::string>{"n1"});
    }
}

TEST_CASE("runner: each stream is kept up to its cap - the rest drained and said", "[runner]") {
    ProcessRunner runner;
    Command c;
    const std::size_t more = k_max_process_output_bytes + 1000;
    c.argv = {"sh", "-c", "head -c " + std::to_string(more) + " /dev/zero; echo tail >&2"};
    auto r = runner.run(c);
    REQUIRE(r);
    CHECK(r->exit_status == 0);
    CHECK(r->out.size() == k_max_process_output_bytes);
    CHECK(contains(r->err, "tail\n"));
    CHECK(contains(r->err, "stdout was cut at 16 MiB: the last 1000 bytes were dropped"));
}

TEST_CASE("store: a record holding bytes that are not UTF-8 is saved - never throws", "[store]") {
    TempDir dir;
    Store store(dir / "berth");
    REQUIRE(store.ensure_layout());
    MachineRecord r = sample("n1");
    r.status = MachineStatus::Error;
    r.last_error = "apt-get said \xff\xfe on the host";  // a host's stderr, in whatever bytes it chose
    REQUIRE(store.save(r));
    auto loaded = store.load("n1");
    REQUIRE(loaded);
    CHECK(loaded->last_error == "apt-get said \xef\xbf\xbd\xef\xbf\xbd on the host");
}
