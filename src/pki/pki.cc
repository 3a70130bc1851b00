#include <berth/pki/pki.h>

#include <berth/pki/openssl_ptr.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <array>
#include <climits>
#include <ctime>
#include <memory>

namespace berth::pki {
namespace {

// RFC 5280 ub-common-name; OpenSSL refuses a longer CN outright.
constexpr std::size_t k_max_cn_chars = 64;
constexpr std::size_t k_serial_bytes = 16;

/// Drains the calling thread's OpenSSL error queue into one line.
std::string take_openssl_errors() {
    std::string text;
    while (unsigned long code = ERR_get_error()) {
        std::array<char, 256> buf{};
        ERR_error_string_n(code, buf.data(), buf.size());
        if (!text.empty()) text += "; ";
        text += buf.data();
    }
    ERR_clear_error();
    return text.empty() ? "no OpenSSL error reported" : text;
}

std::unexpected<Error> openssl_fail(const std::string& what) {
    return fail(what + ": " + take_openssl_errors());
}

Result<BioPtr> memory_bio(std::string_view data) {
    if (data.size() > static_cast<std::size_t>(INT_MAX)) return fail("PEM data is too large");
    BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    if (!bio) return openssl_fail("cannot create a memory BIO");
    return bio;
}

Result<std::string> bio_contents(BIO* bio) {
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    if (len < 0 || (len > 0 && data == nullptr)) return openssl_fail("cannot read a memory BIO");
    return std::string(data, static_cast<std::size_t>(len));
}

// Never prompts on the terminal for a passphrase (the default callback would).
int no_passphrase(char*, int, int, void*) { return -1; }

Result<X509Ptr> parse_cert(std::string_view pem, const std::string& what) {
    auto bio = memory_bio(pem);
    if (!bio) return std::unexpected(bio.error());
    X509Ptr cert(PEM_read_bio_X509(bio->get(), nullptr, no_passphrase, nullptr));
    if (!cert) return openssl_fail("cannot parse the " + what + " certificate PEM");
    return cert;
}

Result<PkeyPtr> parse_key(std::string_view pem, const std::string& what) {
    auto bio = memory_bio(pem);
    if (!bio) return std::unexpected(bio.error());
    PkeyPtr key(PEM_read_bio_PrivateKey(bio->get(), nullptr, no_passphrase, nullptr));
    if (!key) return openssl_fail("cannot parse the " + what + " private key PEM");
    return key;
}

Result<PkeyPtr> generate_key(KeyType type) {
    const bool rsa = type == KeyType::Rsa2048 || type == KeyType::Rsa4096;
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, rsa ? "RSA" : "EC", nullptr));
    if (!ctx) return openssl_fail("cannot create a key generation context");
    if (EVP_PKEY_keygen_init(ctx.get()) <= 0)
        return openssl_fail("cannot initialise key generation");
    switch (type) {
        case KeyType::EcdsaP256:
        case KeyType::EcdsaP384:
            if (EVP_PKEY_CTX_set_group_name(ctx.get(),
                                            type == KeyType::EcdsaP256 ? "P-256" : "P-384") <= 0)
                return openssl_fail("cannot select the EC curve");
            break;
        case KeyType::Rsa2048:
        case KeyType::Rsa4096:
            if (EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), type == KeyType::Rsa2048 ? 2048 : 4096) <= 0)
                return openssl_fail("cannot set the RSA key size");
            break;
    }
    EVP_PKEY* raw = nullptr;
    if (EVP_PKEY_generate(ctx.get(), &raw) <= 0)
        return openssl_fail("cannot generate a " + std::string(to_string(type)) + " key");
    return PkeyPtr(raw);
}

Result<std::string> key_to_pem(EVP_PKEY* key) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio) return openssl_fail("cannot create a memory BIO");
    if (PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return openssl_fail("cannot write the private key as PKCS#8 PEM");
    return bio_contents(bio.get());
}

Result<std::string> cert_to_pem(X509* cert) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio) return openssl_fail("cannot create a memory BIO");
    if (PEM_write_bio_X509(bio.get(), cert) != 1)
        return openssl_fail("cannot write the certificate as PEM");
    return bio_contents(bio.get());
}

