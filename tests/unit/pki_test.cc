#include <berth/pki/pki.h>
#include <berth/process/runner.h>

#include <catch2/catch.hpp>

#include "temp_dir.h"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using berth::pki::CertAndKey;
using berth::pki::KeyType;
using berth::pki::MachineCertRequest;
using berth::pki::MachineCerts;
using namespace std::chrono_literals;

constexpr auto k_day = std::chrono::hours(24);

/// A temp dir that PEMs are written into for the openssl CLI.
class PemDir {
public:
    /// Writes `content` to a file in the directory and returns its path.
    std::string write(const std::string& name, const std::string& content) const {
        berth::test::write_text(m_dir / name, content);
        return (m_dir / name).string();
    }

private:
    berth::test::TempDir m_dir;
};

berth::CommandResult openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    berth::Command command;
    command.argv = std::move(args);
    command.timeout = 30s;
    berth::ProcessRunner runner;
    auto result = runner.run(command);
    INFO(berth::format_argv(command.argv));
    REQUIRE(result.has_value());
    return *result;
}

/// stdout of an openssl command that must succeed.
std::string openssl_out(std::vector<std::string> args) {
    auto result = openssl(args);
    INFO(berth::format_argv(args) << "\nstderr: " << result.err);
    REQUIRE(result.exit_status == 0);
    return result.out;
}

MachineCerts make_certs(const std::string& machine, std::vector<std::string> sans = {},
                        KeyType key_type = KeyType::EcdsaP256) {
    MachineCertRequest request;
    request.machine = machine;
    request.sans = std::move(sans);
    request.key_type = key_type;
    auto certs = berth::pki::make_machine_certs(request);
    INFO((certs ? std::string() : certs.error().line()));
    REQUIRE(certs.has_value());
    return *certs;
}

bool verifies(const std::string& ca_file, const std::string& cert_file, const std::string& purpose) {
    auto result = openssl({"verify", "-CAfile", ca_file, "-purpose", purpose, cert_file});
    return result.exit_status == 0 && result.out.find(": OK") != std::string::npos;
}

struct Extension {
    bool present = false;
    bool critical = false;
    std::string value;  ///< the value lines, trimmed and joined with ", "
};

/// One extension from `openssl x509 -noout -ext ...` output (a header line, indented values).
Extension find_extension(const std::string& text, const std::string& header) {
    Extension ext;
    std::istringstream lines(text);
    std::string line;
    bool inside = false;
    while (std::getline(lines, line)) {
        if (line.rfind("    ", 0) == 0) {
            if (inside) {
                if (!ext.value.empty()) ext.value += ", ";
                ext.value += line.substr(line.find_first_not_of(' '));
            }
            continue;
        }
        inside = line.rfind(header + ":", 0) == 0;
        if (inside) {
            ext.present = true;
            ext.critical = line.find("critical") != std::string::npos;
        }
    }
    return ext;
}

std::string extensions_of(const std::string& cert_file) {
    return openssl_out({"x509", "-in", cert_file, "-noout", "-ext",
                        "subjectAltName,extendedKeyUsage,basicConstraints,keyUsage,"
                        "subjectKeyIdentifier,authorityKeyIdentifier"});
}

