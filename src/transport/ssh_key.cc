#include <berth/transport/ssh_key.h>

#include <berth/store/atomic_file.h>

#include <libssh/libssh.h>

#include <memory>

namespace berth {
namespace {

struct KeyFree {
    void operator()(ssh_key key) const { ssh_key_free(key); }
};
using KeyPtr = std::unique_ptr<std::remove_pointer_t<ssh_key>, KeyFree>;

Result<std::string> pub_line(ssh_key key, const std::string& comment) {
    char* b64 = nullptr;
    if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) return fail("cannot encode the SSH public key");
    std::string line = std::string(ssh_key_type_to_char(ssh_key_type(key))) + " " + b64;
    ssh_string_free_char(b64);
    if (!comment.empty()) line += " " + comment;
    return line;
}

}  // namespace

Result<SshKeyPair> generate_ssh_key_pair(const std::string& comment) {
    ssh_key raw = nullptr;
    if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &raw) != SSH_OK) return fail("cannot generate an ed25519 key");
    KeyPtr key(raw);
    char* b64 = nullptr;
    if (ssh_pki_export_privkey_base64(key.get(), nullptr, nullptr, nullptr, &b64) != SSH_OK)
        return fail("cannot encode the SSH private key");
    std::string private_pem(b64);
    ssh_string_free_char(b64);
    if (!private_pem.ends_with("\n")) private_pem += "\n";
    auto line = pub_line(key.get(), comment);
    if (!line) return std::unexpected(line.error());
    return SshKeyPair{std::move(private_pem), std::move(*line)};
}

Result<void> generate_ssh_key(const std::filesystem::path& path, const std::string& comment) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec))
        return fail_kind(ErrorKind::Conflict, "SSH key " + path.string() + " exists already");
    auto pair = generate_ssh_key_pair(comment);
    if (!pair) return std::unexpected(pair.error());
    if (auto ok = write_file_atomic(path, pair->private_openssh, 0600); !ok) return ok;
    return write_file_atomic(path.string() + ".pub", pair->public_line + "\n", 0644);
}

Result<std::string> public_key_line(const std::filesystem::path& private_key) {
    ssh_key raw = nullptr;
    if (ssh_pki_import_privkey_file(private_key.c_str(), nullptr, nullptr, nullptr, &raw) != SSH_OK)
        return fail("cannot read the SSH private key " + private_key.string(),
                    "it must be an unencrypted OpenSSH or PEM private key");
    KeyPtr key(raw);
    ssh_key pub = nullptr;
    if (ssh_pki_export_privkey_to_pubkey(key.get(), &pub) != SSH_OK)
        return fail("cannot derive the public key of " + private_key.string());
    KeyPtr pub_key(pub);
    return pub_line(pub_key.get(), "");
}

}  // namespace berth
