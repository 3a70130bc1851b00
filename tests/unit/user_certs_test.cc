// Per-user certificates, bundles and docker contexts (user_certs.h) on machines of the none driver
// (nothing to provision): the certificate read back with OpenSSL and with berth-authz's own DER
// reader, the bundle unpacked by the system's tar, the env scripts run by the real shells, and
// the contexts read by the real docker CLI ([docker-cli]: skipped without one).

#include <berth/authz/peer_cert.h>
#include <berth/core/digest.h>
#include <berth/pki/pki.h>
#include <berth/process/runner.h>
#include <berth/service/driver_table.h>
#include <berth/service/real_ports.h>
#include <berth/service/user_certs.h>
#include <berth/shell/env_script.h>

#include "../fakes/fake_elf.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <set>

using namespace berth;
using berth::test::TempDir;
using berth::test::file_mode;

namespace {

CommandResult run(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
                  std::optional<std::string> cwd = std::nullopt) {
    Command c;
    c.argv = std::move(argv);
    c.env_set = std::move(env);
    c.cwd = std::move(cwd);
    c.timeout = std::chrono::seconds(60);
    ProcessRunner runner;
    auto r = runner.run(c);
    INFO(format_argv(c.argv));
    REQUIRE(r);
    return *r;
}

bool have(const std::string& program) { return run({"sh", "-c", "command -v \"$1\"", "sh", program}).exit_status == 0; }

struct Fixture {
    TempDir dir;
    Store store{dir / "berth"};
    ProcessRunner runner;
    std::map<std::string, std::string> env;
    std::vector<DriverInfo> table = {*find_driver("none").value()};
    MachineService service{ports()};
    UserCertService certs{service};

    Fixture() { env["DOCKER_CONFIG"] = (dir / "docker-config").string(); }

    Ports ports() {
        Ports p = real_ports(store, runner);
        p.env = [this](const std::string& k) -> std::optional<std::string> {
            auto it = env.find(k);
            if (it == env.end()) return std::nullopt;
            return it->second;
        };
        p.drivers = table;
        p.authz_binary = []() -> Result<std::string> { return test::fake_elf(); };
        return p;
    }

    void make(const std::string& name, const std::string& url = "tcp://10.1.2.3:2376") {
        CreateRequest r;
        r.name = name;
        r.driver = "none";
        r.driver_flags = {{"url", {url}}};
        REQUIRE(service.create(r));
    }
};

/// `tar -tvzf` of `file`: "mode path" per member ("-rw------- web1-alice/key.pem").
std::set<std::string> members(const std::filesystem::path& file, const std::string& flags = "-tvzf") {
    auto r = run({"tar", flags, file.string()});
    REQUIRE(r.exit_status == 0);
    std::set<std::string> out;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string mode, owner, size, date, time, path;
        words >> mode >> owner >> size >> date >> time >> path;
        out.insert(mode + " " + path);
    }
    return out;
}

}  // namespace

TEST_CASE("pki: a user certificate has the CN asked for, clientAuth, and the serial openssl and berth-authz read",
          "[pki][certs]") {
    for (auto type : {pki::KeyType::EcdsaP256, pki::KeyType::Rsa2048}) {
        pki::MachineCertRequest req;
        req.machine = "web1";
        req.key_type = type;
        req.validity.leaf_days = 10;
        auto machine = pki::make_machine_certs(req);
        REQUIRE(machine);
        for (int i = 0; i < 8; ++i) {
            auto alice = pki::issue_user_cert(machine->ca, req, "alice");
            REQUIRE(alice);
            auto info = pki::read_cert(alice->cert_pem);
            REQUIRE(info);
            CHECK(info->subject_cn == "alice");
            CHECK(info->issuer_cn == "berth CA for web1");
            CHECK_FALSE(info->is_ca);
            CHECK(info->not_after - info->not_before == std::chrono::hours(24 * 10) + std::chrono::minutes(5));
            CHECK(info->serial.size() >= 2);
            CHECK(info->serial.find_first_not_of("0123456789ABCDEF") == std::string::npos);
            CHECK(authz::pem_certificate_serial(alice->cert_pem) == info->serial);
            if (i == 0) {
                TempDir dir;
                test::write_text(dir / "c.pem", alice->cert_pem);
                auto text = run({"openssl", "x509", "-in", (dir / "c.pem").string(), "-noout", "-serial", "-ext",
                                 "extendedKeyUsage"});
                REQUIRE(text.exit_status == 0);
                CHECK(text.out.find("serial=" + info->serial + "\n") != std::string::npos);
                CHECK(text.out.find("TLS Web Client Authentication") != std::string::npos);
            }
        }
        CHECK_FALSE(pki::issue_user_cert(machine->ca, req, ""));
        CHECK_FALSE(pki::issue_user_cert(machine->ca, req, std::string(65, 'a')));
    }
}

