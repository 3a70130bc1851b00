#include <berth/pki/pki.h>

#include <catch2/catch.hpp>

#include "tls_peer.h"

#include <string>
#include <vector>

namespace {

using berth::pki::MachineCerts;
using berth::test::run_tls_handshake;
using berth::test::TlsClientConfig;
using berth::test::TlsHandshakeResult;
using berth::test::TlsServerConfig;

MachineCerts make_certs(const std::string& machine, std::vector<std::string> sans = {}) {
    berth::pki::MachineCertRequest request;
    request.machine = machine;
    request.sans = std::move(sans);
    auto certs = berth::pki::make_machine_certs(request);
    INFO((certs ? std::string() : certs.error().line()));
    REQUIRE(certs.has_value());
    return *certs;
}

TlsServerConfig server_of(const MachineCerts& certs) { return {certs.server, certs.ca.cert_pem}; }

TlsClientConfig client_of(const MachineCerts& certs) {
    TlsClientConfig config;
    config.ca_pem = certs.ca.cert_pem;
    config.identity = certs.client;
    return config;
}

void show(const TlsHandshakeResult& result) {
    UNSCOPED_INFO("server: " << (result.server.ok ? "ok" : "failed: " + result.server.error));
    UNSCOPED_INFO("client: " << (result.client.ok ? "ok" : "failed: " + result.client.error));
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a client with its machines certificate completes mutual TLS", "[tls]") {
    const auto certs = make_certs("dev");
    const auto result = run_tls_handshake(server_of(certs), client_of(certs));
    show(result);
    CHECK(result.server.ok);
    CHECK(result.client.ok);
    CHECK(result.server.error.empty());
    CHECK(result.client.error.empty());
}

TEST_CASE("a client without a certificate is refused by the server", "[tls]") {
    const auto certs = make_certs("dev");
    auto client = client_of(certs);
    client.identity.reset();
    const auto result = run_tls_handshake(server_of(certs), client);
    show(result);
    CHECK_FALSE(result.server.ok);
    CHECK(contains(result.server.error, "peer did not return a certificate"));
    CHECK_FALSE(result.client.ok);
}

TEST_CASE("a client certificate from another machines CA is refused by the server", "[tls]") {
    const auto dev = make_certs("dev");
    const auto other = make_certs("other");
    auto client = client_of(dev);
    client.identity = other.client;
    const auto result = run_tls_handshake(server_of(dev), client);
    show(result);
    CHECK_FALSE(result.server.ok);
    CHECK(contains(result.server.error, "certificate verify"));
    CHECK_FALSE(result.client.ok);
}

TEST_CASE("a client checking against another machines CA refuses the server", "[tls]") {
    const auto dev = make_certs("dev");
    const auto other = make_certs("other");
    auto client = client_of(dev);
    client.ca_pem = other.ca.cert_pem;
    const auto result = run_tls_handshake(server_of(dev), client);
    show(result);
    CHECK_FALSE(result.client.ok);
    CHECK(contains(result.client.error, "certificate verify"));
    CHECK_FALSE(result.server.ok);
}

TEST_CASE("the client checks the servers IP against its SANs", "[tls]") {
    auto client_expecting = [](const MachineCerts& certs) {
        auto client = client_of(certs);
        client.expected_ip = "10.1.2.3";
        return client;
    };

    SECTION("10.1.2.3 missing from the SANs: refused") {
        const auto certs = make_certs("dev", {"10.9.9.9", "dev.example.com"});
        const auto result = run_tls_handshake(server_of(certs), client_expecting(certs));
        show(result);
        CHECK_FALSE(result.client.ok);
        CHECK(contains(result.client.error, "IP address mismatch"));
        CHECK_FALSE(result.server.ok);
    }
    SECTION("10.1.2.3 in the SANs: accepted") {
        const auto certs = make_certs("dev", {"10.9.9.9", "10.1.2.3"});
        const auto result = run_tls_handshake(server_of(certs), client_expecting(certs));
        show(result);
        CHECK(result.client.ok);
        CHECK(result.server.ok);
    }
    SECTION("a re-issued server certificate with 10.1.2.3 is accepted by the same client") {
        const auto certs = make_certs("dev");
        berth::pki::MachineCertRequest request;
        request.machine = "dev";
        request.sans = {"10.1.2.3"};
        auto server = berth::pki::issue_server_cert(certs.ca, request);
        REQUIRE(server.has_value());
        const auto result =
            run_tls_handshake({*server, certs.ca.cert_pem}, client_expecting(certs));
        show(result);
        CHECK(result.client.ok);
        CHECK(result.server.ok);
    }
}

TEST_CASE("certificates are only good for their purpose in TLS", "[tls]") {
    const auto certs = make_certs("dev");
    SECTION("the client certificate used as a server certificate is refused by the client") {
        const auto result =
            run_tls_handshake({certs.client, certs.ca.cert_pem}, client_of(certs));
        show(result);
        CHECK_FALSE(result.client.ok);
        CHECK(contains(result.client.error, "certificate verify"));
    }
    SECTION("the server certificate used as a client certificate is refused by the server") {
        auto client = client_of(certs);
        client.identity = certs.server;
        const auto result = run_tls_handshake(server_of(certs), client);
        show(result);
        CHECK_FALSE(result.server.ok);
        CHECK(contains(result.server.error, "certificate verify"));
    }
}
