#include <berth/transport/known_hosts.h>

#include <berth/store/atomic_file.h>

#include <libssh/libssh.h>

#include <fstream>
#include <memory>
#include <sstream>

namespace berth {
namespace {

struct KeyFree {
    void operator()(ssh_key key) const { ssh_key_free(key); }
};
using KeyPtr = std::unique_ptr<std::remove_pointer_t<ssh_key>, KeyFree>;

/// One line of a known_hosts file split into its host list and key ("" hosts for comments).
struct Line {
    std::string text;
    std::vector<std::string> hosts;
    PinnedKey key;
};

std::vector<Line> read_lines(const std::filesystem::path& file) {
    std::vector<Line> out;
    std::ifstream in(file);
    for (std::string text; std::getline(in, text);) {
        Line line{text, {}, {}};
        std::istringstream words(text);
        std::string hosts;
        words >> hosts >> line.key.type >> line.key.base64;
        if (!hosts.empty() && hosts[0] != '#' && hosts[0] != '@' && !line.key.base64.empty()) {
            std::istringstream list(hosts);
            for (std::string h; std::getline(list, h, ',');) line.hosts.push_back(h);
        }
        out.push_back(std::move(line));
    }
    return out;
}

bool names(const Line& line, const std::string& host) {
    for (const auto& h : line.hosts)
        if (h == host) return true;
    return false;
}

std::string pin_line(const std::string& alias, const PinnedKey& key) {
    return alias + " " + key.type + " " + key.base64 + "\n";
}

Result<void> write_lines(const std::filesystem::path& file, const std::string& text) {
    return write_file_atomic(file, text, 0600);
}

}  // namespace

std::string host_key_alias(std::string_view machine) { return "berth-" + std::string(machine); }

std::string known_hosts_address(const std::string& host, int port) {
    return port == 22 ? host : "[" + host + "]:" + std::to_string(port);
}

std::vector<PinnedKey> pinned_keys(const std::filesystem::path& file, const std::string& alias) {
    std::vector<PinnedKey> keys;
    for (const auto& line : read_lines(file))
        if (names(line, alias)) keys.push_back(line.key);
    return keys;
}

bool has_pinned_keys(const std::filesystem::path& file) {
    for (const auto& line : read_lines(file))
        if (!line.hosts.empty()) return true;
    return false;
}

namespace {

/// A line an older berth pinned by address: not one under a machine alias (unless it names the
/// address itself, a DNS name that happens to start with "berth-").
bool pinned_by_address(const Line& line, const std::string& address) {
    if (line.hosts.empty()) return false;
    if (names(line, address)) return true;
    for (const auto& h : line.hosts)
        if (h.starts_with("berth-")) return false;
    return true;
}

}  // namespace

Result<bool> migrate_known_hosts(const std::filesystem::path& file, const std::string& address,
                                 const std::string& alias) {
    const auto lines = read_lines(file);
    bool any_for_address = false;
    for (const auto& line : lines) {
        if (names(line, alias)) return false;
        any_for_address = any_for_address || names(line, address);
    }
    std::string text;
    bool moved = false;
    for (const auto& line : lines) {
        const bool take = pinned_by_address(line, address) && (!any_for_address || names(line, address));
        text += take ? pin_line(alias, line.key) : line.text + "\n";
        moved = moved || take;
    }
    if (!moved) return false;
    if (auto ok = write_lines(file, text); !ok) return std::unexpected(ok.error());
    return true;
}

Result<void> pin_host_key(const std::filesystem::path& file, const std::string& alias, const PinnedKey& key,
                          bool replace) {
    std::string text;
    for (const auto& line : read_lines(file))
        if (!(replace && names(line, alias))) text += line.text + "\n";
    text += pin_line(alias, key);
    if (auto ok = write_lines(file, text); !ok)
        return fail("cannot pin the host key in " + file.string() + ": " + ok.error().message);
    return {};
}

std::string fingerprint_of(const PinnedKey& key) {
    ssh_key raw = nullptr;
    if (ssh_pki_import_pubkey_base64(key.base64.c_str(), ssh_key_type_from_name(key.type.c_str()), &raw) != SSH_OK)
        return "?";
    KeyPtr owned(raw);
    unsigned char* hash = nullptr;
    size_t len = 0;
    if (ssh_get_publickey_hash(raw, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) != SSH_OK) return "?";
    char* text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, len);
    std::string out = text != nullptr ? text : "?";
    ssh_string_free_char(text);
    ssh_clean_pubkey_hash(&hash);
    return out;
}

bool is_sha256_fingerprint(std::string_view text) {
    constexpr std::string_view prefix = "SHA256:";
    if (!text.starts_with(prefix) || text.size() != prefix.size() + 43) return false;
    for (char c : text.substr(prefix.size())) {
        const bool b64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                         c == '/';
        if (!b64) return false;
    }
    return true;
}

Result<PinnedKey> parse_public_key_line(std::string_view line) {
    std::istringstream words{std::string(line)};
    PinnedKey key;
    words >> key.type >> key.base64;
    ssh_key raw = nullptr;
    if (key.base64.empty() ||
        ssh_pki_import_pubkey_base64(key.base64.c_str(), ssh_key_type_from_name(key.type.c_str()), &raw) != SSH_OK)
        return fail_usage("\"" + std::string(line.substr(0, 80)) + "\" is not an SSH public key line",
                          "give the host's key as \"ssh-ed25519 AAAA...\" (its /etc/ssh/ssh_host_ed25519_key.pub)");
    KeyPtr owned(raw);
    if (std::string(ssh_key_type_to_char(ssh_key_type(raw))) != key.type)
        return fail_usage("the key type \"" + key.type + "\" does not match the key's own type");
    return key;
}

}  // namespace berth
