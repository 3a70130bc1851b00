// berth-authz and revoked client certificates: the serial of the certificate a client presented,
// read from the recorded AuthZReq bodies (tests/fixtures/authz: real peer certificates dockerd
// passed) by berth-authz's own DER reader; the revocation list berth writes; refusals under the
// rule `revoked`, which no role waives.

#include <berth/authz/evaluate.h>
#include <berth/authz/peer_cert.h>
#include <berth/authz/plugin.h>
#include <berth/authz/policy.h>
#include <berth/authz/request.h>

#include "authz_test_support.h"

#include <catch2/catch.hpp>

using namespace berth::authz;
using berth::authz::test::read_text;

namespace {

const std::string k_dir = std::string(BERTH_TESTS_DIR) + "/fixtures/authz";
/// The serial of the client certificate in the fixtures, as `openssl x509 -serial` prints it.
const std::string k_fixture_serial = "55EE2F588885EBAA290D2DE7C60E3BE8";

Policy policy_with(std::set<std::string, std::less<>> revoked) {
    auto p = parse_policy("version: 1\ndefault_role: restricted\nroles:\n  restricted: {}\n  admin:\n    waive: all\n"
                          "users:\n  \"berth client for authzrec\": admin\n",
                          "authz.yaml");
    REQUIRE(p);
    p->revoked = std::move(revoked);
    return *p;
}

std::string base64_of_pem(const std::string& der) {
    std::string b64 = berth::authz::test::base64(der), pem = "-----BEGIN CERTIFICATE-----\n";
    for (std::size_t i = 0; i < b64.size(); i += 64) pem += b64.substr(i, 64) + "\n";
    return pem + "-----END CERTIFICATE-----\n";
}

}  // namespace