Result<CertAndKey> to_pems(X509* cert, EVP_PKEY* key) {
    auto cert_pem = cert_to_pem(cert);
    if (!cert_pem) return std::unexpected(cert_pem.error());
    auto key_pem = key_to_pem(key);
    if (!key_pem) return std::unexpected(key_pem.error());
    return CertAndKey{std::move(*cert_pem), std::move(*key_pem)};
}

/// At most k_max_cn_chars UTF-8 characters, cut on a character boundary.
std::string fit_common_name(const std::string& cn) {
    std::size_t chars = 0;
    for (std::size_t i = 0; i < cn.size(); ++i) {
        const auto byte = static_cast<unsigned char>(cn[i]);
        if ((byte & 0xC0) != 0x80 && chars++ == k_max_cn_chars) return cn.substr(0, i);
    }
    return cn;
}

Result<void> set_name(X509_NAME* name, const std::string& cn, bool with_org) {
    const std::string fitted = fit_common_name(cn);
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(fitted.c_str()), -1, -1,
                                   0) != 1)
        return openssl_fail("cannot set the certificate common name \"" + fitted + "\"");
    if (with_org &&
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>("berth"), -1, -1, 0) != 1)
        return openssl_fail("cannot set the certificate organisation");
    return {};
}

Result<void> set_random_serial(X509* cert) {
    std::array<unsigned char, k_serial_bytes> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
        return openssl_fail("cannot generate a random serial number");
    // Top bit clear keeps the DER INTEGER positive at 16 bytes; the next bit set keeps it non-zero.
    bytes[0] = static_cast<unsigned char>((bytes[0] & 0x7F) | 0x40);
    BnPtr bn(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
    if (!bn) return openssl_fail("cannot convert the serial number");
    if (BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr)
        return openssl_fail("cannot set the serial number");
    return {};
}

Result<void> set_validity(X509* cert, int days, std::chrono::seconds backdate) {
    if (days <= 0) return fail_usage("certificate validity must be at least one day");
    if (backdate.count() < 0) return fail_usage("certificate backdate cannot be negative");
    const std::time_t now = std::time(nullptr);
    if (ASN1_TIME_adj(X509_getm_notBefore(cert), now, 0, -static_cast<long>(backdate.count())) ==
        nullptr)
        return openssl_fail("cannot set notBefore");
    if (ASN1_TIME_adj(X509_getm_notAfter(cert), now, days, 0) == nullptr)
        return openssl_fail("cannot set notAfter");
    return {};
}

/// Adds an extension written in OpenSSL's config syntax (only fixed strings: no user input).
Result<void> add_conf_ext(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
    ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
    if (!ext) return openssl_fail(std::string("cannot build the ") + OBJ_nid2sn(nid) + " extension");
    if (X509_add_ext(cert, ext.get(), -1) != 1)
        return openssl_fail(std::string("cannot add the ") + OBJ_nid2sn(nid) + " extension");
    return {};
}

/// Letters, digits and "-._*" only (IA5String must be ASCII; "*" for wildcards). Catches
/// "host:port", "10.0.0.0/8" and stray spaces, which would make a SAN that never matches.
bool is_dns_name(std::string_view name) {
    if (name.empty()) return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '.' || c == '_' || c == '*';
        if (!ok) return false;
    }
    return true;
}

Result<void> add_sans(X509* cert, const std::vector<std::string>& sans) {
    GeneralNamesPtr names(GENERAL_NAMES_new());
    if (!names) return openssl_fail("cannot allocate subjectAltName");
    for (const auto& san : sans) {
        GeneralNamePtr name(GENERAL_NAME_new());
        if (!name) return openssl_fail("cannot allocate a subjectAltName entry");
        std::array<unsigned char, 16> addr{};
        int addr_len = 0;
        if (::inet_pton(AF_INET, san.c_str(), addr.data()) == 1) addr_len = 4;
        else if (::inet_pton(AF_INET6, san.c_str(), addr.data()) == 1) addr_len = 16;
        if (addr_len != 0) {
            OctetStringPtr ip(ASN1_OCTET_STRING_new());
            if (!ip || ASN1_OCTET_STRING_set(ip.get(), addr.data(), addr_len) != 1)
                return openssl_fail("cannot encode the IP SAN " + san);
            GENERAL_NAME_set0_value(name.get(), GEN_IPADD, ip.release());
        } else {
            if (!is_dns_name(san))
                return fail_usage("invalid SAN \"" + san + "\"",
                                  "a SAN is an IPv4 or IPv6 address, or a DNS name");
            Ia5StringPtr dns(ASN1_IA5STRING_new());
            if (!dns || ASN1_STRING_set(dns.get(), san.data(), static_cast<int>(san.size())) != 1)
                return openssl_fail("cannot encode the DNS SAN " + san);
            GENERAL_NAME_set0_value(name.get(), GEN_DNS, dns.release());
        }
        if (sk_GENERAL_NAME_push(names.get(), name.get()) == 0)
            return openssl_fail("cannot add the SAN " + san);
        name.release();
    }
    if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1)
        return openssl_fail("cannot add the subjectAltName extension");
    return {};
}

