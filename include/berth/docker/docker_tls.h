#pragma once
/// The client side of one machine's mutual TLS: which files the Docker API is reached with.

#include <filesystem>

namespace berth {

/// The PEM files a client needs to talk to one machine's dockerd.
struct DockerTls {
    std::filesystem::path ca;    ///< the machine's CA certificate (ca.pem)
    std::filesystem::path cert;  ///< the client certificate (cert.pem)
    std::filesystem::path key;   ///< the client key (key.pem); never read into messages
};

}  // namespace berth
