// Issue 10 items 1 and 2, checked on what the host receives (ScriptedSession): a hostile
// --engine-version, --engine-env or --engine-apt-proxy is refused at create and when a saved record is replayed,
// before any remote command; valid values reach the package manager as quoted words (run through
// a real /bin/sh) and dockerd's environment through a root-only EnvironmentFile.

#include <berth/core/escape.h>
#include <berth/provision/engine_checks.h>
#include <berth/provision/host_paths.h>
#include <berth/provision/packages_step.h>
#include <berth/provision/provisioner.h>
#include <berth/service/machine_service.h>
#include <berth/service/real_ports.h>

#include "../fakes/fake_elf.h"
#include "../fakes/fake_docker.h"
#include "../fakes/fake_driver.h"
#include "../fakes/scripted_session.h"
#include "format_readers.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace berth;
using berth::test::FakeDocker;
using berth::test::run_sh;
using berth::test::ScriptedSession;

namespace {

std::string debian_facts(const std::string& docker_version) {
    std::ifstream in(std::string(BERTH_TESTS_DIR) + "/fixtures/os-release/debian-12");
    REQUIRE(in.good());
    std::stringstream os;
    os << in.rdbuf();
    return "@os-release\n" + os.str() + "@hostname\nn1\n@packages\ndocker.io " + docker_version +
           "\napparmor 3.0.8-3\nauditd 1:3.0.9-1\nnftables 1.0.6-2\n@files\n@exists\n/usr/bin/containerd\n"
           "@units\ndocker active enabled\nauditd active enabled\napparmor active enabled\n"
           "berth-firewall inactive disabled\n@sshd-ports\n22\n@subid\nsubuid\nsubgid\n"
           "@dockerd\n/usr/sbin/dockerd\n@selinux\n\n@nft\n/usr/sbin/nft\n@arch\nx86_64\n@dirs\n@end\n";
}

ProvisionRequest request() {
    ProvisionRequest r;
    r.machine = "n1";
    r.hostname = "n1";
    r.ssh_ports = {22};
    r.ca_pem = "CA\n";
    r.server_cert_pem = "CERT\n";
    r.server_key_pem = "KEY\n";
    r.authz_binary = berth::test::fake_elf();
    return r;
}

const char* const k_hostile_version = "20.10.24+dfsg1-1; touch /tmp/x; :";

}  // namespace

TEST_CASE("package versions follow deb-version(7) and RPM's grammar", "[injection]") {
    for (const char* v : {"20.10.24+dfsg1-1+deb12u1", "1:3.0.9-1", "5:27.3.1-1~debian.12~bookworm", "2.0~rc1", "27.3.1"})
        CHECK(is_debian_version(v));
    for (const char* v : {"27.3.1-1.fc40", "3:27.3.1-1.el9", "24.0.5-4.fc40", "1.0^git20240101-1"})
        CHECK(is_rpm_version(v));
    for (const char* v : {"", "x1.0", "1.0-", ":1.0", "a:1.0", "1.0_1-1", "1.0 -1", "1.0-1-$(id)", "1.0;id", "1.0\n",
                          "-1.0", "1.0-1'", "1.0-1`id`"})
        CHECK_FALSE(is_debian_version(v));
    for (const char* v : {"", "1.0-1-2", "1.0-", "-1.0", "1.0;id", "1.0 1", "1.0-$(id)", "1.0\n"})
        CHECK_FALSE(is_rpm_version(v));
    CHECK(check_engine_version(""));
    CHECK(check_engine_version("1.0^git", OsFamily::Rhel));
    CHECK_FALSE(check_engine_version("1.0^git", OsFamily::Debian));
    auto bad = check_engine_version(k_hostile_version);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().kind == ErrorKind::Usage);
    CHECK(bad.error().message == "--engine-version \"20.10.24+dfsg1-1; touch /tmp/x; :\" is not a package version");
    CHECK(bad.error().hint.find("deb-version(7)") != std::string::npos);
}

