// berth apply through the real binary with the none driver: 30 machines at --parallel 8, a
// second apply that changes nothing, --dry-run, --prune, one machine's failure, the progress
// formats, two applies at once on one store, and applies killed with SIGKILL at ten moments
// that the next apply finishes.

#include <berth/process/runner.h>
#include <berth/store/store.h>

#include "berth_cli.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

using namespace berth;

namespace {

/// A fleet of `count` none machines node-01.. (labelled `fleet`), as a spec file in the test's dir.
std::filesystem::path write_spec(test::BerthCli& b, int count, const std::string& fleet = "stress",
                                 const std::string& file = "fleet.yaml") {
    char last[8];
    std::snprintf(last, sizeof last, "%02d", count);
    const auto path = b.dir / file;
    test::write_text(path, "version: 1\n"
                           "fleet: " + fleet + "\n"
                           "defaults:\n"
                           "  driver: none\n"
                           "  url: tcp://10.1.2.3:2376\n"
                           "groups:\n"
                           "  - name: pool\n"
                           "    count: " + std::to_string(count) + "\n"
                           "    pattern: \"node-{01.." + std::string(last) + "}\"\n");
    return path;
}

std::string read_all(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/// name -> machine.json text, for every machine in the store.
std::map<std::string, std::string> records(const test::BerthCli& b) {
    std::map<std::string, std::string> out;
    const auto dir = b.store() / "machines";
    if (!std::filesystem::exists(dir)) return out;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        out[e.path().filename().string()] = read_all(e.path() / "machine.json");
    return out;
}

/// Every record ready and in `fleet`, named node-01..node-NN, and no lock file for a machine
/// that is not there.
void check_converged(const test::BerthCli& b, int count, const std::string& fleet = "stress") {
    auto recs = records(b);
    REQUIRE(recs.size() == static_cast<std::size_t>(count));
    int i = 0;
    for (const auto& [name, text] : recs) {
        char want[16];
        std::snprintf(want, sizeof want, "node-%02d", ++i);
        CHECK(name == want);
        auto j = nlohmann::json::parse(text, nullptr, false);
        REQUIRE_FALSE(j.is_discarded());
        CHECK(j["status"] == "ready");
        CHECK(j["fleet"]["fleet"] == fleet);
    }
    for (const auto& e : std::filesystem::directory_iterator(b.store() / "locks")) {
        const std::string lock = e.path().filename().string();
        if (lock.starts_with("fleet-") || lock.starts_with("shared-")) continue;
        CHECK(recs.contains(lock.substr(0, lock.size() - std::string(".lock").size())));
    }
}

std::size_t count_lines(const std::string& text, const std::string& prefix) {
    std::size_t n = 0;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(prefix)) ++n;
    return n;
}

}  // namespace

TEST_CASE("apply: 30 none machines at --parallel 8, then a second apply that changes nothing", "[cli][apply]") {
    test::BerthCli b;
    const auto spec = write_spec(b, 30);
    auto first = b.run({"apply", "-f", spec.string(), "--parallel", "8", "--progress", "plain"});
    INFO(first.out << first.err);
    REQUIRE(first.exit_status == 0);
    CHECK(count_lines(first.out, "+   node-") == 30);
    CHECK(first.out.find("Apply: 30 created, 0 changed, 0 removed, 0 unchanged, 0 failed.") != std::string::npos);
    // Plain progress: "HH:MM:SS [name] step" lines, one "done" per machine.
    const std::regex line(R"(^\d\d:\d\d:\d\d \[node-\d\d\] .+$)");
    std::size_t done = 0;
    std::istringstream in(first.out);
    for (std::string l; std::getline(in, l);) {
        if (l.find(" [node-") == std::string::npos) continue;
        CHECK(std::regex_match(l, line));
        if (l.find("] done: created") != std::string::npos) ++done;
    }
    CHECK(done == 30);
    check_converged(b, 30);

    const auto before = records(b);
    auto second = b.run({"apply", "-f", spec.string(), "--parallel", "8", "--progress", "plain"});
    INFO(second.out << second.err);
    REQUIRE(second.exit_status == 0);
    CHECK(count_lines(second.out, "=   node-") == 30);
    CHECK(second.out.find("Apply: 0 created, 0 changed, 0 removed, 30 unchanged, 0 failed.") != std::string::npos);
    CHECK(second.out.find("] ") == std::string::npos);  // no machine was worked on
    CHECK(records(b) == before);                        // byte for byte
}