TEST_CASE("certs: which user names berth takes", "[service][certs]") {
    for (const std::string& good : {std::string("alice"), std::string("a"), std::string("bob@example.org"),
                                    std::string("s.2026_x-1"), std::string(64, 'z')}) {
        INFO(good);
        CHECK(validate_user_cn(good));
    }
    for (const std::string& bad : {std::string(), std::string(65, 'a'), std::string("-alice"), std::string(".."),
                            std::string("../x"), std::string("a/b"), std::string("al ice"), std::string("a\nb"),
                            std::string("\"x\""), std::string("berth client for web1"), std::string("é")}) {
        INFO(bad);
        auto r = validate_user_cn(bad);
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::Usage);
    }
}

TEST_CASE("certs: issue, list and revoke on a machine berth does not provision", "[service][certs]") {
    Fixture f;
    f.make("n1");
    auto alice = f.certs.issue("n1", "alice", {});  // none driver: no host policy to update
    REQUIRE(alice);
    CHECK(alice->role == "restricted");
    auto record = f.store.load("n1");
    REQUIRE(record);
    CHECK(alice->not_after.starts_with(record->tls.client_not_after.substr(0, 4)));
    IssueOptions bad;
    bad.role = "root";
    CHECK(f.certs.issue("n1", "bob", bad).error().kind == ErrorKind::Usage);
    bad.role = "admin";
    bad.days = 826;
    CHECK(f.certs.issue("n1", "bob", bad).error().kind == ErrorKind::Usage);
    CHECK(f.certs.issue("n1", "../../x", {}).error().kind == ErrorKind::Usage);
    auto listed = f.certs.list("n1");
    REQUIRE(listed);
    REQUIRE(listed->size() == 1);
    CHECK(listed->at(0).serial == alice->serial);
    REQUIRE(f.certs.revoke("n1", "alice", {}));
    listed = f.certs.list("n1");
    CHECK(listed->at(0).revoked);
    CHECK_FALSE(f.certs.list("ghost"));
}

TEST_CASE("bundle: exactly the files one person needs - modes - no CA key - written 0600", "[service][bundle]") {
    Fixture f;
    f.make("web1");
    REQUIRE(f.certs.issue("web1", "alice", {}));
    const auto out = f.dir / "alice.tar.gz";
    REQUIRE(write_bundle(f.service, "web1", "alice", out));
    CHECK(file_mode(out) == 0600);
    CHECK(members(out) == std::set<std::string>{
                              "drwx------ web1-alice/", "-rw-r--r-- web1-alice/README.txt", "-rw-r--r-- web1-alice/ca.pem",
                              "-rw-r--r-- web1-alice/cert.pem", "-rw------- web1-alice/key.pem",
                              "-rw-r--r-- web1-alice/env.sh", "-rw-r--r-- web1-alice/env.fish",
                              "-rw-r--r-- web1-alice/env.csh", "-rw-r--r-- web1-alice/env.ps1",
                              "-rw-r--r-- web1-alice/env.cmd", "-rw-r--r-- web1-alice/env.el",
                              "-rw------- web1-alice/context.tar"});
    const auto unpacked = f.dir / "unpacked";
    std::filesystem::create_directories(unpacked);
    REQUIRE(run({"tar", "-xzf", out.string(), "-C", unpacked.string()}).exit_status == 0);
    const auto b = unpacked / "web1-alice";
    const auto user_dir = user_cert_dir(f.store, "web1", "alice");
    CHECK(*read_file(b / "key.pem") == *read_file(user_dir / "key.pem"));
    CHECK(*read_file(b / "cert.pem") == *read_file(user_dir / "cert.pem"));
    CHECK(*read_file(b / "ca.pem") == *read_file(f.store.machine_file("web1", k_ca_cert_file)));
    // No private key but the user's: not the CA's, not the server's, not the owner's.
    auto all = run({"sh", "-c", "cat \"$1\"/* && tar -xOf \"$1\"/context.tar", "sh", b.string()});
    REQUIRE(all.exit_status == 0);
    for (const char* secret : {k_ca_key_file, k_server_key_file, k_client_key_file}) {
        const auto key = *read_file(f.store.machine_file("web1", secret));
        CHECK(all.out.find(key) == std::string::npos);
    }
    CHECK(members(b / "context.tar", "-tvf") ==
          std::set<std::string>{"-rw-r--r-- meta.json", "drwx------ tls/", "drwx------ tls/docker/",
                                "-rw------- tls/docker/ca.pem", "-rw------- tls/docker/cert.pem",
                                "-rw------- tls/docker/key.pem"});

    // The owner's bundle; a revoked or unknown user has none.
    REQUIRE(write_bundle(f.service, "web1", "", f.dir / "owner.tar.gz"));
    CHECK(members(f.dir / "owner.tar.gz").contains("-rw------- web1/key.pem"));
    REQUIRE(f.certs.revoke("web1", "alice", {}));
    auto revoked = write_bundle(f.service, "web1", "alice", f.dir / "again.tar.gz");
    REQUIRE_FALSE(revoked);
    CHECK(revoked.error().message.find("only revoked") != std::string::npos);
    CHECK_FALSE(write_bundle(f.service, "web1", "bob", f.dir / "bob.tar.gz"));
    CHECK_FALSE(std::filesystem::exists(f.dir / "bob.tar.gz"));
}

