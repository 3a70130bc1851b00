#pragma once
/// The on-disk store: <root>/machines/<name>/ holds machine.json, the machine's keys and
/// certificates; <root>/locks/<name>.lock serialises writers of one machine; <root>/cache/ holds
/// downloaded images and what drivers keep to save work (cache/libvirt-volumes/: the libvirt
/// driver's records of the shared volumes it verified). Directories are 0700, keys 0600; every write is atomic (atomic_file.h).
/// Readers take no lock: they always see a whole record, old or new.

#include <berth/core/error.h>
#include <berth/store/atomic_file.h>
#include <berth/store/file_lock.h>
#include <berth/store/machine_record.h>

#include <filesystem>
#include <string>
#include <vector>

namespace berth {

/// File names inside a machine's directory. The three the docker CLI reads (ca.pem, cert.pem,
/// key.pem) live in its certs/ subdirectory, where DOCKER_CERT_PATH points, and nothing else does:
/// the CA's key, the server's key, the SSH key and known_hosts stay beside machine.json, so a copy
/// of DOCKER_CERT_PATH (for CI) cannot mint certificates or log in. Schema 1 stores kept all of
/// them in the machine's directory; they move on the first save (or locked load) of the machine.
inline constexpr const char* k_record_file = "machine.json";
inline constexpr const char* k_ca_cert_file = "ca.pem";
inline constexpr const char* k_ca_key_file = "ca-key.pem";
inline constexpr const char* k_client_cert_file = "cert.pem";
inline constexpr const char* k_client_key_file = "key.pem";
inline constexpr const char* k_server_cert_file = "server.pem";
inline constexpr const char* k_server_key_file = "server-key.pem";
inline constexpr const char* k_known_hosts_file = "known_hosts";  ///< the pinned SSH host key
inline constexpr const char* k_cert_dir = "certs";                ///< DOCKER_CERT_PATH (0700)
inline constexpr const char* k_authz_policy_file = "authz.yaml";  ///< --authz-policy's copy (0600)

class Store {
public:
    explicit Store(std::filesystem::path root);

    /// The store berth uses when no --storage-path is given: $BERTH_STORAGE_PATH, else
    /// $HOME/.berth (HOME from the password database when unset).
    [[nodiscard]] static std::filesystem::path default_root();

    [[nodiscard]] const std::filesystem::path& root() const { return m_root; }
    [[nodiscard]] std::filesystem::path machines_dir() const { return m_root / "machines"; }
    [[nodiscard]] std::filesystem::path machine_dir(std::string_view name) const;
    /// A machine's file: ca.pem, cert.pem and key.pem in its cert_dir() (or where a schema 1 store
    /// still has them), every other one in its directory.
    [[nodiscard]] std::filesystem::path machine_file(std::string_view name, std::string_view file) const;
    /// The directory DOCKER_CERT_PATH names: <machine>/certs, or <machine> itself while a schema 1
    /// store still has its client files there.
    [[nodiscard]] std::filesystem::path cert_dir(std::string_view name) const;

    /// Creates root, machines/ and locks/ (0700) if missing. An existing root must be empty or a
    /// berth store (machines/, locks/ or cache/images/ in it): any other directory is refused (a
    /// Usage error), and no directory berth did not make has its mode changed.
    [[nodiscard]] Result<void> ensure_layout() const;

    /// True if machines/<name>/ exists (with or without a readable record).
    [[nodiscard]] bool exists(std::string_view name) const;

    /// NotFound (with a hint to `berth ls`) when there is no such machine. A record of an older
    /// schema is migrated (files moved, record rewritten) when the machine's lock is free; else it
    /// is read in place and the lock's holder migrates it when it saves.
    [[nodiscard]] Result<MachineRecord> load(std::string_view name) const;

    /// Writes machine.json atomically (always the current schema), creating the machine's
    /// directory (0700) if needed; first moves a schema 1 layout's client files into certs/.
    /// Callers hold the machine's lock.
    [[nodiscard]] Result<void> save(const MachineRecord& record,
                                    const AtomicWriteHooks& hooks = {}) const;

    /// Writes a file in the machine's directory atomically with `mode` (0600 for keys).
    [[nodiscard]] Result<void> write_file(std::string_view name, std::string_view file,
                                          std::string_view content, unsigned mode) const;

    /// Names of all machine directories, in natural order ("n2" before "n10"). Temp files and
    /// other non-directories are skipped; so is an entry whose type cannot be read (a symlink
    /// loop), with a warning. Never throws.
    [[nodiscard]] Result<std::vector<std::string>> list_names() const;

    /// Exclusive lock on one machine, without waiting (Conflict if held).
    [[nodiscard]] Result<FileLock> lock(std::string_view name) const;

    /// Deletes machines/<name>/ and everything in it.
    [[nodiscard]] Result<void> remove_machine_dir(std::string_view name) const;

private:
    std::filesystem::path m_root;
};

/// "n2" < "n10": digit runs compare by value, the rest case-insensitively.
[[nodiscard]] bool natural_less(std::string_view a, std::string_view b);

}  // namespace berth