TEST_CASE("apply --dry-run prints the plan and makes nothing", "[cli][apply]") {
    test::BerthCli b;
    const auto spec = write_spec(b, 3);
    auto r = b.run({"apply", "-f", spec.string(), "--dry-run"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_status == 0);
    CHECK(count_lines(r.out, "+   node-") == 3);
    CHECK(r.out.find("Apply:") == std::string::npos);
    CHECK(records(b).empty());
}

TEST_CASE("apply --prune removes the fleet's machines the spec no longer names, and only with --prune",
          "[cli][apply]") {
    test::BerthCli b;
    REQUIRE(b.run({"apply", "-f", write_spec(b, 4).string()}).exit_status == 0);
    REQUIRE(b.run({"create", "-d", "none", "--url", "tcp://10.9.9.9:2376", "outsider"}).exit_status == 0);
    const auto smaller = write_spec(b, 2);
    auto kept = b.run({"apply", "-f", smaller.string()});
    REQUIRE(kept.exit_status == 0);
    CHECK(records(b).size() == 5);
    auto pruned = b.run({"apply", "-f", smaller.string(), "--prune", "--progress", "plain"});
    INFO(pruned.out << pruned.err);
    REQUIRE(pruned.exit_status == 0);
    CHECK(count_lines(pruned.out, "-   node-0") == 2);
    CHECK(pruned.out.find("Apply: 0 created, 0 changed, 2 removed, 2 unchanged, 0 failed.") != std::string::npos);
    auto left = records(b);
    CHECK(left.size() == 3);
    CHECK(left.contains("outsider"));  // not of the fleet: never pruned
    CHECK_FALSE(left.contains("node-03"));
}

TEST_CASE("apply: one machine's failure does not stop the others - the summary names it, exit 1", "[cli][apply]") {
    test::BerthCli b;
    const auto spec = write_spec(b, 4);
    // node-03's directory cannot be made: a file is in its place.
    std::filesystem::create_directories(b.store() / "machines");
    std::filesystem::create_directories(b.store() / "locks");
    test::write_text(b.store() / "machines" / "node-03", "not a directory");
    auto r = b.run({"apply", "-f", spec.string(), "--parallel", "2", "--progress", "plain"});
    INFO(r.out << r.err);
    CHECK(r.exit_status == 1);
    CHECK(r.out.find("Apply: 3 created, 0 changed, 0 removed, 0 unchanged, 1 failed.") != std::string::npos);
    CHECK(r.out.find("\n  node-03: ") != std::string::npos);
    CHECK(r.out.find("[node-03] FAILED: ") != std::string::npos);
    for (const char* name : {"node-01", "node-02", "node-04"})
        CHECK(std::filesystem::exists(b.store() / "machines" / name / "machine.json"));
}

TEST_CASE("apply --json: the plan, one event per line, then the summary", "[cli][apply]") {
    test::BerthCli b;
    auto r = b.run({"apply", "-f", write_spec(b, 3).string(), "--json"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_status == 0);
    std::vector<nlohmann::json> events;
    std::istringstream in(r.out);
    for (std::string l; std::getline(in, l);) {
        auto j = nlohmann::json::parse(l, nullptr, false);
        REQUIRE_FALSE(j.is_discarded());
        events.push_back(j);
    }
    REQUIRE(events.size() >= 5);
    CHECK(events.front()["event"] == "plan");
    CHECK(events.front()["create"] == 3);
    CHECK(events.front()["entries"][0] == nlohmann::json{{"machine", "node-01"}, {"action", "+"}, {"reasons", nlohmann::json::array()}});
    CHECK(events.back() == nlohmann::json{{"event", "summary"}, {"created", 3}, {"changed", 0}, {"removed", 0},
                                          {"unchanged", 0}, {"failed", nlohmann::json::array()}, {"swarm", nullptr}});
    std::set<std::string> done;
    const std::regex time(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$)");
    for (std::size_t i = 1; i + 1 < events.size(); ++i) {
        const auto& e = events[i];
        CHECK(std::regex_match(e["time"].get<std::string>(), time));
        if (e["event"] == "step") CHECK(e.contains("step"));
        if (e["event"] == "done") {
            CHECK(e["message"] == "created");
            done.insert(e["machine"].get<std::string>());
        }
    }
    CHECK(done == std::set<std::string>{"node-01", "node-02", "node-03"});
}

TEST_CASE("apply: a spec error is exit 2 and makes nothing", "[cli][apply]") {
    test::BerthCli b;
    test::write_text(b.dir / "bad.yaml", "version: 1\nfleet: [not, a, label\n");
    auto r = b.run({"apply", "-f", (b.dir / "bad.yaml").string()});
    CHECK(r.exit_status == 2);
    CHECK(r.err.find("bad.yaml:") != std::string::npos);
    CHECK(records(b).empty());
    auto flags = b.run({"apply", "-f", (b.dir / "bad.yaml").string(), "--progress", "fancy"});
    CHECK(flags.exit_status == 2);
}

TEST_CASE("apply: two applies of one fleet at once on one store end consistent", "[cli][apply]") {
    test::BerthCli b;
    const auto spec = write_spec(b, 12);
    std::vector<CommandResult> results(2);
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i)
        threads.emplace_back([&, i] {
            Command c;
            c.argv = {"berth", "apply", "-f", spec.string(), "--parallel", "4", "--progress", "plain"};
            c.env_set = b.env;
            c.timeout = std::chrono::seconds(120);
            auto r = ProcessRunner().run(c);
            if (r) results[static_cast<std::size_t>(i)] = *r;
            else results[static_cast<std::size_t>(i)].exit_status = -100;
        });
    for (auto& t : threads) t.join();
    for (const auto& r : results) {
        INFO(r.out << r.err);
        CHECK(r.exit_status == 0);
    }
    // One made the machines, the other found them made.
    const auto created = count_lines(results[0].out, "+   node-") + count_lines(results[1].out, "+   node-");
    const auto unchanged = count_lines(results[0].out, "=   node-") + count_lines(results[1].out, "=   node-");
    CHECK(created == 12);
    CHECK(unchanged == 12);
    check_converged(b, 12);
    auto again = b.run({"apply", "-f", spec.string()});
    CHECK(count_lines(again.out, "=   node-") == 12);
}

TEST_CASE("apply killed with SIGKILL at ten moments: the next apply converges, nothing orphaned",
          "[cli][apply][crash]") {
    // The moment is the N-th line of --json output (plan, steps, done events): N from 1 to 10
    // spreads the kills over planning, certificates, saves and the last machines.
    for (int n = 1; n <= 10; ++n) {
        DYNAMIC_SECTION("killed after " << n * 3 << " events") {
            test::BerthCli b;
            const auto spec = write_spec(b, 10);
            const auto out = b.dir / "events.jsonl";
            Command kill;
            kill.argv = {"bash", "-c",
                         "berth apply -f \"$1\" --json --parallel 4 > \"$2\" 2>/dev/null & pid=$!\n"
                         "while [ \"$(wc -l < \"$2\")\" -lt \"$3\" ] && kill -0 $pid 2>/dev/null; do sleep 0.002; done\n"
                         "kill -KILL $pid 2>/dev/null; wait $pid; echo $?",
                         "kill-apply", spec.string(), out.string(), std::to_string(n * 3)};
            kill.env_set = b.env;
            kill.timeout = std::chrono::seconds(60);
            auto killed = ProcessRunner().run(kill);
            REQUIRE(killed);
            INFO("kill run: " << killed->out << read_all(out));
            auto next = b.run({"apply", "-f", spec.string(), "--progress", "plain"});
            INFO(next.out << next.err);
            REQUIRE(next.exit_status == 0);
            check_converged(b, 10);
            auto again = b.run({"apply", "-f", spec.string()});
            CHECK(count_lines(again.out, "=   node-") == 10);
        }
    }
}

TEST_CASE("apply: a users CSV gives each machine its user's certificate at create and a bundle per user",
          "[integration][apply][certs]") {
    test::BerthCli b;
    test::write_text(b.dir / "students.csv", "user,course\nalice,os\nbob,os\n");
    test::write_text(b.dir / "class.yaml", "version: 1\n"
                                           "fleet: class\n"
                                           "defaults:\n"
                                           "  driver: none\n"
                                           "  url: tcp://10.1.2.3:2376\n"
                                           "groups:\n"
                                           "  - name: students\n"
                                           "    users: students.csv\n"
                                           "    pattern: \"{user}-vm\"\n");
    const auto bundles = b.dir / "bundles";
    auto r = b.run({"apply", "-f", (b.dir / "class.yaml").string(), "--bundles-dir", bundles.string(), "--progress",
                    "plain"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_status == 0);
    for (const std::string user : {"alice", "bob"}) {
        CAPTURE(user);
        auto ls = b.run({"certs", "ls", user + "-vm", "--json"});
        REQUIRE(ls.exit_status == 0);
        auto users = nlohmann::json::parse(ls.out);
        REQUIRE(users.size() == 1);
        CHECK(users[0]["User"] == user);
        CHECK(std::filesystem::exists(bundles / (user + ".tar.gz")));
        CHECK(std::filesystem::exists(b.store() / "machines" / (user + "-vm") / "users" / user / "cert.pem"));
    }
    // The second apply changes nothing and issues nothing again.
    auto again = b.run({"apply", "-f", (b.dir / "class.yaml").string(), "--progress", "plain"});
    CHECK(again.exit_status == 0);
    CHECK(count_lines(again.out, "=   ") == 2);
    auto ls = b.run({"certs", "ls", "alice-vm", "--json"});
    CHECK(nlohmann::json::parse(ls.out).size() == 1);
}