TEST_CASE("bundle: each env script points DOCKER_CERT_PATH at wherever the bundle was unpacked", "[service][bundle]") {
    Fixture f;
    f.make("web1", "tcp://10.1.2.3:2376");
    REQUIRE(f.certs.issue("web1", "alice", {}));
    REQUIRE(write_bundle(f.service, "web1", "alice", f.dir / "b.tar.gz"));
    const auto place = f.dir / "some where" / "it's";  // a space and a quote in the path
    std::filesystem::create_directories(place);
    REQUIRE(run({"tar", "-xzf", (f.dir / "b.tar.gz").string(), "-C", place.string()}).exit_status == 0);
    const std::string bundle = std::filesystem::canonical(place / "web1-alice").string();
    const std::string print = "echo \"$DOCKER_HOST|$DOCKER_TLS_VERIFY|$DOCKER_CERT_PATH|$DOCKER_MACHINE_NAME\"";
    const std::string want = "tcp://10.1.2.3:2376|1|" + bundle + "|web1\n";
    int shells = 0;
    for (auto [shell, script] : std::vector<std::pair<std::string, std::string>>{
             {"bash", ". \"$1/env.sh\"; " + print}, {"zsh", ". \"$1/env.sh\"; " + print},
             {"dash", "cd \"$1\" && . ./env.sh && cd / && " + print}}) {
        if (!have(shell)) continue;
        INFO(shell);
        auto r = run({shell, "-c", script, shell, bundle}, {}, "/");
        CHECK(r.err == "");
        CHECK(r.out == want);
        ++shells;
    }
    if (have("fish")) {
        auto r = run({"fish", "-c", "source $argv[1]/env.fish; " + print, bundle}, {}, "/");
        CHECK(r.out == want);
        ++shells;
    }
    if (have("tcsh")) {
        // A sourced csh script cannot know its path: env.csh takes the current directory.
        auto r = run({"tcsh", "-c", "source ./env.csh; cd /; " + print}, {}, bundle);
        CHECK(r.out == want);
        ++shells;
    }
    CHECK(shells >= 3);
    const auto ps1 = *read_file(std::filesystem::path(bundle) / "env.ps1");
    CHECK(ps1.find("$Env:DOCKER_HOST = \"tcp://10.1.2.3:2376\"\n") != std::string::npos);
    CHECK(ps1.find("$Env:DOCKER_CERT_PATH = $PSScriptRoot\n") != std::string::npos);
    const auto cmd = *read_file(std::filesystem::path(bundle) / "env.cmd");
    CHECK(cmd.find("SET \"DOCKER_CERT_PATH=%~dp0\"\n") != std::string::npos);
}