bool is_rsa(EVP_PKEY* key) { return EVP_PKEY_is_a(key, "RSA") == 1; }

/// SHA-384 for a P-384 signer, SHA-256 otherwise: the digest follows the signing key.
const EVP_MD* digest_for(EVP_PKEY* signer) {
    std::array<char, 64> group{};
    std::size_t len = 0;
    if (EVP_PKEY_is_a(signer, "EC") == 1 &&
        EVP_PKEY_get_group_name(signer, group.data(), group.size(), &len) == 1) {
        const std::string_view name(group.data(), len);
        if (name == "secp384r1" || name == "P-384") return EVP_sha384();
    }
    ERR_clear_error();
    return EVP_sha256();
}

/// A certificate with version, serial, validity, subject, issuer name and public key set.
Result<X509Ptr> new_cert(EVP_PKEY* key, const std::string& cn, bool with_org,
                         X509_NAME* issuer_name, int days, std::chrono::seconds backdate) {
    X509Ptr cert(X509_new());
    if (!cert) return openssl_fail("cannot allocate a certificate");
    if (X509_set_version(cert.get(), X509_VERSION_3) != 1)
        return openssl_fail("cannot set the certificate version");
    if (auto r = set_random_serial(cert.get()); !r) return std::unexpected(r.error());
    if (auto r = set_validity(cert.get(), days, backdate); !r) return std::unexpected(r.error());
    if (auto r = set_name(X509_get_subject_name(cert.get()), cn, with_org); !r)
        return std::unexpected(r.error());
    X509_NAME* issuer = issuer_name != nullptr ? issuer_name : X509_get_subject_name(cert.get());
    if (X509_set_issuer_name(cert.get(), issuer) != 1)
        return openssl_fail("cannot set the issuer name");
    if (X509_set_pubkey(cert.get(), key) != 1) return openssl_fail("cannot set the public key");
    return cert;
}

Result<void> sign(X509* cert, EVP_PKEY* signer) {
    if (X509_sign(cert, signer, digest_for(signer)) <= 0)
        return openssl_fail("cannot sign the certificate");
    return {};
}

Result<void> check_machine(const MachineCertRequest& request) {
    if (request.machine.empty()) return fail_usage("a machine name is needed for its certificates");
    return {};
}

struct Signer {
    X509Ptr cert;
    PkeyPtr key;
};

Result<Signer> make_ca(const MachineCertRequest& request) {
    auto key = generate_key(request.key_type);
    if (!key) return std::unexpected(key.error());
    auto cert = new_cert(key->get(), "berth CA for " + request.machine, true, nullptr,
                         request.validity.ca_days, request.validity.backdate);
    if (!cert) return std::unexpected(cert.error());
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, cert->get(), cert->get(), nullptr, nullptr, 0);
    for (const auto& [nid, value] :
         {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
          std::pair{NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"},
          std::pair{NID_subject_key_identifier, "hash"}}) {
        if (auto r = add_conf_ext(cert->get(), &ctx, nid, value); !r)
            return std::unexpected(r.error());
    }
    if (auto r = sign(cert->get(), key->get()); !r) return std::unexpected(r.error());
    return Signer{std::move(*cert), std::move(*key)};
}

Result<Signer> load_ca(const CertAndKey& ca) {
    auto cert = parse_cert(ca.cert_pem, "CA");
    if (!cert) return std::unexpected(cert.error());
    auto key = parse_key(ca.key_pem, "CA");
    if (!key) return std::unexpected(key.error());
    if (X509_check_private_key(cert->get(), key->get()) != 1)
        return openssl_fail("the CA private key does not match the CA certificate");
    if (X509_check_ca(cert->get()) == 0) {
        ERR_clear_error();
        return fail("the CA certificate is not a certificate authority");
    }
    return Signer{std::move(*cert), std::move(*key)};
}