/// "notBefore=2026-11-23 19:20:18Z" style lines from `openssl x509 -dates -dateopt iso_8601`.
std::chrono::system_clock::time_point openssl_date(const std::string& cert_file,
                                                   const std::string& which) {
    const std::string out =
        openssl_out({"x509", "-in", cert_file, "-noout", "-dates", "-dateopt", "iso_8601"});
    const auto at = out.find(which + "=");
    REQUIRE(at != std::string::npos);
    std::tm tm{};
    const std::string value = out.substr(at + which.size() + 1, 20);
    INFO(value);
    REQUIRE(::strptime(value.c_str(), "%Y-%m-%d %H:%M:%SZ", &tm) != nullptr);
    return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

long long seconds_between(std::chrono::system_clock::time_point a,
                          std::chrono::system_clock::time_point b) {
    return std::chrono::duration_cast<std::chrono::seconds>(a - b).count();
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("parse_key_type accepts exactly the four key types", "[pki]") {
    for (const auto& [text, type] : std::vector<std::pair<std::string, KeyType>>{
             {"ecdsa-p256", KeyType::EcdsaP256},
             {"ecdsa-p384", KeyType::EcdsaP384},
             {"rsa-2048", KeyType::Rsa2048},
             {"rsa-4096", KeyType::Rsa4096}}) {
        auto parsed = berth::pki::parse_key_type(text);
        REQUIRE(parsed.has_value());
        CHECK(*parsed == type);
        CHECK(berth::pki::to_string(type) == text);
    }
    for (const std::string bad : {"", "ecdsa", "ECDSA-P256", "rsa-1024", "rsa-2048 ", "ed25519"}) {
        INFO("\"" << bad << "\"");
        auto parsed = berth::pki::parse_key_type(bad);
        REQUIRE_FALSE(parsed.has_value());
        CHECK(parsed.error().kind == berth::ErrorKind::Usage);
        CHECK(parsed.error().exit_code() == berth::k_exit_usage);
        const std::string line = parsed.error().line();
        for (const char* accepted : {"ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-4096"})
            CHECK(contains(line, accepted));
    }
}

TEST_CASE("server_sans puts 127.0.0.1 and localhost first and de-duplicates in order", "[pki]") {
    using V = std::vector<std::string>;
    CHECK(berth::pki::server_sans({}) == V{"127.0.0.1", "localhost"});
    CHECK(berth::pki::server_sans({"10.1.2.3", "", "host.example", "localhost", "10.1.2.3",
                                   "127.0.0.1", "fd00::1"}) ==
          V{"127.0.0.1", "localhost", "10.1.2.3", "host.example", "fd00::1"});
}

TEST_CASE("server and client certificates verify against their CA for their purpose only",
          "[pki][openssl]") {
    const auto certs = make_certs("dev", {"10.1.2.3"});
    PemDir dir;
    const auto ca = dir.write("ca.pem", certs.ca.cert_pem);
    const auto server = dir.write("server.pem", certs.server.cert_pem);
    const auto client = dir.write("client.pem", certs.client.cert_pem);

    CHECK(verifies(ca, server, "sslserver"));
    CHECK_FALSE(verifies(ca, server, "sslclient"));
    CHECK(verifies(ca, client, "sslclient"));
    CHECK_FALSE(verifies(ca, client, "sslserver"));
    CHECK(verifies(ca, ca, "sslserver"));
}

TEST_CASE("a machines certificates do not verify against another machines CA",
          "[pki][openssl]") {
    const auto a = make_certs("alpha");
    const auto b = make_certs("bravo");
    PemDir dir;
    const auto ca_a = dir.write("ca-a.pem", a.ca.cert_pem);
    const auto ca_b = dir.write("ca-b.pem", b.ca.cert_pem);
    const auto server_a = dir.write("server-a.pem", a.server.cert_pem);
    const auto client_a = dir.write("client-a.pem", a.client.cert_pem);

    CHECK(verifies(ca_a, server_a, "sslserver"));
    CHECK(verifies(ca_a, client_a, "sslclient"));
    CHECK_FALSE(verifies(ca_b, server_a, "sslserver"));
    CHECK_FALSE(verifies(ca_b, client_a, "sslclient"));
    CHECK(a.ca.cert_pem != b.ca.cert_pem);
    CHECK(a.ca.key_pem != b.ca.key_pem);
}

TEST_CASE("the server certificate has the expected extensions and SANs", "[pki][openssl]") {
    const auto certs =
        make_certs("dev", {"10.1.2.3", "fd00::1", "docker.example.com", "203.0.113.7",
                           "extra.internal"});
    PemDir dir;
    const auto out = extensions_of(dir.write("server.pem", certs.server.cert_pem));
    INFO(out);

    const auto san = find_extension(out, "X509v3 Subject Alternative Name");
    REQUIRE(san.present);
    CHECK_FALSE(san.critical);
    CHECK(san.value.rfind("IP Address:127.0.0.1, DNS:localhost, IP Address:10.1.2.3, ", 0) == 0);
    CHECK((contains(san.value, "IP Address:FD00:0:0:0:0:0:0:1") ||
           contains(san.value, "IP Address:fd00::1")));
    CHECK(contains(san.value, "DNS:docker.example.com"));
    CHECK(contains(san.value, "IP Address:203.0.113.7"));
    CHECK(contains(san.value, "DNS:extra.internal"));

    const auto bc = find_extension(out, "X509v3 Basic Constraints");
    CHECK(bc.critical);
    CHECK(bc.value == "CA:FALSE");
    const auto ku = find_extension(out, "X509v3 Key Usage");
    CHECK(ku.critical);
    CHECK(ku.value == "Digital Signature");
    const auto eku = find_extension(out, "X509v3 Extended Key Usage");
    CHECK(eku.value == "TLS Web Server Authentication");
    CHECK(find_extension(out, "X509v3 Subject Key Identifier").present);

    // The server's authorityKeyIdentifier is the CA's subjectKeyIdentifier.
    const auto ca_out = extensions_of(dir.write("ca.pem", certs.ca.cert_pem));
    const auto ca_ski = find_extension(ca_out, "X509v3 Subject Key Identifier");
    REQUIRE(ca_ski.present);
    CHECK(contains(find_extension(out, "X509v3 Authority Key Identifier").value, ca_ski.value));

    const auto subject = openssl_out({"x509", "-in", dir.write("s.pem", certs.server.cert_pem),
                                      "-noout", "-subject", "-issuer"});
    CHECK(contains(subject, "subject=CN = dev\n"));
    CHECK(contains(subject, "issuer=CN = berth CA for dev, O = berth\n"));
}

TEST_CASE("the CA and client certificates have the expected extensions", "[pki][openssl]") {
    const auto certs = make_certs("dev", {"10.1.2.3"});
    PemDir dir;

    const auto ca_file = dir.write("ca.pem", certs.ca.cert_pem);
    const auto ca_out = extensions_of(ca_file);
    INFO(ca_out);
    const auto ca_bc = find_extension(ca_out, "X509v3 Basic Constraints");
    CHECK(ca_bc.critical);
    CHECK(ca_bc.value == "CA:TRUE, pathlen:0");
    const auto ca_ku = find_extension(ca_out, "X509v3 Key Usage");
    CHECK(ca_ku.critical);
    CHECK(ca_ku.value == "Digital Signature, Certificate Sign, CRL Sign");
    CHECK(find_extension(ca_out, "X509v3 Subject Key Identifier").present);
    CHECK(contains(openssl_out({"x509", "-in", ca_file, "-noout", "-subject"}),
                   "subject=CN = berth CA for dev, O = berth"));

    const auto client_file = dir.write("client.pem", certs.client.cert_pem);
    const auto client_out = extensions_of(client_file);
    INFO(client_out);
    CHECK_FALSE(find_extension(client_out, "X509v3 Subject Alternative Name").present);
    const auto client_bc = find_extension(client_out, "X509v3 Basic Constraints");
    CHECK(client_bc.critical);
    CHECK(client_bc.value == "CA:FALSE");
    CHECK(find_extension(client_out, "X509v3 Key Usage").critical);
    CHECK(find_extension(client_out, "X509v3 Extended Key Usage").value ==
          "TLS Web Client Authentication");
    CHECK(find_extension(client_out, "X509v3 Authority Key Identifier").present);
    CHECK(contains(openssl_out({"x509", "-in", client_file, "-noout", "-subject"}),
                   "subject=CN = berth client for dev\n"));
}

TEST_CASE("validity is backdated 5 minutes and lasts 730 days (leaf) and 1826 days (CA)",
          "[pki][openssl]") {
    const auto before = std::chrono::system_clock::now();
    const auto certs = make_certs("dev");
    PemDir dir;
    const auto ca = dir.write("ca.pem", certs.ca.cert_pem);
    const auto server = dir.write("server.pem", certs.server.cert_pem);
    const auto client = dir.write("client.pem", certs.client.cert_pem);

    for (const auto& leaf : {server, client}) {
        const auto not_before = openssl_date(leaf, "notBefore");
        const auto not_after = openssl_date(leaf, "notAfter");
        CHECK(std::abs(seconds_between(before - 5min, not_before)) <= 60);
        CHECK(std::abs(seconds_between(before + 730 * k_day, not_after)) <= 60);
    }
    CHECK(std::abs(seconds_between(before - 5min, openssl_date(ca, "notBefore"))) <= 60);
    CHECK(std::abs(seconds_between(before + 1826 * k_day, openssl_date(ca, "notAfter"))) <= 60);

    // -checkend N fails when the certificate expires within N seconds.
    const auto days = [](int n) { return std::to_string(n * 86400LL); };
    CHECK(openssl({"x509", "-in", server, "-noout", "-checkend", days(729)}).exit_status == 0);
    CHECK(openssl({"x509", "-in", server, "-noout", "-checkend", days(731)}).exit_status != 0);
}

TEST_CASE("validity follows the request", "[pki]") {
    MachineCertRequest request;
    request.machine = "dev";
    request.validity.ca_days = 10;
    request.validity.leaf_days = 3;
    request.validity.backdate = 0s;
    const auto before = std::chrono::system_clock::now();
    auto certs = berth::pki::make_machine_certs(request);
    REQUIRE(certs.has_value());
    auto ca = berth::pki::read_cert(certs->ca.cert_pem);
    auto server = berth::pki::read_cert(certs->server.cert_pem);
    REQUIRE(ca.has_value());
    REQUIRE(server.has_value());
    CHECK(std::abs(seconds_between(before, ca->not_before)) <= 5);
    CHECK(std::abs(seconds_between(before + 10 * k_day, ca->not_after)) <= 5);
    CHECK(std::abs(seconds_between(before + 3 * k_day, server->not_after)) <= 5);

    request.validity.leaf_days = 0;
    auto bad = berth::pki::make_machine_certs(request);
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().kind == berth::ErrorKind::Usage);
}

TEST_CASE("keys are ECDSA P-256 by default - as unencrypted PKCS#8", "[pki][openssl]") {
    const auto certs = make_certs("dev");
    PemDir dir;
    for (const auto* pair : {&certs.ca, &certs.server, &certs.client}) {
        CHECK(pair->key_pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0) == 0);
        CHECK_FALSE(contains(pair->key_pem, "ENCRYPTED"));
        const auto key = dir.write("key.pem", pair->key_pem);
        const auto cert = dir.write("cert.pem", pair->cert_pem);
        const auto text = openssl_out({"pkey", "-in", key, "-text", "-noout"});
        CHECK(contains(text, "ASN1 OID: prime256v1"));
        CHECK(contains(text, "NIST CURVE: P-256"));
        CHECK(contains(openssl_out({"x509", "-in", cert, "-noout", "-text"}),
                       "Signature Algorithm: ecdsa-with-SHA256"));
        // The key belongs to the certificate.
        CHECK(openssl_out({"pkey", "-in", key, "-pubout"}) ==
              openssl_out({"x509", "-in", cert, "-noout", "-pubkey"}));
    }
}

