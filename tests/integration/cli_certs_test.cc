// `berth certs`, `berth bundle`, `berth context` and `create --context` through the real binary on
// machines of the none driver (nothing to provision: the host policy updates are covered over a
// ScriptedSession in tests/unit/create_flow_test.cc): outputs, files, modes and exit codes.

#include <berth/core/digest.h>
#include <berth/store/atomic_file.h>

#include "berth_cli.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace berth;

namespace {

struct Berth : test::BerthCli {
    Berth() { env["DOCKER_CONFIG"] = (dir / "docker-config").string(); }
    void create(const std::string& name, std::vector<std::string> extra = {}) {
        std::vector<std::string> args = {"create", "-d", "none", "--url", "tcp://10.1.2.3:2376"};
        args.insert(args.end(), extra.begin(), extra.end());
        args.push_back(name);
        auto r = run(args);
        INFO(r.err);
        REQUIRE(r.exit_status == 0);
    }
    std::filesystem::path meta(const std::string& name) const {
        return dir / "docker-config" / "contexts" / "meta" / sha256_hex(name) / "meta.json";
    }
};

}  // namespace

TEST_CASE("cli: certs issue - ls - revoke, with their outputs and exit codes", "[cli][certs]") {
    Berth b;
    b.create("n1");
    auto issued = b.run({"certs", "issue", "n1", "--user", "alice", "--days", "30", "--role", "admin"});
    INFO(issued.err);
    REQUIRE(issued.exit_status == 0);
    CHECK(issued.out.starts_with("Issued a certificate for alice on n1: serial "));
    CHECK(issued.out.find("berth bundle n1 --user alice -o alice.tar.gz\n") != std::string::npos);
    CHECK(test::file_mode(b.store() / "machines" / "n1" / "users" / "alice" / "key.pem") == 0600);

    auto listed = b.run({"certs", "ls", "n1", "--json"});
    REQUIRE(listed.exit_status == 0);
    auto list = nlohmann::json::parse(listed.out);
    REQUIRE(list.size() == 1);
    CHECK(list[0]["User"] == "alice");
    CHECK(list[0]["Role"] == "admin");
    CHECK(list[0]["Revoked"] == false);
    CHECK(issued.out.find(list[0]["Serial"].get<std::string>()) != std::string::npos);
    auto table = b.run({"certs", "ls", "n1"});
    CHECK(table.out.starts_with("USER    ROLE         SERIAL"));
    CHECK(table.out.find("\nalice   admin        " + list[0]["Serial"].get<std::string>()) != std::string::npos);

    auto revoked = b.run({"certs", "revoke", "n1", "alice"});
    REQUIRE(revoked.exit_status == 0);
    CHECK(revoked.out == "Revoked the certificates of alice on n1\n");
    CHECK(nlohmann::json::parse(b.run({"certs", "ls", "n1", "--json"}).out)[0]["Revoked"] == true);

    // Usage errors (2) before anything is touched; what does not exist is an error (1).
    for (std::vector<std::string> args : {std::vector<std::string>{"certs", "issue", "n1", "--user", "-x"},
                                          {"certs", "issue", "n1", "--user", "a/b"},
                                          {"certs", "issue", "n1", "--user", "bob", "--role", "root"},
                                          {"certs", "issue", "n1", "--user", "bob", "--days", "0"},
                                          {"certs", "issue", "n1"},
                                          {"certs"}}) {
        auto r = b.run(args);
        INFO(r.err);
        CHECK(r.exit_status == 2);
    }
    CHECK(b.run({"certs", "issue", "ghost", "--user", "bob"}).exit_status == 1);
    CHECK(b.run({"certs", "revoke", "n1", "bob"}).exit_status == 1);
    CHECK(nlohmann::json::parse(b.run({"certs", "ls", "n1", "--json"}).out).size() == 1);
}

TEST_CASE("cli: bundle writes a .tar.gz 0600 for a user or the owner - never for a revoked user", "[cli][bundle]") {
    Berth b;
    b.create("n1");
    REQUIRE(b.run({"certs", "issue", "n1", "--user", "alice"}).exit_status == 0);
    const auto out = b.dir / "alice.tar.gz";
    auto r = b.run({"bundle", "n1", "--user", "alice", "-o", out.string()});
    INFO(r.err);
    REQUIRE(r.exit_status == 0);
    CHECK(test::file_mode(out) == 0600);
    Command tar;
    tar.argv = {"tar", "-tzf", out.string()};
    auto members = ProcessRunner().run(tar);
    REQUIRE(members);
    CHECK(members->out ==
          "n1-alice/\nn1-alice/README.txt\nn1-alice/ca.pem\nn1-alice/cert.pem\nn1-alice/key.pem\nn1-alice/env.sh\n"
          "n1-alice/env.fish\nn1-alice/env.csh\nn1-alice/env.ps1\nn1-alice/env.cmd\nn1-alice/env.el\n"
          "n1-alice/context.tar\n");
    CHECK(b.run({"bundle", "n1", "-o", (b.dir / "owner.tar.gz").string()}).exit_status == 0);
    CHECK(b.run({"bundle", "n1", "--user", "bob", "-o", (b.dir / "bob.tar.gz").string()}).exit_status == 1);
    CHECK(b.run({"bundle", "n1", "--user", "alice"}).exit_status == 2);  // -o is required
    REQUIRE(b.run({"certs", "revoke", "n1", "alice"}).exit_status == 0);
    auto refused = b.run({"bundle", "n1", "--user", "alice", "-o", (b.dir / "again.tar.gz").string()});
    CHECK(refused.exit_status == 1);
    CHECK(refused.err.find("has only revoked certificates") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(b.dir / "again.tar.gz"));
}

TEST_CASE("cli: create --context and context NAME write a docker context - rm removes only berth's", "[cli][context]") {
    Berth b;
    b.create("n1", {"--context"});
    REQUIRE(std::filesystem::exists(b.meta("n1")));
    CHECK(nlohmann::json::parse(*read_file(b.meta("n1")))["Metadata"]["Description"] == "berth machine n1");
    b.create("n2");
    CHECK_FALSE(std::filesystem::exists(b.meta("n2")));
    auto written = b.run({"context", "n2"});
    INFO(written.err);
    REQUIRE(written.exit_status == 0);
    CHECK(written.out.starts_with("Wrote the docker context n2 ("));
    REQUIRE(std::filesystem::exists(b.meta("n2")));
    CHECK(b.run({"context", "ghost"}).exit_status == 1);

    auto rm = b.run({"rm", "-y", "n1"});
    REQUIRE(rm.exit_status == 0);
    CHECK(rm.err.find("Removed the docker context n1") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(b.meta("n1")));
    // Someone else's context of the same name stays.
    test::write_text(b.meta("n2"), R"({"Name":"n2","Metadata":{"Description":"mine"}})");
    REQUIRE(b.run({"rm", "-y", "n2"}).exit_status == 0);
    CHECK(std::filesystem::exists(b.meta("n2")));
}
