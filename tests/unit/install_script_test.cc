// The Debian install script run for real by sh, with apt-get stubbed in PATH and its own files
// (policy-rc.d, the lists stamp, the sources) in a scratch directory: Docker's units are held back
// while it runs and only then, an earlier policy-rc.d is asked about the rest and put back, and
// `apt-get update` is skipped exactly when the lists are fresh.

#include <berth/core/escape.h>
#include <berth/provision/changes.h>
#include <berth/provision/facts.h>
#include <berth/provision/packages_step.h>

#include "format_readers.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace berth;
using berth::test::run_sh;

namespace {

struct Host {
    berth::test::TempDir dir;
    InstallPaths paths;

    Host() {
        paths.policy_rc_d = (dir / "policy-rc.d").string();
        paths.lists_stamp = (dir / "lib" / "apt-lists-updated").string();
        paths.periodic_stamp = (dir / "periodic-stamp").string();
        paths.sources = {(dir / "sources.list").string(), (dir / "sources.list.d").string()};
        berth::test::write_text(dir / "sources.list", "deb http://deb.debian.org/debian bookworm main\n");
        std::filesystem::create_directories(dir / "sources.list.d");
        // apt-get logs its subcommand; `install` asks the policy about two units, as dpkg's
        // maintainer scripts would, and fails while the file `fail-installs` holds a count > 0.
        const std::string log = shell_quote((dir / "apt.log").string());
        const std::string policy = shell_quote(paths.policy_rc_d);
        const std::string fails = shell_quote((dir / "fail-installs").string());
        berth::test::write_text(
            dir / "bin" / "apt-get",
            "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in update|install) echo \"$a\" >> " + log + ";; esac; done\n"
            "case \"$*\" in *install*)\n"
            "  " + policy + " --quiet docker.service start; echo \"docker.service $?\" >> " + log + "\n"
            "  " + policy + " auditd start; echo \"auditd $?\" >> " + log + "\n"
            "  n=$(cat " + fails + " 2>/dev/null || echo 0); if [ \"$n\" -gt 0 ]; then echo $((n - 1)) > " + fails +
            "; echo 'E: 404 Not Found' >&2; exit 100; fi ;;\nesac\nexit 0\n");
        std::filesystem::permissions(dir / "bin" / "apt-get", std::filesystem::perms::owner_all);
    }

    CommandResult install(bool upgrade = false) {
        Changes changes;
        EngineConfig engine;
        PackagesStep(OsFamily::Debian, engine, upgrade, paths).apply(Facts{}, changes);
        REQUIRE_FALSE(changes.install_script.empty());
        auto r = run_sh("PATH=" + shell_quote((dir / "bin").string()) + ":$PATH\n" + changes.install_script);
        INFO(r.err);
        return r;
    }

