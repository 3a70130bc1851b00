#pragma once
// A docker-machine 0.16 store written as docker-machine writes one (libmachine/persist/
// filestore.go, cert/bootstrap.go, provision/utils.go): certs/{ca,ca-key,cert,key}.pem, and per
// machine machines/NAME/{config.json, id_rsa, id_rsa.pub, ca.pem, cert.pem, key.pem, server.pem,
// server-key.pem}, with real RSA certificates and keys made by the openssl CLI (PKCS#1 keys, as Go's
// x509.MarshalPKCS1PrivateKey writes). config.json has every field 0.16 writes for the generic and
// virtualbox drivers. For `berth import`'s tests; nothing of berth is used to write it.

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace berth::test {

class DockerMachineStore {
public:
    /// Makes `root` with certs/ (a CA, a client certificate), as `docker-machine create` does first.
    explicit DockerMachineStore(std::filesystem::path root);

    [[nodiscard]] const std::filesystem::path& root() const { return m_root; }
    [[nodiscard]] std::filesystem::path machine_dir(const std::string& name) const { return m_root / "machines" / name; }

    /// A generic machine at `ip`:`ssh_port` logged into with `key` (copied to id_rsa): its config.json.
    nlohmann::json add_generic(const std::string& name, const std::string& ip, int ssh_port,
                               const std::filesystem::path& key, const std::string& user = "root");
    /// A virtualbox machine (boot2docker) with its host-only address `ip` and SSH forward on `ssh_port`.
    nlohmann::json add_virtualbox(const std::string& name, const std::string& ip, int ssh_port);
    /// Replaces a machine's config.json (hostile-input tests), written as docker-machine does (4-space indent, 0600).
    void write_config(const std::string& name, const nlohmann::json& config) const;

private:
    nlohmann::json base_config(const std::string& name, const std::string& driver) const;
    void machine_files(const std::string& name, const std::string& ip) const;
    std::filesystem::path m_root;
    std::filesystem::path m_work;  ///< CSRs and extension files, outside the store
};

/// Every entry under `dir` with its type, mode, size, mtime (ns) and content's SHA-256: equal
/// before and after means nothing in the tree was changed, added, removed or touched.
[[nodiscard]] std::string tree_snapshot(const std::filesystem::path& dir);

/// SHA-256 fingerprint "AB:CD:..." of a PEM certificate, from `openssl x509 -fingerprint`.
[[nodiscard]] std::string openssl_fingerprint(const std::filesystem::path& cert);

}  // namespace berth::test