enum class LeafKind { Server, Client };

}  // namespace

std::string client_common_name(std::string_view machine) { return "berth client for " + std::string(machine); }

namespace {

Result<CertAndKey> issue_leaf(const Signer& ca, const MachineCertRequest& request, LeafKind kind,
                              std::string_view user_cn = {}) {
    if (auto r = check_machine(request); !r) return std::unexpected(r.error());
    auto key = generate_key(request.key_type);
    if (!key) return std::unexpected(key.error());
    const bool server = kind == LeafKind::Server;
    const std::string cn = server ? request.machine
                           : user_cn.empty() ? client_common_name(request.machine)
                                             : std::string(user_cn);
    auto cert = new_cert(key->get(), cn,
                         false, X509_get_subject_name(ca.cert.get()), request.validity.leaf_days,
                         request.validity.backdate);
    if (!cert) return std::unexpected(cert.error());
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca.cert.get(), cert->get(), nullptr, nullptr, 0);
    const char* key_usage = server && is_rsa(key->get()) ? "critical,digitalSignature,keyEncipherment"
                                                         : "critical,digitalSignature";
    for (const auto& [nid, value] :
         {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
          std::pair{NID_key_usage, key_usage},
          std::pair{NID_ext_key_usage, server ? "serverAuth" : "clientAuth"},
          std::pair{NID_subject_key_identifier, "hash"},
          // keyid when the CA has a subjectKeyIdentifier (ours always do), issuer+serial if not.
          std::pair{NID_authority_key_identifier, "keyid,issuer"}}) {
        if (auto r = add_conf_ext(cert->get(), &ctx, nid, value); !r)
            return std::unexpected(r.error());
    }
    if (server) {
        if (auto r = add_sans(cert->get(), server_sans(request.sans)); !r)
            return std::unexpected(r.error());
    }
    if (auto r = sign(cert->get(), ca.key.get()); !r) return std::unexpected(r.error());
    return to_pems(cert->get(), key->get());
}

Result<std::string> entry_text(X509_NAME* name, const std::string& what) {
    const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (index < 0) return std::string();
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len < 0) return openssl_fail("cannot decode the " + what + " common name");
    OpenSslBytes owned(utf8);
    return std::string(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(len));
}

Result<std::chrono::system_clock::time_point> time_point(const ASN1_TIME* time,
                                                         const std::string& what) {
    std::tm tm{};
    if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1)
        return openssl_fail("cannot read the certificate's " + what);
    return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

Result<std::string> sha256_fingerprint(X509* cert) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (X509_digest(cert, EVP_sha256(), md.data(), &len) != 1)
        return openssl_fail("cannot compute the certificate fingerprint");
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        if (i != 0) out += ':';
        out += k_hex[md[i] >> 4];
        out += k_hex[md[i] & 0x0F];
    }
    return out;
}

Result<std::string> serial_hex(X509* cert) {
    BnPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
    if (!bn) return openssl_fail("cannot read the certificate's serial number");
    char* hex = BN_bn2hex(bn.get());
    if (hex == nullptr) return openssl_fail("cannot print the certificate's serial number");
    OpenSslBytes owned(reinterpret_cast<unsigned char*>(hex));
    return std::string(hex);
}

}  // namespace

Result<KeyType> parse_key_type(std::string_view text) {
    for (KeyType type : {KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::Rsa2048, KeyType::Rsa4096}) {
        if (text == to_string(type)) return type;
    }
    return fail_usage("unknown key type \"" + std::string(text) + "\"",
                      "use one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-4096");
}

std::string_view to_string(KeyType type) {
    switch (type) {
        case KeyType::EcdsaP256: return "ecdsa-p256";
        case KeyType::EcdsaP384: return "ecdsa-p384";
        case KeyType::Rsa2048: return "rsa-2048";
        case KeyType::Rsa4096: return "rsa-4096";
    }
    return "unknown";
}

