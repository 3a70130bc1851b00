// The fleet spec (docs/fleet.md) read through the real driver table and create's real validator
// (MachineService::validate_create): errors with their exact FILE:LINE:COLUMN, suggestions,
// merging, patterns, the users CSV, and hostile values refused.
#include <berth/core/csv.h>
#include <berth/service/driver_table.h>
#include <berth/service/fleet_spec.h>
#include <berth/service/real_ports.h>

#include "../fakes/fake_elf.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace berth;
using berth::test::TempDir;
using berth::test::write_text;

namespace {

struct Fixture {
    TempDir dir;
    Store store{dir / "berth"};
    ProcessRunner runner;
    MachineService service{ports()};
    CreateValidator validate = [this](const CreateRequest& r) { return service.validate_create(r); };

    Ports ports() {
        Ports p = real_ports(store, runner);
        p.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
        p.drivers = driver_table();
        p.authz_binary = []() -> Result<std::string> { return test::fake_elf(); };
        return p;
    }
    std::filesystem::path spec_path() const { return dir / "fleet.yaml"; }
    Result<FleetSpec> parse(const std::string& text) const {
        return parse_fleet_spec(text, spec_path(), driver_table(), validate);
    }
    /// The error's message, with the spec's directory cut off the place.
    std::string error_of(const std::string& text) const {
        auto spec = parse(text);
        if (spec) return "(parsed)";
        std::string m = spec.error().message;
        const std::string prefix = dir.path().string() + "/";
        for (auto at = m.find(prefix); at != std::string::npos; at = m.find(prefix)) m.erase(at, prefix.size());
        return m;
    }
};

const std::string k_head = "version: 1\nfleet: lab\n";

std::vector<std::string> names_of(const FleetSpec& spec) {
    std::vector<std::string> out;
    for (const auto& m : spec.machines) out.push_back(m.name);
    return out;
}

}  // namespace

TEST_CASE("a spec of none machines gives one CreateRequest per name", "[fleet]") {
    Fixture f;
    auto spec = f.parse(k_head +
                        "parallel: 3\n"
                        "defaults:\n  driver: none\n  url: tcp://192.0.2.1:2376\n"
                        "groups:\n"
                        "  - name: web\n    names: [web-1, web-2]\n"
                        "    machines:\n      web-2: {url: \"tcp://192.0.2.2:2376\"}\n");
    REQUIRE(spec);
    CHECK(spec->fleet == "lab");
    CHECK(spec->parallel == 3);
    REQUIRE(names_of(*spec) == std::vector<std::string>{"web-1", "web-2"});
    CHECK(spec->machines[0].request.driver == "none");
    CHECK(spec->machines[0].request.driver_flags.at("url") == std::vector<std::string>{"tcp://192.0.2.1:2376"});
    CHECK(spec->machines[1].request.driver_flags.at("url") == std::vector<std::string>{"tcp://192.0.2.2:2376"});
    CHECK(spec->machines[1].group == "web");
    CHECK(spec->machines[1].mark.str() == f.spec_path().string() + ":9:20");
}