TEST_CASE("authz: the peer certificate of every recorded request is read, with its serial", "[authz][revoked]") {
    int read = 0;
    for (const auto& entry : std::filesystem::directory_iterator(k_dir)) {
        if (entry.path().extension() != ".json" || entry.path().filename().string().starts_with("handmade-")) continue;
        INFO(entry.path());
        auto req = parse_authz_request(read_text(entry.path()));
        REQUIRE(req);
        // The client's own certificate first; curl also sent the CA (sysctl-kernel was made by curl).
        REQUIRE_FALSE(req->peer_certificates.empty());
        for (const auto& pem : req->peer_certificates) {
            CHECK(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
            CHECK(pem_certificate_serial(pem));
        }
        CHECK(pem_certificate_serial(req->peer_certificates[0]) == k_fixture_serial);
        if (req->peer_certificates.size() == 2)  // the machine's CA, as `openssl x509 -serial` reads it
            CHECK(pem_certificate_serial(req->peer_certificates[1]) == std::string("73124CE15528B3FEF1CF011DF255C8F9"));
        ++read;
    }
    CHECK(read > 40);
}

TEST_CASE("authz: a revoked serial is refused for every role, named in the answer and the journal", "[authz][revoked]") {
    const std::string body = read_text(k_dir + "/run-plain.json");
    REQUIRE_FALSE(body.empty());
    // The owner is admin here: revocation is not a rule a role can waive.
    const auto allowed = handle_plugin_call("/AuthZPlugin.AuthZReq", body, policy_with({"0102"}), "/etc/berth/authz.yaml");
    CHECK(nlohmann::json::parse(allowed.body).at("Allow") == true);

    const auto refused =
        handle_plugin_call("/AuthZPlugin.AuthZReq", body, policy_with({"0102", k_fixture_serial}), "/etc/berth/authz.yaml");
    const auto answer = nlohmann::json::parse(refused.body);
    CHECK(answer.at("Allow") == false);
    CHECK(answer.at("Msg").get<std::string>().starts_with("berth-authz: certificate serial " + k_fixture_serial +
                                                          " is revoked on this host"));
    CHECK(refused.log_line.find("rule=revoked ") != std::string::npos);
    CHECK(refused.log_line.find("user=\"berth client for authzrec\"") != std::string::npos);

    // Every recorded request, allowed or not without it, is refused with the certificate revoked.
    for (const char* name : {"logs.json", "pull.json", "exec-plain.json", "privileged.json"}) {
        const auto reply = handle_plugin_call("/AuthZPlugin.AuthZReq", read_text(k_dir + "/" + name),
                                              policy_with({k_fixture_serial}), "/etc/berth/authz.yaml");
        INFO(name);
        CHECK(reply.log_line.find("rule=revoked ") != std::string::npos);
    }
    // The unix socket presents no certificate: nothing to revoke.
    const auto local = handle_plugin_call("/AuthZPlugin.AuthZReq", berth::authz::test::authz_req("", "GET", "/v1.41/info"),
                                          policy_with({k_fixture_serial}), "/etc/berth/authz.yaml");
    CHECK(nlohmann::json::parse(local.body).at("Allow") == true);
}

TEST_CASE("authz: a peer certificate that cannot be read is refused while serials are revoked", "[authz][revoked]") {
    nlohmann::json req = nlohmann::json::parse(berth::authz::test::authz_req("alice", "GET", "/v1.41/info"));
    req["RequestPeerCertificates"] = {berth::authz::test::base64("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")};
    const auto reply = handle_plugin_call("/AuthZPlugin.AuthZReq", req.dump(), policy_with({"01"}), "/etc/berth/authz.yaml");
    CHECK(reply.log_line.find("rule=malformed ") != std::string::npos);
    req["RequestPeerCertificates"] = {"not base64!"};
    CHECK_FALSE(parse_authz_request(req.dump()));
    req["RequestPeerCertificates"] = "a string";
    CHECK_FALSE(parse_authz_request(req.dump()));
    req["RequestPeerCertificates"] = nullptr;
    CHECK(parse_authz_request(req.dump()));
}

TEST_CASE("authz: the DER reader takes a certificate's serial and nothing that is not one", "[authz][revoked]") {
    // SEQUENCE { SEQUENCE { [0] { INTEGER 2 }, INTEGER 00 80 01 } }: the sign byte is dropped.
    const std::string v3("\x30\x0c\x30\x0a\xa0\x03\x02\x01\x02\x02\x03\x00\x80\x01", 14);
    CHECK(der_certificate_serial(v3) == std::string("8001"));
    const std::string v1("\x30\x05\x30\x03\x02\x01\x0a", 7);  // no version field
    CHECK(der_certificate_serial(v1) == std::string("0A"));
    CHECK(der_certificate_serial(std::string("\x30\x05\x30\x03\x02\x01\x00", 7)) == std::string("0"));
    CHECK(pem_certificate_serial(base64_of_pem(v3)) == std::string("8001"));
    for (const std::string& bad : {std::string(), std::string("\x30", 1), std::string("\x30\x05\x30\x03\x02\x01", 6),
                                  std::string("\x30\x84\xff\xff\xff\xff\x30", 7), std::string("\x30\x80\x30\x00", 4),
                                  std::string("\x31\x05\x30\x03\x02\x01\x0a", 7), std::string("\x30\x04\x30\x02\x04\x00", 6),
                                  std::string("\x30\x05\x30\x03\x02\x00\x00", 7), std::string("\x30\x03\x30\x05\x02\x01\x0a", 7)}) {
        INFO(berth::authz::test::base64(bad));
        CHECK_FALSE(der_certificate_serial(bad));
    }
    CHECK_FALSE(pem_certificate_serial("no pem here"));
    CHECK_FALSE(pem_certificate_serial("-----BEGIN CERTIFICATE-----\nMIIB"));
    CHECK_FALSE(pem_certificate_serial("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"));
}

TEST_CASE("authz: the revocation list berth writes, and what it refuses", "[authz][revoked]") {
    auto list = parse_revoked("version: 1\nrevoked:\n  - serial: 55ee2f58\n    user: alice\n  - serial: \"0A\"\n    user: \"yes\"\n",
                              "authz-revoked.yaml");
    REQUIRE(list);
    CHECK(*list == std::set<std::string, std::less<>>{"55EE2F58", "0A"});
    auto none = parse_revoked("version: 1\nrevoked: []\n", "authz-revoked.yaml");
    REQUIRE(none);
    CHECK(none->empty());
    for (auto [text, error] : std::vector<std::pair<std::string, std::string>>{
             {"revoked: []\n", "authz-revoked.yaml:1: the revocation list needs `version: 1`"},
             {"version: 1\nrevoked:\n  - serial: XYZ\n", "authz-revoked.yaml:3: serial \"XYZ\" is not hexadecimal"},
             {"version: 1\nrevoked:\n  - user: alice\n", "authz-revoked.yaml:3: an entry of revoked has no serial"},
             {"version: 1\nrevoked: 01\n", "authz-revoked.yaml:2: revoked must be a list"},
             {"version: 1\nrevoked: []\nextra: 1\n", "authz-revoked.yaml:3: unknown key \"extra\""},
             {"version: 1\nrevoked:\n  - serial: 01\n    colour: red\n", "authz-revoked.yaml:4: unknown key \"colour\""},
             {"- 1\n", "authz-revoked.yaml:1: the revocation list must be a YAML map"}}) {
        INFO(text);
        auto r = parse_revoked(text, "authz-revoked.yaml");
        REQUIRE_FALSE(r);
        CHECK(r.error().starts_with(error));
    }
}

TEST_CASE("authz: no role waives revoked", "[authz][revoked]") {
    auto waived = parse_policy("version: 1\ndefault_role: r\nroles:\n  r:\n    waive: [revoked]\n", "authz.yaml");
    REQUIRE_FALSE(waived);
    CHECK(waived.error() == "authz.yaml:5: the rule revoked (a revoked client certificate) cannot be waived");
    auto all = parse_policy("version: 1\ndefault_role: r\nroles:\n  r:\n    waive: all\n", "authz.yaml");
    REQUIRE(all);
    CHECK_FALSE(all->roles.at("r").waives(Rule::revoked));
    CHECK(all->roles.at("r").waives(Rule::swarm));
    CHECK(rule_name(Rule::revoked) == "revoked");
}