TEST_CASE("engine env: --engine-env takes NAME=VALUE with an environment name and no control character", "[injection]") {
    CHECK(check_engine_env({"HTTP_PROXY=http://u:p%40ss@proxy:3128", "_X=", "A1=\"q\" $(x) `y` \\ %"}));
    for (const char* e : {"NOVALUE", "=v", "1X=v", "A-B=v", "A B=v", "$(id)=v"}) {
        CAPTURE(e);
        auto r = check_engine_env({e});
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::Usage);
        CHECK(r.error().hint.find("NAME=VALUE") != std::string::npos);
    }
    for (const char* e : {"HTTP_PROXY=a\"\nExecStartPre=/bin/touch /tmp/x", "P=a\rb", "P=a\tb", "P=a\x7f"}) {
        CAPTURE(e);
        auto r = check_engine_env({e});
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("control character") != std::string::npos);
        CHECK(r.error().line().find("ExecStartPre") == std::string::npos);  // the value is not repeated
    }
}

TEST_CASE("apt proxy: --engine-apt-proxy takes an http or https URL with a host - nothing else", "[injection][apt-proxy]") {
    for (const char* url : {"", "http://apt-cache.lan:3142", "https://mirror.example.org", "http://10.0.0.2:3128/",
                            "http://[fd00::2]:3142", "http://[::1]", "http://proxy:65535/acng/debian%2Dsecurity",
                            "http://a-b.c1.example:1/x/y.z~_-!$&()*+,=:@"})
        CHECK(check_apt_proxy_url(url));
    struct Bad {
        std::string url;
        std::string says;  // part of the message
    };
    const std::vector<Bad> bad = {
        {"ftp://proxy:21", "is not an http:// or https:// URL"},
        {"proxy:3142", "is not an http:// or https:// URL"},
        {"HTTP://proxy", "is not an http:// or https:// URL"},
        {"http://", "has no host"},
        {"http://:3142", "has no host"},
        {"http://proxy:0", "port \"0\" is not a number from 1 to 65535"},
        {"http://proxy:65536", "port \"65536\""},
        {"http://proxy:", "port \"\""},
        {"http://proxy:-1", "port \"-1\""},
        {"http://proxy:31x", "port \"31x\""},
        {"http://fd00::2:3142", "\"fd00::2:3142\" is not host[:port]"},
        {"http://[fd00::zz]:3142", "is not an [IPv6] address"},
        {"http://[fd00::2]x", "is not an [IPv6] address"},
        {"http://[fd00::2", "is not an [IPv6] address"},
        {"http://999.1.1.1", "is not a DNS name, an IPv4 address or an [IPv6] address"},
        {"http://10.1", "is not a DNS name"},
        {"http://-proxy", "is not a DNS name"},
        {"http://a..b", "is not a DNS name"},
        {"http://pro_xy", "is not a DNS name"},
        {"http://pro$(id)xy", "is not a DNS name"},
        {"http://" + std::string(64, 'a') + ".lan", "is not a DNS name"},
        {"http://proxy/a?b=c", "has a query or fragment (?)"},
        {"http://proxy/#x", "has a query or fragment (#)"},
        {"http://proxy/100%", "has a '%' that is not %XX"},
        {"http://proxy/%zz", "has a '%' that is not %XX"},
        {"http://proxy/{x}", "has '{' in its path"},
        {"http://proxy/a b", "has a space"},
        {"http://proxy:3142\";\nAcquire::https::Proxy \"http://evil", "has a quote (\")"},
        {"http://proxy/'x'", "has a quote (')"},
        {"http://proxy/`id`", "has a quote (`)"},
        {"http://proxy/a\\b", "has a backslash"},
        {"http://proxy/a;b", "has ';'"},
        {"http://proxy/\n", "has a line break"},
        {"http://proxy/\tx", "has a tab"},
        {"http://proxy/\x1b[2J", "has a control character"},
        {"http://proxy/\x7f", "has a control character"},
        {"http://proxy/" + std::string(2100, 'a'), "longer than 2048 characters"},
    };
    for (const auto& [url, says] : bad) {
        CAPTURE(url);
        auto r = check_apt_proxy_url(url);
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::Usage);
        CHECK(r.error().message.find(says) != std::string::npos);
        CHECK_FALSE(r.error().hint.empty());
        CHECK_FALSE(has_control_character(r.error().line()));  // shown escaped, never as it is
    }
    // A password would end up in a world-readable file and in the record: refused, never repeated.
    for (const char* url : {"http://user:s3cret@proxy:3142", "https://s3cret@proxy", "http://u:s3cret@[::1]/x",
                            "user:s3cret@proxy:3142", "http://u:s3cret\n@proxy"}) {
        CAPTURE(url);
        auto r = check_apt_proxy_url(url);
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::Usage);
        CHECK(r.error().message.find("user name or password") != std::string::npos);
        CHECK(r.error().message.find("world-readable") != std::string::npos);
        CHECK(r.error().hint.find("without user:pass@") != std::string::npos);
        CHECK(r.error().line().find("s3cret") == std::string::npos);
    }
    CHECK(check_apt_proxy_url("http://proxy/a@b"));  // '@' in the path is no password
    // Through check_engine_config (create, and every provision of a saved record): the flag first.
    EngineConfig e;
    e.apt_proxy = "ftp://proxy";
    auto r = check_engine_config(e);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "--engine-apt-proxy: \"ftp://proxy\" is not an http:// or https:// URL");
}