TEST_CASE("parse errors name the exact line and column", "[fleet]") {
    Fixture f;
    const std::string groups = "groups:\n  - name: g\n    names: [a]\n";
    CHECK(f.error_of(k_head + "defaults:\n  driver: libvirt\n  cpu-count: 2\n" + groups) ==
          "fleet.yaml:5:3: unknown key \"cpu-count\" (did you mean \"libvirt-cpu-count\"?)");
    CHECK(f.error_of(k_head + "defaults:\n  driver: libvirt\n  libvirt-memroy: 2048\n" + groups) ==
          "fleet.yaml:5:3: unknown key \"libvirt-memroy\" (did you mean \"libvirt-memory\"?)");
    CHECK(f.error_of(k_head + "grups:\n  - name: g\n") == "fleet.yaml:3:1: unknown key \"grups\" (did you mean \"groups\"?)");
    CHECK(f.error_of(k_head + "defaults:\n  driver: libvirt\n  libvirt-memory: lots\n" + groups) ==
          "fleet.yaml:5:19: libvirt-memory: \"lots\" is not a whole number of at least 0");
    CHECK(f.error_of(k_head + "defaults:\n  driver: none\n  tls-key-type: [a, b]\n" + groups) ==
          "fleet.yaml:5:17: tls-key-type: needs a single value, not a list or a map");
    CHECK(f.error_of(k_head + "defaults:\n  context: maybe\n" + groups) ==
          "fleet.yaml:4:12: context: \"maybe\" is not true or false");
    CHECK(f.error_of("version: 2\nfleet: lab\n" + groups) == "fleet.yaml:1:10: version 2 is not known");
    CHECK(f.error_of("fleet: lab\n" + groups) == "fleet.yaml:1:1: no version key");
    CHECK(f.error_of("version: 1\nfleet: \"lab;rm\"\n" + groups).starts_with("fleet.yaml:2:8: fleet: invalid machine name"));
    CHECK(f.error_of(k_head + "groups:\n  - name: g\n    names: [a\n").starts_with("fleet.yaml:6:1: not valid YAML"));
    CHECK(f.error_of(k_head + "groups:\n  - name: g\n    naems: [a]\n") ==
          "fleet.yaml:5:5: unknown key \"naems\" (did you mean \"names\"?)");
    CHECK(f.error_of(k_head + "groups:\n  - name: g\n    names: [a]\n    machines:\n      b: {}\n") ==
          "fleet.yaml:7:7: machines: \"b\" is not a machine of group g (did you mean \"a\"?)");
}

TEST_CASE("a value create would refuse is refused at the machine's place", "[fleet]") {
    Fixture f;
    // create's own validator: a certificate that outlives its CA.
    CHECK(f.error_of(k_head + "defaults: {driver: none, url: \"tcp://192.0.2.1:2376\", tls-cert-days: 900}\n"
                              "groups:\n  - name: g\n    names: [a]\n") ==
          "fleet.yaml:6:13: machine \"a\": --tls-cert-days 900 is more than 825 days");
    // The driver's own check of its option (configure).
    CHECK(f.error_of(k_head + "defaults: {driver: libvirt, libvirt-memory: 1}\ngroups:\n  - name: g\n    names: [a]\n")
              .starts_with("fleet.yaml:6:13: machine \"a\": "));
    CHECK(f.error_of(k_head + "defaults: {driver: none, libvirt-memory: 4096}\ngroups:\n  - name: g\n    names: [a]\n") ==
          "fleet.yaml:3:42: libvirt-memory belongs to driver libvirt, but machine \"a\" has driver none");
    CHECK(f.error_of(k_head + "groups:\n  - name: g\n    names: [a]\n") == "fleet.yaml:5:13: machine \"a\" has no driver");
    CHECK(f.error_of(k_head + "defaults: {driver: nope}\ngroups:\n  - name: g\n    names: [a]\n")
              .starts_with("fleet.yaml:6:13: machine \"a\": unknown driver \"nope\""));
    CHECK(f.error_of(k_head + "defaults: {driver: none}\ngroups:\n  - name: g\n    names: [a]\n")
              .starts_with("fleet.yaml:6:13: machine \"a\": "));  // none needs its url
}

TEST_CASE("engine-apt-proxy: a spec key like create's flag - a bad URL is refused at the value's place", "[fleet][apt-proxy]") {
    Fixture f;
    auto spec = f.parse(k_head +
                        "defaults: {driver: none, url: \"tcp://192.0.2.1:2376\", engine-apt-proxy: \"http://10.0.0.2:3142\"}\n"
                        "groups:\n  - name: g\n    names: [a, b]\n"
                        "    machines:\n      b: {engine-apt-proxy: \"https://[fd00::2]:3128/acng\"}\n");
    REQUIRE(spec);
    CHECK(spec->machines[0].request.engine.apt_proxy == "http://10.0.0.2:3142");
    CHECK(spec->machines[1].request.engine.apt_proxy == "https://[fd00::2]:3128/acng");
    const std::string groups = "groups:\n  - name: g\n    names: [a]\n";
    CHECK(f.error_of(k_head + "defaults:\n  driver: none\n  engine-apt-proxy: ftp://mirror\n" + groups) ==
          "fleet.yaml:5:21: engine-apt-proxy: \"ftp://mirror\" is not an http:// or https:// URL");
    CHECK(f.error_of(k_head + "defaults:\n  driver: none\n  engine-apt-proxy: [\"http://a:1\"]\n" + groups) ==
          "fleet.yaml:5:21: engine-apt-proxy: needs a single value, not a list or a map");
    const std::string secret = f.error_of(k_head + "defaults:\n  driver: none\n  engine-apt-proxy: http://u:s3cret@proxy:3142\n" + groups);
    CHECK(secret.starts_with("fleet.yaml:5:21: engine-apt-proxy: the URL has a user name or password"));
    CHECK(secret.find("s3cret") == std::string::npos);
    CHECK(f.error_of(k_head + "defaults:\n  driver: none\n  engine-apt-proxy: \"http://p:3142\\\";\\nAPT::X \\\"y\"\n" + groups) ==
          "fleet.yaml:5:21: engine-apt-proxy: \"http://p:3142\\\";\\nAPT::X \\\"y\" has a quote (\"), which a proxy URL may not hold");
    CHECK(f.error_of(k_head + "defaults:\n  driver: none\n  engine-apt-prxy: http://p\n" + groups) ==
          "fleet.yaml:5:3: unknown key \"engine-apt-prxy\" (did you mean \"engine-apt-proxy\"?)");
}