TEST_CASE("RSA 2048 and P-384 keys when asked", "[pki][openssl]") {
    PemDir dir;
    {
        const auto certs = make_certs("dev", {}, KeyType::Rsa2048);
        const auto key = dir.write("rsa.pem", certs.server.key_pem);
        CHECK(certs.server.key_pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0) == 0);
        CHECK(contains(openssl_out({"pkey", "-in", key, "-text", "-noout"}),
                       "Private-Key: (2048 bit"));
        const auto cert = dir.write("rsa-cert.pem", certs.server.cert_pem);
        CHECK(contains(openssl_out({"x509", "-in", cert, "-noout", "-text"}),
                       "Signature Algorithm: sha256WithRSAEncryption"));
        CHECK(find_extension(extensions_of(cert), "X509v3 Key Usage").value ==
              "Digital Signature, Key Encipherment");
        CHECK(verifies(dir.write("rsa-ca.pem", certs.ca.cert_pem), cert, "sslserver"));
    }
    {
        const auto certs = make_certs("dev", {}, KeyType::EcdsaP384);
        const auto key = dir.write("p384.pem", certs.client.key_pem);
        const auto text = openssl_out({"pkey", "-in", key, "-text", "-noout"});
        CHECK(contains(text, "ASN1 OID: secp384r1"));
        const auto cert = dir.write("p384-cert.pem", certs.client.cert_pem);
        CHECK(contains(openssl_out({"x509", "-in", cert, "-noout", "-text"}),
                       "Signature Algorithm: ecdsa-with-SHA384"));
        CHECK(verifies(dir.write("p384-ca.pem", certs.ca.cert_pem), cert, "sslclient"));
    }
}

