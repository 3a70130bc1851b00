// Consistent output through the real binary: --json and -f/--format on status, inspect, ip, url,
// version, image ls and certs ls (--json with --format is a usage error everywhere), -q on every
// list verb.

#include <berth/process/runner.h>
#include <berth/store/atomic_file.h>

#include "berth_cli.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace berth;

namespace {

struct Berth : test::BerthCli {
    void create(const std::string& name, const std::string& url) {
        auto r = run({"create", "-d", "none", "--url", url, name});
        INFO(r.err);
        REQUIRE(r.exit_status == 0);
    }
    /// Runs berth, requires exit 0, parses stdout as JSON.
    nlohmann::json json(const std::vector<std::string>& args) {
        auto r = run(args);
        INFO(r.err);
        REQUIRE(r.exit_status == 0);
        return nlohmann::json::parse(r.out);
    }
    /// `--json --format X` and `-q --json` and the like: a usage error, nothing on stdout.
    void check_usage_error(const std::vector<std::string>& args, const std::string& what) {
        auto r = run(args);
        CAPTURE(args);
        CHECK(r.exit_status == 2);
        CHECK(r.out.empty());
        CHECK(r.err == "berth: error: " + what + " cannot be used together\n");
    }
};

std::vector<std::string> keys(const nlohmann::json& object) {
    std::vector<std::string> out;
    for (const auto& [key, value] : object.items()) out.push_back(key);
    return out;
}

}  // namespace

TEST_CASE("status - url - ip - inspect and version print --json objects and render --format", "[cli][output]") {
    Berth b;
    b.create("n1", "tcp://10.1.2.3:2376");
    b.create("n2", "tcp://10.1.2.4:2376");

    auto status = b.json({"status", "--json", "n1"});
    CHECK(status == nlohmann::json{{"Name", "n1"}, {"State", "Running"}});
    CHECK(b.run({"status", "--format", "{{.Name}}", "n1"}).out == "n1\n");
    CHECK(b.run({"status", "-f", "{{.Name}}: {{.State}}", "n1"}).out == "n1: Running\n");
    CHECK(b.run({"status", "n1"}).out == "Running\n");  // plain, as before

    CHECK(b.json({"url", "--json", "n1"}) == nlohmann::json{{"Name", "n1"}, {"URL", "tcp://10.1.2.3:2376"}});
    CHECK(b.run({"url", "--format", "{{.Name}}", "n1"}).out == "n1\n");
    CHECK(b.run({"url", "--format", "table {{.Name}}\\t{{.URL}}", "n1"}).out ==
          "NAME   URL\nn1     tcp://10.1.2.3:2376\n");

    // ip names several machines: an array, one object per machine, in the order given (as ls --json).
    auto ips = b.json({"ip", "--json", "n2", "n1"});
    CHECK(ips == nlohmann::json::array({{{"Name", "n2"}, {"IP", "10.1.2.4"}}, {{"Name", "n1"}, {"IP", "10.1.2.3"}}}));
    CHECK(b.json({"ip", "--json", "n1"}).is_array());
    CHECK(b.run({"ip", "--format", "{{.Name}}", "n1", "n2"}).out == "n1\nn2\n");
    CHECK(b.run({"ip", "-f", "{{.Name}}={{.IP}}", "n1", "n2"}).out == "n1=10.1.2.3\nn2=10.1.2.4\n");
    CHECK(b.run({"ip", "n1", "n2"}).out == "10.1.2.3\n10.1.2.4\n");

    // inspect: JSON by default and with --json, the same bytes.
    auto inspected = b.run({"inspect", "n1"});
    auto inspected_json = b.run({"inspect", "--json", "n1"});
    CHECK(inspected_json.exit_status == 0);
    CHECK(inspected_json.out == inspected.out);
    CHECK(nlohmann::json::parse(inspected_json.out)["name"] == "n1");
    CHECK(b.run({"inspect", "--format", "{{.Name}}", "n1"}).out == "n1\n");

    // version: berth's own (the client) without a machine; with one, also its Docker version.
    auto client = b.json({"version", "--json"});
    CHECK(keys(client) == std::vector<std::string>{"GitRevision", "Version"});
    CHECK(b.run({"version"}).out ==
          "berth version " + client["Version"].get<std::string>() + ", build " + client["GitRevision"].get<std::string>() + "\n");
    CHECK(b.run({"version", "--format", "{{.Version}}"}).out == client["Version"].get<std::string>() + "\n");
    auto unknown = b.json({"version", "--json", "n1"});
    CHECK(unknown == nlohmann::json{{"Name", "n1"}, {"Version", client["Version"]}, {"GitRevision", client["GitRevision"]},
                                    {"DockerVersion", ""}});
    CHECK(b.run({"version", "n1"}).exit_status == 1);  // plain: not known yet is an error, as before
    const auto record_path = b.store() / "machines" / "n1" / "machine.json";
    auto record = nlohmann::json::parse(read_file(record_path).value());
    record["engine"]["version"] = "20.10.24+dfsg1";
    test::write_text(record_path, record.dump(2));
    CHECK(b.json({"version", "--json", "n1"})["DockerVersion"] == "20.10.24+dfsg1");
    CHECK(b.run({"version", "--format", "{{.Name}} {{.DockerVersion}}", "n1"}).out == "n1 20.10.24+dfsg1\n");
    CHECK(b.run({"version", "n1"}).out == "20.10.24+dfsg1\n");

    // An unknown field is a usage error that names the fields there.
    auto bad = b.run({"status", "--format", "{{.Nope}}", "n1"});
    CHECK(bad.exit_status == 2);
    CHECK(bad.err.find("Nope") != std::string::npos);
}