TEST_CASE("settings merge defaults - then the group - then the machine - a list replaces the one above", "[fleet]") {
    Fixture f;
    auto spec = f.parse(k_head +
                        "defaults:\n"
                        "  driver: libvirt\n  libvirt-memory: 1024\n  engine-opt: [log-level=warn]\n"
                        "  engine-label: team=a\n  context: true\n  templates-dir: tpl\n"
                        "groups:\n"
                        "  - name: big\n    names: [b1, b2]\n    engine-opt: [log-level=info, max-concurrent-downloads=2]\n"
                        "    machines:\n      b2: {libvirt-memory: 4096, context: false}\n");
    REQUIRE_FALSE(spec);  // no such templates dir (relative to the spec): create's own check
    CHECK(spec.error().message.find("machine \"b1\"") != std::string::npos);

    auto ok = f.parse(k_head +
                      "defaults:\n"
                      "  driver: libvirt\n  libvirt-memory: 1024\n  engine-opt: [log-level=warn]\n"
                      "  engine-label: team=a\n  context: true\n"
                      "groups:\n"
                      "  - name: big\n    names: [b1, b2]\n    engine-opt: [log-level=info, max-concurrent-downloads=2]\n"
                      "    machines:\n      b2: {libvirt-memory: 4096, context: false}\n");
    REQUIRE(ok);
    const auto& b1 = ok->machines[0];
    const auto& b2 = ok->machines[1];
    CHECK(b1.request.driver_flags.at("memory") == std::vector<std::string>{"1024"});
    CHECK(b2.request.driver_flags.at("memory") == std::vector<std::string>{"4096"});
    CHECK(b1.request.engine.opts == std::vector<std::string>{"log-level=info", "max-concurrent-downloads=2"});
    CHECK(b1.request.engine.labels == std::vector<std::string>{"team=a"});  // one value: a list of one
    CHECK(b1.context);
    CHECK_FALSE(b2.context);
    CHECK(b1.user.empty());
}

TEST_CASE("relative paths are relative to the spec file", "[fleet]") {
    Fixture f;
    write_text(f.dir / "policy.yaml", "version: 1\n");
    auto spec = f.parse(k_head + "bundles-dir: out\ndefaults: {driver: none, url: \"tcp://192.0.2.1:2376\"}\n"
                                 "groups:\n  - name: g\n    names: [a]\n");
    REQUIRE(spec);
    CHECK(spec->bundles_dir == f.dir / "out");
}