TEST_CASE("an RSA 4096 leaf from a P-256 CA is signed with SHA-256", "[pki][openssl]") {
    const auto certs = make_certs("dev");
    MachineCertRequest request;
    request.machine = "dev";
    request.key_type = KeyType::Rsa4096;
    auto server = berth::pki::issue_server_cert(certs.ca, request);
    REQUIRE(server.has_value());
    PemDir dir;
    const auto cert = dir.write("server.pem", server->cert_pem);
    CHECK(contains(openssl_out({"pkey", "-in", dir.write("key.pem", server->key_pem), "-text",
                                "-noout"}),
                   "Private-Key: (4096 bit"));
    CHECK(contains(openssl_out({"x509", "-in", cert, "-noout", "-text"}),
                   "Signature Algorithm: ecdsa-with-SHA256"));
    CHECK(verifies(dir.write("ca.pem", certs.ca.cert_pem), cert, "sslserver"));
}

TEST_CASE("serial numbers are random - positive and about 128 bits", "[pki][openssl]") {
    PemDir dir;
    std::set<std::string> serials;
    for (int i = 0; i < 3; ++i) {
        const auto certs = make_certs("dev");
        for (const auto* pem : {&certs.ca.cert_pem, &certs.server.cert_pem, &certs.client.cert_pem}) {
            auto out = openssl_out({"x509", "-in", dir.write("c.pem", *pem), "-noout", "-serial"});
            REQUIRE(out.rfind("serial=", 0) == 0);
            const std::string hex = out.substr(7, out.find('\n') - 7);
            INFO(hex);
            CHECK(hex.size() == 32);
            // Top bit clear (positive) and the next one set (never short or zero).
            CHECK(std::string("4567").find(hex[0]) != std::string::npos);
            serials.insert(hex);
        }
    }
    CHECK(serials.size() == 9);
}

