#pragma once
/// A machine's own known_hosts file: its SSH host keys pinned under the machine's alias
/// ("berth-NAME", OpenSSH's HostKeyAlias), not under an address, so the same key at a new address
/// (a new DHCP lease, a moved port) is still the machine's key. Files that older berth versions
/// pinned by address ("host" or "[host]:port") are rewritten to the alias on first use.

#include <berth/core/error.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

/// The name a machine's host keys are pinned under: "berth-NAME".
[[nodiscard]] std::string host_key_alias(std::string_view machine);

/// How OpenSSH (and berth before pinning by alias) names an address: "host" on port 22,
/// "[host]:port" otherwise.
[[nodiscard]] std::string known_hosts_address(const std::string& host, int port);

/// One pinned public key: its type ("ssh-ed25519") and base64 blob.
struct PinnedKey {
    std::string type;
    std::string base64;
};

/// The keys pinned for `alias` in `file` (none when the file does not exist).
[[nodiscard]] std::vector<PinnedKey> pinned_keys(const std::filesystem::path& file, const std::string& alias);

/// True when `file` pins at least one key under any name.
[[nodiscard]] bool has_pinned_keys(const std::filesystem::path& file);

/// An old file pinned by address: when no line names `alias`, the lines for `address` (or, when
/// none names it, every line pinned by address: the file holds only this machine's keys) are
/// pinned under `alias` instead. True when the file was rewritten.
[[nodiscard]] Result<bool> migrate_known_hosts(const std::filesystem::path& file, const std::string& address,
                                               const std::string& alias);

/// Pins `key` under `alias` (0600), replacing every key pinned under it before when `replace`.
[[nodiscard]] Result<void> pin_host_key(const std::filesystem::path& file, const std::string& alias,
                                        const PinnedKey& key, bool replace);

/// "SHA256:..." (OpenSSH's form) of a public key; "?" when the blob does not decode.
[[nodiscard]] std::string fingerprint_of(const PinnedKey& key);

/// True for OpenSSH's SHA-256 fingerprint form: "SHA256:" and 43 unpadded base64 characters.
[[nodiscard]] bool is_sha256_fingerprint(std::string_view text);

/// The key of a public key line ("ssh-ed25519 AAAA... comment"); an error says what is wrong.
[[nodiscard]] Result<PinnedKey> parse_public_key_line(std::string_view line);

}  // namespace berth
