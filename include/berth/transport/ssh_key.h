#pragma once
/// SSH keys berth makes and reads: an ed25519 key per machine (id_ed25519, 0600, and
/// id_ed25519.pub), and fingerprints in OpenSSH's "SHA256:..." form.

#include <berth/core/error.h>

#include <filesystem>
#include <string>

namespace berth {

/// Makes a new ed25519 key pair: `path` (OpenSSH private key format, 0600) and `path`.pub
/// ("ssh-ed25519 AAAA... comment", 0644). Refuses to overwrite an existing key.
[[nodiscard]] Result<void> generate_ssh_key(const std::filesystem::path& path, const std::string& comment);

/// A new ed25519 key pair in memory: the private key in OpenSSH's format (ends in a newline) and
/// its public key line ("ssh-ed25519 AAAA... comment").
struct SshKeyPair {
    std::string private_openssh;
    std::string public_line;
};
[[nodiscard]] Result<SshKeyPair> generate_ssh_key_pair(const std::string& comment);

/// "ssh-ed25519 AAAA..." of the private key at `path` (any type libssh reads).
[[nodiscard]] Result<std::string> public_key_line(const std::filesystem::path& private_key);

}  // namespace berth