TEST_CASE("read_cert reads back what was issued", "[pki][openssl]") {
    const auto certs = make_certs("dev", {"10.1.2.3", "fd00::1", "docker.example.com"});
    auto server = berth::pki::read_cert(certs.server.cert_pem);
    REQUIRE(server.has_value());
    CHECK(server->subject_cn == "dev");
    CHECK(server->issuer_cn == "berth CA for dev");
    CHECK(server->ip_sans == std::vector<std::string>{"127.0.0.1", "10.1.2.3", "fd00::1"});
    CHECK(server->dns_sans == std::vector<std::string>{"localhost", "docker.example.com"});
    CHECK_FALSE(server->is_ca);

    PemDir dir;
    const auto file = dir.write("server.pem", certs.server.cert_pem);
    const auto fingerprint =
        openssl_out({"x509", "-in", file, "-noout", "-fingerprint", "-sha256"});
    const std::string expected = fingerprint.substr(fingerprint.find('=') + 1);
    CHECK(server->sha256_fingerprint + "\n" == expected);
    CHECK(server->sha256_fingerprint.size() == 32 * 3 - 1);
    CHECK(server->not_before == openssl_date(file, "notBefore"));
    CHECK(server->not_after == openssl_date(file, "notAfter"));

    auto ca = berth::pki::read_cert(certs.ca.cert_pem);
    REQUIRE(ca.has_value());
    CHECK(ca->is_ca);
    CHECK(ca->subject_cn == "berth CA for dev");
    CHECK(ca->issuer_cn == "berth CA for dev");
    CHECK(ca->dns_sans.empty());
    CHECK(ca->ip_sans.empty());
    CHECK(ca->sha256_fingerprint != server->sha256_fingerprint);

    auto client = berth::pki::read_cert(certs.client.cert_pem);
    REQUIRE(client.has_value());
    CHECK(client->subject_cn == "berth client for dev");
    CHECK(client->dns_sans.empty());
    CHECK(client->ip_sans.empty());
    CHECK_FALSE(client->is_ca);
}

