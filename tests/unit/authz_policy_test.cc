// The berth-authz policy format (authz/policy.h): a good policy, the role each CN gets, and every
// error with the line it names.

#include <berth/authz/policy.h>

#include <catch2/catch.hpp>

#include <string>

using namespace berth::authz;

namespace {

const char* const k_good = R"(# a comment
version: 1
default_role: restricted
roles:
  restricted:
    waive: []
    bind_allow: [/srv/berth, /home/course]
  ops:
    waive: [bind_mounts, cap_add]
  admin:
    waive: all
users:
  "berth client for web1": admin
  "student 1": restricted
  "ci: job #2": ops
  "": restricted
)";

std::string error_of(const std::string& text) {
    auto p = parse_policy(text, "authz.yaml");
    REQUIRE_FALSE(p);
    return p.error();
}

}  // namespace

TEST_CASE("a good policy: roles, waived rules, allow-lists and users", "[authz][policy]") {
    auto p = parse_policy(k_good, "authz.yaml");
    REQUIRE(p);
    CHECK(p->default_role == "restricted");
    REQUIRE(p->roles.size() == 3);
    const Role& restricted = p->roles.at("restricted");
    CHECK(restricted.bind_allow == std::vector<std::string>{"/srv/berth", "/home/course"});
    for (std::size_t i = 0; i < k_rule_count; ++i) CHECK_FALSE(restricted.waived[i]);
    const Role& ops = p->roles.at("ops");
    CHECK(ops.waives(Rule::bind_mounts));
    CHECK(ops.waives(Rule::cap_add));
    CHECK_FALSE(ops.waives(Rule::privileged));
    CHECK(ops.bind_allow == std::vector<std::string>{"/srv/berth"});  // the default
    const Role& admin = p->roles.at("admin");
    CHECK(admin.waives(Rule::privileged));
    CHECK(admin.waives(Rule::swarm));
    CHECK_FALSE(admin.waives(Rule::malformed));  // `all` never waives malformed
}

TEST_CASE("CNs map to their role, an unlisted CN gets the default role", "[authz][policy]") {
    auto p = parse_policy(k_good, "authz.yaml");
    REQUIRE(p);
    CHECK(p->role_for("berth client for web1").name == "admin");
    CHECK(p->role_for("ci: job #2").name == "ops");
    CHECK(p->role_for("").name == "restricted");
    CHECK(p->role_for("someone else").name == "restricted");
    CHECK(p->role_for("berth client for web1 ").name == "restricted");  // exact match only
    Policy hand_made;  // not from parse_policy: no role at all waives nothing
    CHECK_FALSE(hand_made.role_for("x").waives(Rule::privileged));
}

TEST_CASE("rule names round-trip", "[authz][policy]") {
    for (std::size_t i = 0; i < k_rule_count; ++i) {
        auto rule = static_cast<Rule>(i);
        CHECK(rule_from_name(rule_name(rule)) == rule);
    }
    CHECK(rule_name(Rule::build_network_host) == "build_network_host");
    CHECK_FALSE(rule_from_name("Privileged"));
    CHECK_FALSE(rule_from_name(""));
}

TEST_CASE("policy errors name the file and the line", "[authz][policy]") {
    const std::string head = "version: 1\ndefault_role: r\nroles:\n  r:\n";
    struct Case {
        std::string text;
        std::string error;
    };
    const Case cases[] = {
        {head + "    waive: [privileged, nosuch]\n", "authz.yaml:5: unknown rule \"nosuch\""},
        {head + "    waive: [malformed]\n", "authz.yaml:5: the rule malformed"},
        {head + "    waive: some\n", "authz.yaml:5: waive of role \"r\" must be `all` or a list"},
        {head + "    bind_allow: [srv/berth]\n", "authz.yaml:5: bind_allow path \"srv/berth\" of role \"r\" is not absolute"},
        {head + "    bind_allow: /srv\n", "authz.yaml:5: bind_allow of role \"r\" must be a list"},
        {head + "    colour: red\n", "authz.yaml:5: unknown key \"colour\" in role \"r\""},
        {head + "    waive: []\nusers:\n  alice: nosuch\n", "authz.yaml:7: user \"alice\" names the unknown role \"nosuch\""},
        {head + "    waive: []\nusers:\n  alice: r\n  alice: r\n", "authz.yaml:8: user \"alice\" is listed twice"},
        {head + "    waive: []\nusers: [alice]\n", "authz.yaml:6: users must be a map"},
        {head + "    waive: []\nextra: 1\n", "authz.yaml:6: unknown key \"extra\" in the policy"},
        {"version: 1\ndefault_role: nosuch\nroles:\n  r: {}\n", "authz.yaml:2: default_role names the unknown role \"nosuch\""},
        {"version: 2\ndefault_role: r\nroles:\n  r: {}\n", "authz.yaml:1: unsupported policy version"},
        {"default_role: r\nroles:\n  r: {}\n", "authz.yaml:1: the policy has no version"},
        {"version: 1\nroles:\n  r: {}\n", "authz.yaml:1: the policy has no default_role"},
        {"version: 1\ndefault_role: r\n", "authz.yaml:1: the policy has no roles"},
        {"version: 1\ndefault_role: r\nroles: {}\n", "authz.yaml:3: roles must be a map"},
        {"version: 1\ndefault_role: r\nroles:\n  r: {}\n  r: {}\n", "authz.yaml:5: role \"r\" is defined twice"},
        {"version: 1\nversion: 1\n", "authz.yaml:2: duplicate key \"version\""},
        {"- a list\n", "authz.yaml:1: the policy must be a YAML map"},
        {"version: [1\n", "authz.yaml:2: not valid YAML"},
        {"", "authz.yaml: the policy must be a YAML map"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        CHECK_THAT(error_of(c.text), Catch::Matchers::StartsWith(c.error));
    }
}
