#pragma once
/// Certificates for one machine, made with OpenSSL. Each machine has its own CA, so a client
/// certificate opens only the machine it was issued for (docker-machine shares one CA for all).
/// Everything is PEM in memory; writing files (and their modes) is the Store's job.

#include <berth/core/error.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace berth::pki {

enum class KeyType { EcdsaP256, EcdsaP384, Rsa2048, Rsa4096 };

/// "ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-4096"; anything else is a Usage error.
[[nodiscard]] Result<KeyType> parse_key_type(std::string_view text);
[[nodiscard]] std::string_view to_string(KeyType type);

/// A certificate and its private key, both PEM (key: unencrypted PKCS#8).
struct CertAndKey {
    std::string cert_pem;
    std::string key_pem;
};

struct Validity {
    int ca_days = 1826;    ///< 5 years
    int leaf_days = 730;   ///< 2 years
    std::chrono::seconds backdate{300};  ///< notBefore = now - backdate (clock skew on new VMs)
};

/// What to put in a machine's certificates.
struct MachineCertRequest {
    std::string machine;             ///< CN of the server cert; named in the CA's and client's CN
    std::vector<std::string> sans;   ///< server SANs: IPs and DNS names, in order, de-duplicated;
                                     ///< 127.0.0.1 and localhost are always added
    KeyType key_type = KeyType::EcdsaP256;
    Validity validity;
};

/// A new CA, a server certificate (EKU serverAuth, SANs) and a client certificate (EKU
/// clientAuth), both signed by that CA.
struct MachineCerts {
    CertAndKey ca;
    CertAndKey server;
    CertAndKey client;
};

[[nodiscard]] Result<MachineCerts> make_machine_certs(const MachineCertRequest& request);

/// A new server certificate from an existing CA (used when the machine's address changes).
[[nodiscard]] Result<CertAndKey> issue_server_cert(const CertAndKey& ca,
                                                   const MachineCertRequest& request);
/// The CN of a machine's client certificate, "berth client for <machine>": what dockerd passes
/// berth-authz as the request's user, and what the default policy gives the owner's role.
[[nodiscard]] std::string client_common_name(std::string_view machine);

/// A new client certificate from an existing CA.
[[nodiscard]] Result<CertAndKey> issue_client_cert(const CertAndKey& ca,
                                                   const MachineCertRequest& request);

/// A client certificate (EKU clientAuth) with CN=`common_name` (one person's: `berth certs issue`)
/// from an existing CA, valid request.validity.leaf_days. The CN is put in as given (UTF-8, at
/// most 64 bytes); which CNs are acceptable is the caller's rule.
[[nodiscard]] Result<CertAndKey> issue_user_cert(const CertAndKey& ca, const MachineCertRequest& request,
                                                 std::string_view common_name);

/// Facts read back from a certificate, for `inspect`, checks and tests.
struct CertInfo {
    std::string subject_cn;
    std::string issuer_cn;
    std::vector<std::string> dns_sans;
    std::vector<std::string> ip_sans;
    std::chrono::system_clock::time_point not_before;
    std::chrono::system_clock::time_point not_after;
    bool is_ca = false;
    std::string sha256_fingerprint;  ///< "AB:CD:..." of the DER encoding
    std::string serial;              ///< upper-case hex, no separators, leading zero bytes dropped
                                     ///< (as `openssl x509 -serial` and berth-authz write it)
};

[[nodiscard]] Result<CertInfo> read_cert(std::string_view cert_pem);

/// The SAN list a server cert gets: 127.0.0.1 and localhost plus `sans`, de-duplicated in order.
[[nodiscard]] std::vector<std::string> server_sans(const std::vector<std::string>& sans);

}  // namespace berth::pki