std::vector<std::string> server_sans(const std::vector<std::string>& sans) {
    std::vector<std::string> out;
    auto add = [&out](const std::string& san) {
        if (san.empty()) return;
        for (const auto& have : out) {
            if (have == san) return;
        }
        out.push_back(san);
    };
    add("127.0.0.1");
    add("localhost");
    for (const auto& san : sans) add(san);
    return out;
}

Result<MachineCerts> make_machine_certs(const MachineCertRequest& request) {
    if (auto r = check_machine(request); !r) return std::unexpected(r.error());
    auto ca = make_ca(request);
    if (!ca) return std::unexpected(ca.error());
    auto ca_pems = to_pems(ca->cert.get(), ca->key.get());
    if (!ca_pems) return std::unexpected(ca_pems.error());
    auto server = issue_leaf(*ca, request, LeafKind::Server);
    if (!server) return std::unexpected(server.error());
    auto client = issue_leaf(*ca, request, LeafKind::Client);
    if (!client) return std::unexpected(client.error());
    return MachineCerts{std::move(*ca_pems), std::move(*server), std::move(*client)};
}

Result<CertAndKey> issue_server_cert(const CertAndKey& ca, const MachineCertRequest& request) {
    auto signer = load_ca(ca);
    if (!signer) return std::unexpected(signer.error());
    return issue_leaf(*signer, request, LeafKind::Server);
}

Result<CertAndKey> issue_client_cert(const CertAndKey& ca, const MachineCertRequest& request) {
    auto signer = load_ca(ca);
    if (!signer) return std::unexpected(signer.error());
    return issue_leaf(*signer, request, LeafKind::Client);
}

Result<CertAndKey> issue_user_cert(const CertAndKey& ca, const MachineCertRequest& request,
                                   std::string_view common_name) {
    if (common_name.empty() || common_name.size() > 64)
        return fail_usage("a user certificate's CN must be 1 to 64 bytes, not " + std::to_string(common_name.size()));
    auto signer = load_ca(ca);
    if (!signer) return std::unexpected(signer.error());
    return issue_leaf(*signer, request, LeafKind::Client, common_name);
}

Result<CertInfo> read_cert(std::string_view cert_pem) {
    auto cert = parse_cert(cert_pem, "given");
    if (!cert) return std::unexpected(cert.error());
    CertInfo info;
    auto subject = entry_text(X509_get_subject_name(cert->get()), "subject");
    if (!subject) return std::unexpected(subject.error());
    info.subject_cn = std::move(*subject);
    auto issuer = entry_text(X509_get_issuer_name(cert->get()), "issuer");
    if (!issuer) return std::unexpected(issuer.error());
    info.issuer_cn = std::move(*issuer);

    int crit = 0;
    GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert->get(), NID_subject_alt_name, &crit, nullptr)));
    if (!names && crit != -1) return openssl_fail("cannot decode the subjectAltName extension");
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
        if (name->type == GEN_DNS) {
            const ASN1_IA5STRING* dns = name->d.dNSName;
            info.dns_sans.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                       static_cast<std::size_t>(ASN1_STRING_length(dns)));
        } else if (name->type == GEN_IPADD) {
            const ASN1_OCTET_STRING* ip = name->d.iPAddress;
            const int len = ASN1_STRING_length(ip);
            std::array<char, INET6_ADDRSTRLEN> text{};
            if ((len == 4 || len == 16) &&
                ::inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip), text.data(),
                            text.size()) != nullptr)
                info.ip_sans.emplace_back(text.data());
        }
    }

    auto not_before = time_point(X509_get0_notBefore(cert->get()), "notBefore");
    if (!not_before) return std::unexpected(not_before.error());
    info.not_before = *not_before;
    auto not_after = time_point(X509_get0_notAfter(cert->get()), "notAfter");
    if (!not_after) return std::unexpected(not_after.error());
    info.not_after = *not_after;
    info.is_ca = (X509_get_extension_flags(cert->get()) & EXFLAG_CA) != 0;
    auto fingerprint = sha256_fingerprint(cert->get());
    if (!fingerprint) return std::unexpected(fingerprint.error());
    info.sha256_fingerprint = std::move(*fingerprint);
    auto serial = serial_hex(cert->get());
    if (!serial) return std::unexpected(serial.error());
    info.serial = std::move(*serial);
    ERR_clear_error();
    return info;
}

}  // namespace berth::pki
