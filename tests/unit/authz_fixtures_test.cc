// berth-authz on AuthZReq bodies recorded from a real dockerd (tests/fixtures/authz/: <case>.json
// is what dockerd POSTed, cases.tsv lists each with the decision and rule expected, and the docker
// command that made it), decided under the default policy (templates/authz-policy.yaml.mustache).
// A missing or empty cases.tsv fails: a test that cannot run does not pass.

#include <berth/authz/plugin.h>
#include <berth/authz/policy.h>

#include "authz_test_support.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>

using berth::authz::test::read_text;

namespace {

const std::string k_dir = std::string(BERTH_TESTS_DIR) + "/fixtures/authz";

berth::authz::Policy default_policy() {
    std::string text = read_text(std::string(BERTH_TESTS_DIR) + "/../templates/authz-policy.yaml.mustache");
    REQUIRE_FALSE(text.empty());
    // No per-user certificates: the users section renders to nothing.
    const auto users = text.find("{{#users}}\n"), users_end = text.find("{{/users}}\n");
    REQUIRE((users != std::string::npos && users_end != std::string::npos));
    text.erase(users, users_end + std::string("{{/users}}\n").size() - users);
    // Not in a swarm: the swarm-owner role renders to nothing.
    const auto swarm = text.find("{{#owner_swarm}}\n"), swarm_end = text.find("{{/owner_swarm}}\n");
    REQUIRE((swarm != std::string::npos && swarm_end != std::string::npos));
    text.erase(swarm, swarm_end + std::string("{{/owner_swarm}}\n").size() - swarm);
    for (auto [var, value] : {std::pair{"{{owner_cn}}", "\"berth client for fixture\""}, {"{{owner_role}}", "restricted"}}) {
        const auto at = text.find(var);
        REQUIRE(at != std::string::npos);
        text.replace(at, std::string(var).size(), value);
    }
    auto policy = berth::authz::parse_policy(text, "authz-policy.yaml.mustache");
    INFO((policy ? "" : policy.error()));
    REQUIRE(policy);
    return *policy;
}

}  // namespace

TEST_CASE("authz: every recorded request in tests/fixtures/authz/cases.tsv gets its decision and rule", "[authz][fixtures]") {
    const auto policy = default_policy();
    std::istringstream cases(read_text(k_dir + "/cases.tsv"));
    int checked = 0;
    for (std::string line; std::getline(cases, line);) {
        if (line.empty() || line.starts_with('#')) continue;
        std::vector<std::string> fields;
        std::istringstream cells(line);
        for (std::string cell; std::getline(cells, cell, '\t');) fields.push_back(cell);
        INFO(line);
        REQUIRE(fields.size() >= 3);
        const std::string& name = fields[0];
        REQUIRE((fields[1] == "allow" || fields[1] == "deny"));
        const std::string body = read_text(k_dir + "/" + name + ".json");
        REQUIRE_FALSE(body.empty());
        const auto reply = berth::authz::handle_plugin_call("/AuthZPlugin.AuthZReq", body, policy, "/etc/berth/authz.yaml");
        REQUIRE(reply.status == 200);
        const auto answer = nlohmann::json::parse(reply.body);
        INFO(reply.body);
        CHECK(answer.at("Allow") == (fields[1] == "allow"));
        if (fields[1] == "deny") {
            // A request that breaks several rules lists them all ("userns_host,bind_mounts"); the
            // refusal names one of them, in the message and in the journal line alike.
            const std::string msg = answer.at("Msg").get<std::string>();
            std::string named;
            std::istringstream rules(fields[2]);
            for (std::string rule; std::getline(rules, rule, ',');)
                if (msg.find("(rule " + rule + " in /etc/berth/authz.yaml)") != std::string::npos) named = rule;
            INFO("the refusal names none of the rules " << fields[2]);
            REQUIRE_FALSE(named.empty());
            CHECK(reply.log_line.find("rule=" + named + " ") != std::string::npos);
        } else {
            CHECK(fields[2] == "-");
        }
        ++checked;
    }
    INFO("cases.tsv in " << k_dir << " lists no case");
    CHECK(checked > 0);
}

TEST_CASE("authz: every fixture in tests/fixtures/authz is listed in cases.tsv", "[authz][fixtures]") {
    const std::string tsv = read_text(k_dir + "/cases.tsv");
    int fixtures = 0;
    for (const auto& entry : std::filesystem::directory_iterator(k_dir)) {
        if (entry.path().extension() != ".json") continue;
        ++fixtures;
        CAPTURE(entry.path().filename().string());
        CHECK(("\n" + tsv).find("\n" + entry.path().stem().string() + "\t") != std::string::npos);
    }
    CHECK(fixtures > 0);
}
