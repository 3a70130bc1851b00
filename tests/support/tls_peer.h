#pragma once
/// A real mutual-TLS handshake over loopback TCP, for tests of the certificates berth makes.
/// The server listens on 127.0.0.1 (ephemeral port) in its own thread and requires a client
/// certificate; the client verifies the server's chain and IP address.

#include <berth/pki/pki.h>

#include <chrono>
#include <optional>
#include <string>

namespace berth::test {

struct TlsServerConfig {
    pki::CertAndKey identity;  ///< the server's certificate and key
    std::string ca_pem;        ///< the CA that client certificates must chain to
};

struct TlsClientConfig {
    std::string ca_pem;                       ///< the CA that the server certificate must chain to
    std::string expected_ip = "127.0.0.1";    ///< must be an IP SAN of the server certificate
    std::optional<pki::CertAndKey> identity;  ///< the client certificate, if any
};

/// One side's outcome. `error` is empty on success, else the OpenSSL error queue text and, if
/// certificate verification failed, the verify error ("certificate verify: ...").
struct TlsSideResult {
    bool ok = false;
    std::string error;
};

struct TlsHandshakeResult {
    TlsSideResult server;  ///< ok: SSL_accept succeeded (the client certificate was accepted)
    /// ok: SSL_connect succeeded and the server's greeting was read. With TLS 1.3 the client
    /// finishes its handshake before the server has judged the client certificate, so only the
    /// first read tells the client whether the server accepted it.
    TlsSideResult client;
};

/// Runs one handshake. Never hangs: every wait on the network is bounded by `timeout`.
[[nodiscard]] TlsHandshakeResult run_tls_handshake(
    const TlsServerConfig& server, const TlsClientConfig& client,
    std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace berth::test