TEST_CASE("output: --json with --format is a usage error on every verb that has both - -q with either too", "[cli][output]") {
    Berth b;
    b.create("n1", "tcp://10.1.2.3:2376");
    for (const std::vector<std::string>& verb : {std::vector<std::string>{"status", "n1"}, {"url", "n1"}, {"ip", "n1"},
                                                {"inspect", "n1"}, {"version"}, {"version", "n1"}, {"ls"},
                                                {"image", "ls"}, {"certs", "ls", "n1"}, {"audit", "n1"}}) {
        auto args = verb;
        args.insert(args.end(), {"--json", "--format", "{{.Name}}"});
        b.check_usage_error(args, "--json and --format");
    }
    for (const std::vector<std::string>& verb : {std::vector<std::string>{"ls"}, {"image", "ls"}, {"certs", "ls", "n1"}}) {
        auto json = verb;
        json.insert(json.end(), {"-q", "--json"});
        b.check_usage_error(json, "-q and --json");
        auto format = verb;
        format.insert(format.end(), {"-q", "--format", "{{.Name}}"});
        b.check_usage_error(format, "-q and --format");
    }
}

TEST_CASE("list verbs: -q prints names only - --json and --format over the same objects", "[cli][output]") {
    Berth b;
    b.create("n1", "tcp://10.1.2.3:2376");
    b.create("n2", "tcp://10.1.2.4:2376");
    CHECK(b.run({"ls", "-q"}).out == "n1\nn2\n");

    // certs ls: the users, each once (alice's first certificate is revoked by the second).
    for (const char* user : {"alice", "bob", "alice"})
        REQUIRE(b.run({"certs", "issue", "n1", "--user", user}).exit_status == 0);
    auto quiet = b.run({"certs", "ls", "-q", "n1"});
    CHECK(quiet.exit_status == 0);
    CHECK(quiet.out == "alice\nbob\n");
    CHECK(b.run({"certs", "ls", "n1", "--format", "{{.User}} {{.Revoked}}"}).out ==
          "alice true\nbob false\nalice false\n");
    auto certs = b.json({"certs", "ls", "n1", "--json"});
    REQUIRE(certs.size() == 3);
    CHECK(keys(certs[0]) == std::vector<std::string>{"IssuedAt", "NotAfter", "Revoked", "Role", "Serial", "User"});
    CHECK(b.run({"certs", "ls", "n1", "--format", "table {{.User}}\\t{{.Role}}"}).out.starts_with("USER    ROLE\n"));

    // image ls: the cached image's record.
    ProcessRunner runner;
    auto img = runner.run(Command{.argv = {"qemu-img", "create", "-q", "-f", "qcow2", (b.dir / "tiny.qcow2").string(), "1M"},
                                  .env_set = {}, .env_unset = {}, .stdin_data = {}, .cwd = {},
                                  .timeout = std::chrono::seconds(30)});
    REQUIRE(img);
    REQUIRE(img->exit_status == 0);
    auto pulled = b.run({"image", "pull", (b.dir / "tiny.qcow2").string(), "--name", "tiny"});
    INFO(pulled.err);
    REQUIRE(pulled.exit_status == 0);
    CHECK(b.run({"image", "ls", "-q"}).out == "tiny\n");
    CHECK(b.run({"image", "ls", "--format", "{{.Name}}"}).out == "tiny\n");
    CHECK(b.run({"image", "ls", "--format", "{{.Name}} {{.Format}}"}).out == "tiny qcow2\n");
    auto images = b.json({"image", "ls", "--json"});
    REQUIRE(images.size() == 1);
    for (const char* field : {"name", "source", "disk", "format", "size", "sha256", "pulled_at", "dir", "disk_path"})
        CHECK(images[0].contains(field));
    CHECK(b.run({"image", "ls", "--format", "table {{.Name}}\\t{{.Format}}"}).out == "NAME   FORMAT\ntiny   qcow2\n");
}