TEST_CASE("count and pattern name machines from a range - zero-padded as written", "[fleet]") {
    Fixture f;
    const std::string defaults = "defaults: {driver: libvirt}\n";
    auto spec = f.parse(k_head + defaults + "groups:\n  - name: s\n    count: 3\n    pattern: \"student-{01..03}\"\n");
    REQUIRE(spec);
    CHECK(names_of(*spec) == std::vector<std::string>{"student-01", "student-02", "student-03"});
    auto unpadded = f.parse(k_head + defaults + "groups:\n  - name: s\n    pattern: \"n{8..10}.lab\"\n");
    REQUIRE(unpadded);
    CHECK(names_of(*unpadded) == std::vector<std::string>{"n8.lab", "n9.lab", "n10.lab"});
    CHECK(f.error_of(k_head + defaults + "groups:\n  - name: s\n    count: 4\n    pattern: \"s-{1..3}\"\n") ==
          "fleet.yaml:6:12: count: 4 but the pattern's range {1..3} makes 3");
    CHECK(f.error_of(k_head + defaults + "groups:\n  - name: s\n    count: 4\n    pattern: \"s-n\"\n")
              .starts_with("fleet.yaml:7:14: pattern \"s-n\" needs one range {FIRST..LAST}"));
    CHECK(f.error_of(k_head + defaults + "groups:\n  - name: s\n    pattern: \"s-{3..1}\"\n")
              .starts_with("fleet.yaml:6:14: pattern \"s-{3..1}\" needs one range"));
    CHECK(f.error_of(k_head + defaults + "groups:\n  - name: s\n    count: 2\n")
              .starts_with("fleet.yaml:5:5: count: needs a pattern:"));
    CHECK(f.error_of(k_head + defaults + "groups:\n  - name: s\n    names: [a]\n    count: 1\n    pattern: \"a{1..1}\"\n")
              .starts_with("fleet.yaml:5:5: a group names its machines by exactly one of"));
}

TEST_CASE("a name given twice is an error naming both places", "[fleet]") {
    Fixture f;
    CHECK(f.error_of(k_head + "defaults: {driver: libvirt}\ngroups:\n"
                              "  - name: a\n    pattern: \"n-{1..3}\"\n"
                              "  - name: b\n    names: [x, n-2]\n") ==
          "fleet.yaml:8:16: machine \"n-2\" is named twice (first at fleet.yaml:6:14)");
    CHECK(f.error_of(k_head + "defaults: {driver: libvirt}\ngroups:\n  - name: a\n    names: [x]\n  - name: a\n    names: [y]\n") ==
          "fleet.yaml:7:11: a second group named \"a\"");
}

TEST_CASE("hostile names are refused before anything else", "[fleet]") {
    Fixture f;
    for (const std::string bad : {"\"a;rm -rf /\"", "\"$(id)\"", "\"a b\"", "\"../x\"", "\"-x\"", "\"a`id`\""}) {
        INFO(bad);
        CHECK(f.error_of(k_head + "defaults: {driver: libvirt}\ngroups:\n  - name: g\n    names: [" + bad + "]\n")
                  .starts_with("fleet.yaml:6:13: "));
    }
    CHECK(f.error_of(k_head + "defaults: {driver: libvirt}\ngroups:\n  - name: g\n    pattern: \"a;b{1..2}\"\n")
              .starts_with("fleet.yaml:6:14: invalid machine name \"a;b1\""));
    // A label with a placeholder that is not a field (no users: here) is an error, not a literal.
    CHECK(f.error_of(k_head + "defaults: {driver: libvirt}\ngroups:\n  - name: g\n    names: [a]\n"
                              "    engine-label: [\"x={nope}\"]\n")
              == "fleet.yaml:7:19: \"x={nope}\": no field {nope}");
}

TEST_CASE("users: one machine per CSV row - its fields in the pattern and the labels", "[fleet]") {
    Fixture f;
    // BOM, CRLF, quotes with a comma and a doubled quote, an empty line.
    write_text(f.dir / "class.csv",
               "\xEF\xBB\xBFuser,full name,team\r\n"
               "alice,\"Liddell, Alice\",red\r\n"
               "\r\n"
               "bob,\"Bob \"\"the builder\"\"\",blue\r\n");
    auto spec = f.parse(k_head + "defaults: {driver: libvirt}\ngroups:\n"
                                 "  - name: students\n    users: class.csv\n    pattern: \"{user}-{team}\"\n"
                                 "    user-role: admin\n"
                                 "    engine-label: [\"student={user}\", \"machine={name}\", \"brace={{x}}\"]\n");
    REQUIRE(spec);
    REQUIRE(names_of(*spec) == std::vector<std::string>{"alice-red", "bob-blue"});
    const auto& bob = spec->machines[1];
    CHECK(bob.user == "bob");
    CHECK(bob.user_role == "admin");
    CHECK(bob.fields.at("full name") == "Bob \"the builder\"");
    CHECK(bob.request.engine.labels ==
          std::vector<std::string>{"student=bob", "machine=bob-blue", "brace={x}"});
    CHECK(bob.mark.str() == (f.dir / "class.csv").string() + ":4");
    CHECK(spec->machines[0].fields.at("full name") == "Liddell, Alice");
}