TEST_CASE("read_cert rejects what is not a certificate with the OpenSSL reason", "[pki]") {
    for (const std::string& bad :
         {std::string(), std::string("hello"),
          std::string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")}) {
        auto info = berth::pki::read_cert(bad);
        REQUIRE_FALSE(info.has_value());
        INFO(info.error().message);
        CHECK(info.error().kind == berth::ErrorKind::Failed);
        CHECK(contains(info.error().message, "cannot parse"));
        CHECK(contains(info.error().message, "error:"));
    }
}

TEST_CASE("issue_server_cert re-issues from an existing CA with new SANs", "[pki][openssl]") {
    const auto certs = make_certs("dev", {"10.1.2.3"});
    MachineCertRequest request;
    request.machine = "dev";
    request.sans = {"10.9.9.9"};
    auto server = berth::pki::issue_server_cert(certs.ca, request);
    REQUIRE(server.has_value());
    auto info = berth::pki::read_cert(server->cert_pem);
    REQUIRE(info.has_value());
    CHECK(info->ip_sans == std::vector<std::string>{"127.0.0.1", "10.9.9.9"});
    CHECK(server->key_pem != certs.server.key_pem);

    auto client = berth::pki::issue_client_cert(certs.ca, request);
    REQUIRE(client.has_value());

    PemDir dir;
    const auto ca = dir.write("ca.pem", certs.ca.cert_pem);
    CHECK(verifies(ca, dir.write("server.pem", server->cert_pem), "sslserver"));
    CHECK(verifies(ca, dir.write("client.pem", client->cert_pem), "sslclient"));
}

TEST_CASE("issuing from an invalid CA is an error", "[pki]") {
    const auto a = make_certs("alpha");
    const auto b = make_certs("bravo");
    MachineCertRequest request;
    request.machine = "alpha";

    SECTION("garbage CA certificate") {
        auto r = berth::pki::issue_server_cert({"not a pem", a.ca.key_pem}, request);
        REQUIRE_FALSE(r.has_value());
        CHECK(contains(r.error().message, "CA certificate"));
    }
    SECTION("garbage CA key") {
        auto r = berth::pki::issue_client_cert({a.ca.cert_pem, "not a pem"}, request);
        REQUIRE_FALSE(r.has_value());
        CHECK(contains(r.error().message, "CA private key"));
    }
    SECTION("key of another CA") {
        auto r = berth::pki::issue_server_cert({a.ca.cert_pem, b.ca.key_pem}, request);
        REQUIRE_FALSE(r.has_value());
        CHECK(contains(r.error().message, "does not match"));
    }
    SECTION("a leaf certificate as CA") {
        auto r = berth::pki::issue_server_cert(a.server, request);
        REQUIRE_FALSE(r.has_value());
        CHECK(contains(r.error().message, "not a certificate authority"));
    }
}

TEST_CASE("bad requests are usage errors", "[pki]") {
    MachineCertRequest request;
    SECTION("no machine name") {
        auto r = berth::pki::make_machine_certs(request);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().kind == berth::ErrorKind::Usage);
    }
    SECTION("a SAN that is neither an IP nor a DNS name") {
        request.machine = "dev";
        for (const char* bad : {"bad name", "10.0.0.1:2376", "10.0.0.0/8", "h\xc3\xa9te"}) {
            INFO(bad);
            request.sans = {"10.1.2.3", bad};
            auto r = berth::pki::make_machine_certs(request);
            REQUIRE_FALSE(r.has_value());
            CHECK(r.error().kind == berth::ErrorKind::Usage);
            CHECK(contains(r.error().message, bad));
        }
    }
}

TEST_CASE("a long machine name still makes certificates", "[pki]") {
    const std::string machine(80, 'm');
    const auto certs = make_certs(machine);
    auto ca = berth::pki::read_cert(certs.ca.cert_pem);
    REQUIRE(ca.has_value());
    CHECK(ca->subject_cn.size() == 64);
    CHECK(ca->subject_cn.rfind("berth CA for mmm", 0) == 0);
    auto server = berth::pki::read_cert(certs.server.cert_pem);
    REQUIRE(server.has_value());
    CHECK(server->subject_cn == machine.substr(0, 64));
}