TEST_CASE("docker context: written where the docker CLI keeps them - removed only when berth wrote it", "[service][context]") {
    Fixture f;
    f.make("web1", "tcp://10.1.2.3:2376");
    auto written = write_docker_context(f.service, "web1");
    REQUIRE(written);
    const auto contexts = f.dir / "docker-config" / "contexts";
    const std::string id = sha256_hex("web1");
    CHECK(*written == contexts / "meta" / id);
    auto meta = nlohmann::json::parse(*read_file(contexts / "meta" / id / "meta.json"));
    CHECK(meta == nlohmann::json::parse(R"({"Name":"web1","Metadata":{"Description":"berth machine web1"},
        "Endpoints":{"docker":{"Host":"tcp://10.1.2.3:2376","SkipTLSVerify":false}}})"));
    for (const char* file : {"ca.pem", "cert.pem", "key.pem"}) {
        CHECK(file_mode(contexts / "tls" / id / "docker" / file) == 0600);
        CHECK(*read_file(contexts / "tls" / id / "docker" / file) == *read_file(f.store.machine_file("web1", file)));
    }
    CHECK(file_mode(contexts / "tls" / id / "docker") == 0700);
    REQUIRE(write_docker_context(f.service, "web1"));  // again: replaced

    auto env = f.ports().env;
    CHECK(remove_docker_context("web1", env) == true);
    CHECK_FALSE(std::filesystem::exists(contexts / "meta" / id));
    CHECK_FALSE(std::filesystem::exists(contexts / "tls" / id));
    CHECK(remove_docker_context("web1", env) == false);

    // A context of that name berth did not write is neither overwritten nor removed.
    test::write_text(contexts / "meta" / id / "meta.json",
                     R"({"Name":"web1","Metadata":{"Description":"mine"},"Endpoints":{"docker":{"Host":"tcp://x:1"}}})");
    auto clash = write_docker_context(f.service, "web1");
    REQUIRE_FALSE(clash);
    CHECK(clash.error().kind == ErrorKind::Conflict);
    CHECK(remove_docker_context("web1", env) == false);
    CHECK(std::filesystem::exists(contexts / "meta" / id / "meta.json"));

    f.env.erase("DOCKER_CONFIG");
    f.env["HOME"] = (f.dir / "home").string();
    CHECK(*docker_contexts_dir(f.ports().env) == f.dir / "home" / ".docker" / "contexts");
}

TEST_CASE("docker context: the docker CLI lists, inspects and imports what berth writes", "[service][context][docker-cli]") {
    if (!have("docker")) {
        WARN("skipped: no docker CLI on PATH");
        return;
    }
    Fixture f;
    f.make("web1", "tcp://10.1.2.3:2376");
    REQUIRE(write_docker_context(f.service, "web1"));
    const std::map<std::string, std::string> env = {{"DOCKER_CONFIG", f.env["DOCKER_CONFIG"]}};
    auto ls = run({"docker", "context", "ls", "--format", "{{.Name}}|{{.Description}}|{{.DockerEndpoint}}"}, env);
    INFO(ls.err);
    REQUIRE(ls.exit_status == 0);
    CHECK(ls.out.find("web1|berth machine web1|tcp://10.1.2.3:2376\n") != std::string::npos);
    auto inspect = run({"docker", "context", "inspect", "web1"}, env);
    REQUIRE(inspect.exit_status == 0);
    auto j = nlohmann::json::parse(inspect.out);
    CHECK(j[0]["Endpoints"]["docker"]["Host"] == "tcp://10.1.2.3:2376");
    CHECK(j[0]["TLSMaterial"]["docker"] == nlohmann::json::parse(R"(["ca.pem","cert.pem","key.pem"])"));

    // The bundle's context file imports under any name, with its TLS files.
    REQUIRE(f.certs.issue("web1", "alice", {}));
    REQUIRE(write_bundle(f.service, "web1", "alice", f.dir / "b.tar.gz"));
    REQUIRE(run({"tar", "-xzf", (f.dir / "b.tar.gz").string(), "-C", f.dir.path().string()}).exit_status == 0);
    auto imported = run({"docker", "context", "import", "alice-web1", (f.dir / "web1-alice" / "context.tar").string()}, env);
    INFO(imported.err);
    REQUIRE(imported.exit_status == 0);
    auto tls = f.dir / "docker-config" / "contexts" / "tls" / sha256_hex("alice-web1") / "docker";
    CHECK(*read_file(tls / "cert.pem") == *read_file(user_cert_dir(f.store, "web1", "alice") / "cert.pem"));
    auto again = run({"docker", "context", "inspect", "alice-web1"}, env);
    REQUIRE(again.exit_status == 0);
    CHECK(nlohmann::json::parse(again.out)[0]["Endpoints"]["docker"]["Host"] == "tcp://10.1.2.3:2376");

    CHECK(remove_docker_context("web1", f.ports().env) == true);
    auto gone = run({"docker", "context", "ls", "--format", "{{.Name}}"}, env);
    CHECK(("\n" + gone.out).find("\nweb1\n") == std::string::npos);
    CHECK(("\n" + gone.out).find("\nalice-web1\n") != std::string::npos);
}