TEST_CASE("a bad users CSV names the file and line", "[fleet]") {
    Fixture f;
    const std::string group = "defaults: {driver: libvirt}\ngroups:\n  - name: s\n    users: c.csv\n";
    write_text(f.dir / "c.csv", "user,team\nalice,red\nbob\n");
    CHECK(f.error_of(k_head + group) == "c.csv:3: the row has 1 fields, the header 2");
    write_text(f.dir / "c.csv", "login,team\nalice,red\n");
    CHECK(f.error_of(k_head + group) == "fleet.yaml:6:12: c.csv has no column \"user\"");
    CHECK(f.error_of(k_head + group + "    user-field: login\n") == "(parsed)");
    write_text(f.dir / "c.csv", "user\nalice\n\"bob$(id)\"\n");
    CHECK(f.error_of(k_head + group).starts_with("c.csv:3: user \"bob$(id)\" (column user) is not a valid name"));
    write_text(f.dir / "c.csv", "user,team\nalice,\"a;b\"\n");
    CHECK(f.error_of(k_head + group + "    pattern: \"{user}-{team}\"\n")
              .starts_with("c.csv:2: invalid machine name \"alice-a;b\""));
    write_text(f.dir / "c.csv", "user,note\nalice,\"two\nlines\"\n");
    CHECK(f.error_of(k_head + group) == "c.csv:2: column \"note\" holds a control character");
    write_text(f.dir / "c.csv", "user\n\"alice\n");
    CHECK(f.error_of(k_head + group).starts_with("c.csv:2: a quoted field is not closed"));
    write_text(f.dir / "c.csv", "user\n");
    CHECK(f.error_of(k_head + group) == "fleet.yaml:6:12: c.csv has a header but no rows");
    std::filesystem::remove(f.dir / "c.csv");
    CHECK(f.error_of(k_head + group).starts_with("fleet.yaml:6:12: cannot read the users file"));
    CHECK(f.error_of(k_head + group + "    count: 2\n").starts_with("fleet.yaml:7:12: count: does not go with users:"));
}

TEST_CASE("parse_csv reads RFC 4180 and keeps each row's line", "[fleet][csv]") {
    auto rows = parse_csv("a,b\n\"x,1\",\"y\ny\"\n\n,\nlast,\"\"\"q\"\"\"", "t.csv");
    REQUIRE(rows);
    REQUIRE(rows->size() == 4);
    CHECK((*rows)[0].fields == std::vector<std::string>{"a", "b"});
    CHECK((*rows)[1].fields == std::vector<std::string>{"x,1", "y\ny"});
    CHECK((*rows)[1].line == 2);
    CHECK((*rows)[2].fields == std::vector<std::string>{"", ""});
    CHECK((*rows)[2].line == 5);
    CHECK((*rows)[3].fields == std::vector<std::string>{"last", "\"q\""});
    CHECK(parse_csv("a\"b\n", "t.csv").error().message == "t.csv:1: a quote inside a field that does not start with one");
    CHECK(parse_csv("\"a\"b\n", "t.csv").error().message == "t.csv:1: text after the closing quote of a field");
    CHECK(parse_csv("x\n\"a\n\nb", "t.csv").error().message == "t.csv:2: a quoted field is not closed");
    CHECK(parse_csv("", "t.csv")->empty());
    CHECK(parse_csv("a\rb\n", "t.csv")->front().fields == std::vector<std::string>{"a\rb"});
}

TEST_CASE("did_you_mean suggests a near key - or a driver's option written without its driver", "[fleet]") {
    const std::vector<std::string> keys = {"groups", "libvirt-cpu-count", "virtualbox-cpu-count", "engine-opt"};
    CHECK(did_you_mean("grups", keys) == "groups");
    CHECK(did_you_mean("engine-opts", keys) == "engine-opt");
    CHECK(did_you_mean("cpu-count", keys) == "libvirt-cpu-count");
    CHECK(did_you_mean("zzzzzz", keys).empty());
    CHECK(did_you_mean("", keys).empty());
}