TEST_CASE("a hostile engine version or env in a saved record runs nothing on the host", "[injection]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    FakeDocker docker;
    auto req = request();
    SECTION("version") { req.engine.version = k_hostile_version; }
    SECTION("env") { req.engine.env = {"HTTP_PROXY=a\"\nExecStartPre=/bin/touch /tmp/x"}; }
    SECTION("apt proxy") { req.engine.apt_proxy = "http://proxy:3142\";\nAPT::Update::Pre-Invoke {\"touch /tmp/x\"}"; }
    SECTION("upgrade") {
        req.engine.version = k_hostile_version;
        req.upgrade = true;
    }
    ScriptedSession s;  // expects nothing: any remote command fails the test
    auto run = Provisioner(s, *templates, docker).run(req);
    REQUIRE_FALSE(run);
    CHECK(run.error().message.starts_with("the engine settings saved for n1 are refused, nothing was run: --engine-"));
    CHECK(run.error().hint.find("berth rm n1") != std::string::npos);
    auto check = Provisioner(s, *templates, docker).check(req);
    REQUIRE_FALSE(check);
    CHECK(s.transcript().empty());
}

TEST_CASE("the version pin and every package reach apt-get and dnf as single quoted words", "[injection]") {
    // The install script quotes each argument even when the step is handed a hostile pin (the
    // provisioner refuses one before, see above): sh runs it with the package managers stubbed.
    berth::test::TempDir dir;
    const std::string marker = (dir / "pwned").string();
    for (const char* tool : {"apt-get", "dnf"}) {  // print the last four arguments, one per [ ]
        berth::test::write_text(dir / "bin" / tool, "#!/bin/sh\nshift $(($# - 4)); printf '[%s]' \"$@\"\n");
        std::filesystem::permissions(dir / "bin" / tool, std::filesystem::perms::owner_all);
    }
    for (auto family : {OsFamily::Debian, OsFamily::Rhel}) {
        for (bool upgrade : {false, true}) {
            CAPTURE(family == OsFamily::Debian, upgrade);
            EngineConfig engine;
            engine.version = "1.0-1; touch " + marker + "; :'\"$(touch " + marker + ")`touch " + marker + "`";
            Changes changes;
            InstallPaths paths;  // the Debian script's own files, in the scratch directory
            paths.policy_rc_d = (dir / "policy-rc.d").string();
            paths.lists_stamp = (dir / "stamp").string();
            paths.periodic_stamp = (dir / "periodic").string();
            paths.sources = {(dir / "sources.list").string()};
            PackagesStep(family, engine, upgrade, paths).apply(Facts{}, changes);
            REQUIRE_FALSE(changes.install_script.empty());
            auto r = run_sh("PATH=" + shell_quote((dir / "bin").string()) + ":$PATH\n" + changes.install_script);
            INFO(changes.install_script << r.err);
            const std::string pinned = (family == OsFamily::Debian ? "docker.io=" : "moby-engine-") + engine.version;
            // apt-get install's own output goes to stderr (its status lines, fd 3, to stdout).
            const std::string& printed = family == OsFamily::Debian ? r.err : r.out;
            CHECK(printed.ends_with("[" + pinned + "]" +
                                  (family == OsFamily::Debian ? "[apparmor][auditd][nftables]"
                                                              : "[audit][nftables][container-selinux]")));
            CHECK_FALSE(std::filesystem::exists(marker));
        }
    }
}