    std::string log() {
        std::ifstream in(dir / "apt.log");
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

    void touch(const std::string& path, const std::string& when) {
        REQUIRE(run_sh("mkdir -p \"$(dirname " + shell_quote(path) + ")\" && touch -d " + shell_quote(when) + " " +
                       shell_quote(path))
                    .exit_status == 0);
    }
};

}  // namespace

TEST_CASE("install script: Docker's units are held back while dpkg runs - nothing else is", "[provision][install]") {
    Host h;
    auto r = h.install();
    REQUIRE(r.exit_status == 0);
    CHECK(h.log() == "update\ninstall\ndocker.service 101\nauditd 0\n");
    CHECK_FALSE(std::filesystem::exists(h.paths.policy_rc_d));  // there was none: none is left
}

TEST_CASE("install script: a policy-rc.d the host had decides for the other units and is put back",
          "[provision][install]") {
    Host h;
    const std::string theirs = "#!/bin/sh\n# the host's own: nothing starts\nexit 101\n";
    berth::test::write_text(h.paths.policy_rc_d, theirs);
    std::filesystem::permissions(h.paths.policy_rc_d, std::filesystem::perms::owner_all);
    SECTION("the install succeeds") { REQUIRE(h.install().exit_status == 0); }
    SECTION("the install fails") {
        berth::test::write_text(h.dir / "fail-installs", "5\n");
        CHECK(h.install().exit_status != 0);
    }
    CHECK(h.log().find("docker.service 101\nauditd 101\n") != std::string::npos);
    std::ifstream in(h.paths.policy_rc_d);
    std::stringstream back;
    back << in.rdbuf();
    CHECK(back.str() == theirs);
    CHECK_FALSE(std::filesystem::exists(h.paths.policy_rc_d + ".berth-saved"));
}

TEST_CASE("install script: apt-get update only when the lists are not fresh", "[provision][install]") {
    Host h;
    h.touch(h.paths.sources[0], "10 hours ago");
    h.touch(h.paths.sources[1], "10 hours ago");
    SECTION("berth updated them an hour ago: no update") {
        h.touch(h.paths.lists_stamp, "1 hour ago");
        REQUIRE(h.install().exit_status == 0);
        CHECK(h.log().starts_with("install\n"));
    }
    SECTION("apt's daily job updated them: no update") {
        h.touch(h.paths.periodic_stamp, "2 hours ago");
        REQUIRE(h.install().exit_status == 0);
        CHECK(h.log().starts_with("install\n"));
    }
    SECTION("updated 7 hours ago: stale") {
        h.touch(h.paths.lists_stamp, "7 hours ago");
        REQUIRE(h.install().exit_status == 0);
        CHECK(h.log().starts_with("update\ninstall\n"));
    }
    SECTION("a source changed since the update: stale") {
        h.touch(h.paths.lists_stamp, "1 hour ago");
        berth::test::write_text(h.dir / "sources.list.d" / "docker.list", "deb https://download.docker.com/linux/debian bookworm stable\n");
        REQUIRE(h.install().exit_status == 0);
        CHECK(h.log().starts_with("update\ninstall\n"));
    }
    SECTION("never updated: update, and the stamp is made") {
        REQUIRE(h.install().exit_status == 0);
        CHECK(h.log().starts_with("update\ninstall\n"));
        CHECK(std::filesystem::exists(h.paths.lists_stamp));
    }
    SECTION("berth upgrade: always an update") {
        h.touch(h.paths.lists_stamp, "1 hour ago");
        REQUIRE(h.install(true).exit_status == 0);
        CHECK(h.log().starts_with("update\ninstall\n"));
    }
}

TEST_CASE("install script: an install from fresh lists that fails updates them and tries once more",
          "[provision][install]") {
    Host h;
    h.touch(h.paths.sources[0], "10 hours ago");
    h.touch(h.paths.sources[1], "10 hours ago");
    h.touch(h.paths.lists_stamp, "1 hour ago");
    SECTION("the second try succeeds") {
        berth::test::write_text(h.dir / "fail-installs", "1\n");
        auto r = h.install();
        CHECK(r.exit_status == 0);
        CHECK(r.err.find("updating them and trying again") != std::string::npos);
        CHECK(h.log() == "install\ndocker.service 101\nauditd 0\nupdate\ninstall\ndocker.service 101\nauditd 0\n");
    }
    SECTION("both fail: the install fails, once retried") {
        berth::test::write_text(h.dir / "fail-installs", "2\n");
        auto r = h.install();
        CHECK(r.exit_status != 0);
        CHECK(h.log() == "install\ndocker.service 101\nauditd 0\nupdate\ninstall\ndocker.service 101\nauditd 0\n");
    }
    SECTION("stale lists: a failed install is not retried") {
        h.touch(h.paths.lists_stamp, "8 hours ago");
        berth::test::write_text(h.dir / "fail-installs", "1\n");
        CHECK(h.install().exit_status != 0);
        CHECK(h.log() == "update\ninstall\ndocker.service 101\nauditd 0\n");
    }
    CHECK_FALSE(std::filesystem::exists(h.paths.policy_rc_d));
}

TEST_CASE("the facts script run by sh pairs one dpkg-query and one systemctl is-active with their items", "[provision]") {
    // dpkg-query answers for the packages it knows, in its own order (not the one asked), and
    // skips the unknown; systemctl says active for docker only and enabled for every unit.
    berth::test::TempDir dir;
    berth::test::write_text(dir / "bin" / "dpkg-query",
                            "#!/bin/sh\necho 'D nftables installed 1.0.6-2'\necho 'D auditd config-files 1:3.0.9-1'\n"
                            "echo 'D docker.io installed 20.10.24+dfsg1-1+b3'\nexit 1\n");
    berth::test::write_text(dir / "bin" / "systemctl",
                            "#!/bin/sh\ncase \"$1\" in\n"
                            "is-active) shift; for u in \"$@\"; do [ \"$u\" = docker ] && echo active || echo inactive; done ;;\n"
                            "is-enabled) echo enabled ;;\nesac\n");
    for (const char* tool : {"dpkg-query", "systemctl"})
        std::filesystem::permissions(dir / "bin" / tool, std::filesystem::perms::owner_all);
    auto r = run_sh("PATH=" + shell_quote((dir / "bin").string()) + ":$PATH\n" +
                    facts_script({"docker.io", "apparmor", "auditd", "nftables"}));
    INFO(r.out << r.err);
    auto facts = parse_facts(r.out);
    REQUIRE(facts);
    CHECK(facts->packages == std::map<std::string, std::string>{
                                 {"docker.io", "20.10.24+dfsg1-1+b3"}, {"apparmor", ""}, {"auditd", ""}, {"nftables", "1.0.6-2"}});
    CHECK(facts->units.at("docker") == std::pair<std::string, std::string>{"active", "enabled"});
    CHECK(facts->units.at("berth-authz.socket") == std::pair<std::string, std::string>{"inactive", "enabled"});
    CHECK(facts->units.size() == 5);
}