TEST_CASE("every example in examples/fleet parses", "[fleet][examples]") {
    Fixture f;
    const auto examples = std::filesystem::path(BERTH_TESTS_DIR) / ".." / "examples" / "fleet";
    int specs = 0;
    for (const auto& entry : std::filesystem::directory_iterator(examples)) {
        if (entry.path().extension() != ".yaml") continue;
        INFO(entry.path());
        auto spec = load_fleet_spec(entry.path(), driver_table(), f.validate);
        if (!spec) FAIL(spec.error().line());
        CHECK_FALSE(spec->machines.empty());
        ++specs;
    }
    CHECK(specs >= 3);
    auto none = load_fleet_spec(examples / "none.yaml", driver_table(), f.validate);
    REQUIRE(none);
    CHECK(none->fleet == "example");
    CHECK(none->machines.size() == 5);
    auto course = load_fleet_spec(examples / "course.yaml", driver_table(), f.validate);
    REQUIRE(course);
    CHECK(course->machines.size() == 31);  // 30 students and the staff machine
    CHECK(std::count_if(course->machines.begin(), course->machines.end(), [](const auto& m) { return !m.user.empty(); }) == 30);
    auto swarm = load_fleet_spec(examples / "swarm.yaml", driver_table(), f.validate);
    REQUIRE(swarm);
    REQUIRE(swarm->swarm);
    CHECK(swarm->swarm->managers == std::vector<std::string>{"swarm-1"});
    CHECK(swarm->swarm_role("swarm-3") == "worker");
}

TEST_CASE("swarm: managers default to the first machine - others are workers - errors name the place", "[fleet][swarm]") {
    Fixture f;
    const std::string groups = "defaults:\n  driver: libvirt\ngroups:\n  - name: pool\n    pattern: \"node-{1..3}\"\n";
    auto plain = f.parse(k_head + groups);
    REQUIRE(plain);
    CHECK_FALSE(plain->swarm);
    CHECK(plain->swarm_role("node-1").empty());

    for (const std::string section : {"swarm:\n", "swarm: true\n", "swarm: {}\n"}) {
        CAPTURE(section);
        auto spec = f.parse(k_head + groups + section);
        REQUIRE(spec);
        REQUIRE(spec->swarm);
        CHECK(spec->swarm->managers == std::vector<std::string>{"node-1"});
        CHECK(spec->swarm_role("node-1") == "manager");
        CHECK(spec->swarm_role("node-3") == "worker");
        CHECK(spec->swarm_role("other").empty());
    }
    auto off = f.parse(k_head + groups + "swarm: false\n");
    REQUIRE(off);
    CHECK_FALSE(off->swarm);

    auto named = f.parse(k_head + groups + "swarm:\n  managers: [node-2, node-3]\n");
    REQUIRE(named);
    CHECK(named->swarm->managers == std::vector<std::string>{"node-2", "node-3"});
    CHECK(named->swarm_role("node-1") == "worker");
    CHECK(named->find("node-2") != nullptr);
    CHECK(named->find("node-9") == nullptr);

    CHECK(f.error_of(k_head + groups + "swarm:\n  managers: [node-4]\n") ==
          "fleet.yaml:9:14: swarm: managers: \"node-4\" is not a machine of this spec (did you mean \"node-1\"?)");
    CHECK(f.error_of(k_head + groups + "swarm:\n  managers: [node-1, node-1]\n") ==
          "fleet.yaml:9:22: swarm: managers: \"node-1\" is listed twice");
    CHECK(f.error_of(k_head + groups + "swarm:\n  manager: [node-1]\n") ==
          "fleet.yaml:9:3: unknown key \"manager\" (did you mean \"managers\"?)");
    CHECK(f.error_of(k_head + groups + "swarm: maybe\n") == "fleet.yaml:8:8: swarm: needs true, false or a map (managers:)");
    CHECK(f.error_of(k_head + groups + "swarm:\n  managers: []\n") ==
          "fleet.yaml:9:13: swarm: managers: needs a list of the spec's machines");
    // A driver berth does not provision cannot be a node: its firewall is not berth's.
    CHECK(f.error_of(k_head + "defaults:\n  driver: none\n  url: tcp://192.0.2.1:2376\ngroups:\n  - name: g\n"
                              "    names: [a]\nswarm: true\n") ==
          "fleet.yaml:8:13: machine \"a\" uses driver none, which berth does not provision, so it cannot be a swarm node");
}