TEST_CASE("engine env: --engine-env reaches dockerd through a 0600 EnvironmentFile - the unit holds no value", "[injection]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    FakeDocker docker;
    auto req = request();
    const std::string secret = "http://user:p%40ss\"w$(id)`x`\\rd@proxy:3128";
    req.engine.env = {"HTTP_PROXY=" + secret, "NO_PROXY=localhost,%h"};
    req.engine.version = "20.10.24+dfsg1-1+deb12u1";
    ScriptedSession s;
    s.expect_run({"@os-release"}, {0, debian_facts("20.10.24+dfsg1-1+deb12u1"), ""}).expect_run({"install -d -m 0755"});
    auto mode = [](const std::string& path) -> unsigned {
        if (path == k_engine_env) return 0600;
        if (path == k_server_key_path) return 0400;
        if (path == k_ca_path || path == k_server_cert_path) return 0444;
        if (path == k_authz_binary) return 0755;
        return path == k_audit_rules ? 0640 : 0644;
    };
    for (const auto& path : managed_paths()) s.expect_upload(path, mode(path));
    s.expect_run({"systemctl daemon-reload", "systemctl restart docker"});
    auto report = Provisioner(s, *templates, docker).run(req);
    INFO((report ? std::string() : report.error().line()));
    REQUIRE(report);
    CHECK(s.failures().empty());
    CHECK(s.unused().empty());
    const std::string env = s.uploaded().at(k_engine_env);
    const std::string dropin = s.uploaded().at(k_dropin);
    auto r = run_sh(env + "\nprintf '%s|%s' \"$HTTP_PROXY\" \"$NO_PROXY\"\n");
    CHECK(r.out == secret + "|localhost,%h");
    CHECK(dropin.find("p%40ss") == std::string::npos);
    CHECK(dropin.find("Environment=") == std::string::npos);
    CHECK(dropin.find("\nEnvironmentFile=/etc/docker/berth-engine.env\n") != std::string::npos);
    for (const auto& script : s.scripts()) CHECK(script.find("p%40ss") == std::string::npos);
}

TEST_CASE("create refuses a hostile engine version or env before anything is made", "[injection][service]") {
    berth::test::TempDir dir;
    Store store{dir / "berth"};
    ProcessRunner runner;
    auto script = std::make_shared<berth::test::FakeDriverScript>();
    Ports ports = real_ports(store, runner);
    const std::vector<DriverInfo> table = {berth::test::fake_driver_info(script)};
    ports.drivers = table;
    MachineService service{ports};
    CreateRequest req;
    req.name = "n1";
    req.driver = "fake";
    SECTION("version") { req.engine.version = k_hostile_version; }
    SECTION("env newline") { req.engine.env = {"HTTP_PROXY=a\"\nExecStartPre=/bin/touch /tmp/x"}; }
    SECTION("env name") { req.engine.env = {"BAD NAME=1"}; }
    SECTION("apt proxy newline") { req.engine.apt_proxy = "http://proxy:3142\";\nAPT::Update::Pre-Invoke {\"id\"}"; }
    SECTION("apt proxy password") { req.engine.apt_proxy = "http://user:pass@proxy:3142"; }
    auto r = service.create(req);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::Usage);
    CHECK(r.error().message.starts_with("--engine-"));
    CHECK(script->calls.empty());
    CHECK_FALSE(std::filesystem::exists(store.machines_dir() / "n1"));
}
