#include <berth/store/store.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace berth {
namespace fs = std::filesystem;

Store::Store(fs::path root) : m_root(std::move(root)) {}

fs::path Store::default_root() {
    if (const char* env = std::getenv("BERTH_STORAGE_PATH"); env != nullptr && *env != '\0')
        return env;
    const char* home = std::getenv("HOME");
    if (home == nullptr || *home == '\0') {
        if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr) home = pw->pw_dir;
    }
    return fs::path(home != nullptr ? home : ".") / ".berth";
}

fs::path Store::machine_dir(std::string_view name) const { return machines_dir() / std::string(name); }

namespace {

bool for_docker_cli(std::string_view file) {
    return file == k_ca_cert_file || file == k_client_cert_file || file == k_client_key_file;
}

/// Makes `dir` with mode 0700 if it is missing (then sets the mode exactly, whatever the umask).
/// An existing directory is left as it is: berth never changes the mode of a directory it did not
/// make. True if it was made.
Result<bool> make_own_dir(const fs::path& dir) {
    if (::mkdir(dir.c_str(), 0700) == 0) {
        if (::chmod(dir.c_str(), 0700) != 0)
            return fail("cannot set mode 0700 on " + dir.string() + ": " + errno_text(errno));
        return true;
    }
    const int err = errno;
    std::error_code ec;
    if (err == EEXIST && fs::is_directory(dir, ec)) return false;
    return fail("cannot create directory " + dir.string() + ": " +
                    (err == EEXIST ? std::string("it exists and is not a directory") : errno_text(err)),
                "check the path and its parent's permissions, or pass another --storage-path");
}

/// A directory berth may use as its store: empty, or holding berth's own layout (machines/,
/// locks/ or cache/images/, as every berth so far made them).
Result<void> check_store_dir(const fs::path& root) {
    std::error_code ec;
    for (const char* own : {"machines", "locks", "cache/images"}) {
        std::error_code own_ec;
        if (fs::is_directory(root / own, own_ec)) return {};
    }
    const bool empty = fs::is_empty(root, ec);
    if (ec) return fail("cannot read the store directory " + root.string() + ": " + ec.message(),
                        "check its permissions, or pass another --storage-path");
    if (empty) return {};
    return fail_usage("the store directory " + root.string() + " is not empty and is not a berth store "
                      "(it has no machines/, locks/ or cache/ of berth's)",
                      "berth keeps keys there and makes only its own layout: pass --storage-path (-s) a new "
                      "or empty directory, or the store you used before");
}

/// Schema 1 -> 2: the docker CLI's three files move from the machine's directory into certs/.
Result<void> move_client_files(const fs::path& machine_dir) {
    const fs::path certs = machine_dir / k_cert_dir;
    bool made = false;
    for (const char* file : {k_ca_cert_file, k_client_cert_file, k_client_key_file}) {
        std::error_code ec;
        if (!fs::exists(machine_dir / file, ec)) continue;
        if (!made) {
            if (auto ok = ensure_private_dir(certs); !ok) return ok;
            made = true;
        }
        fs::rename(machine_dir / file, certs / file, ec);
        if (ec) return fail("cannot move " + (machine_dir / file).string() + " into " + certs.string() + ": " + ec.message());
    }
    return {};
}

}  // namespace

fs::path Store::machine_file(std::string_view name, std::string_view file) const {
    if (!for_docker_cli(file)) return machine_dir(name) / std::string(file);
    const fs::path moved = machine_dir(name) / k_cert_dir / std::string(file);
    const fs::path legacy = machine_dir(name) / std::string(file);
    std::error_code ec;
    if (!fs::exists(moved, ec) && fs::exists(legacy, ec)) return legacy;  // schema 1, not moved yet
    return moved;
}

fs::path Store::cert_dir(std::string_view name) const { return machine_file(name, k_ca_cert_file).parent_path(); }

Result<void> Store::ensure_layout() const {
    std::error_code ec;
    const auto root_status = fs::status(m_root, ec);
    if (ec && ec != std::errc::no_such_file_or_directory)
        return fail("cannot use the store directory " + m_root.string() + ": " + ec.message(),
                    "check the path and its permissions, or pass another --storage-path");
    if (fs::exists(root_status)) {
        if (!fs::is_directory(root_status))
            return fail_usage("the store directory " + m_root.string() + " exists and is not a directory",
                              "pass --storage-path (-s) a new or empty directory");
        if (auto ok = check_store_dir(m_root); !ok) return ok;
    } else {
        // The parents are not berth's: made with the usual mode, as `mkdir -p` would.
        const fs::path root = m_root.has_filename() ? m_root : m_root.parent_path();  // "dir/" is dir
        if (root.has_parent_path()) fs::create_directories(root.parent_path(), ec);
        if (ec) return fail("cannot create directory " + root.parent_path().string() + ": " + ec.message(),
                            "check the path and its permissions, or pass another --storage-path");
    }
    for (const auto& dir : {m_root, machines_dir(), m_root / "locks"}) {
        if (auto made = make_own_dir(dir); !made) return std::unexpected(made.error());
    }
    return {};
}

bool Store::exists(std::string_view name) const {
    std::error_code ec;
    return fs::is_directory(machine_dir(name), ec);
}

Result<MachineRecord> Store::load(std::string_view name) const {
    const fs::path file = machine_file(name, k_record_file);
    auto text = read_file(file);
    if (!text) {
        if (text.error().kind == ErrorKind::NotFound) {
            if (exists(name))
                return fail("machine \"" + std::string(name) + "\" has no record (" + file.string() +
                                " is missing; a create was interrupted)",
                            "remove it with `berth rm -f " + std::string(name) + "`");
            return fail_kind(ErrorKind::NotFound,
                             "no machine named \"" + std::string(name) + "\" in " + m_root.string(),
                             "`berth ls` lists the machines");
        }
        return std::unexpected(text.error());
    }
    nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded())
        return fail("machine record " + file.string() + " is not valid JSON",
                    "fix or remove the file, or remove the machine with `berth rm -f " +
                        std::string(name) + "`");
    auto record = MachineRecord::from_json(j, file.string());
    if (record && record->name != name)
        return fail("machine record " + file.string() + " names machine \"" + record->name + "\"",
                    "the directory was renamed by hand; rename it back");
    if (record && record->schema_version < MachineRecord::k_schema_version) {
        // An older layout: migrated now if no other berth holds the machine, else read in place.
        if (auto held = lock(name); held) {
            if (auto ok = save(*record); !ok) return std::unexpected(ok.error());
            record->schema_version = MachineRecord::k_schema_version;
        }
    }
    return record;
}

Result<void> Store::save(const MachineRecord& record, const AtomicWriteHooks& hooks) const {
    if (auto ok = ensure_private_dir(machine_dir(record.name)); !ok) return ok;
    if (auto ok = move_client_files(machine_dir(record.name)); !ok) return ok;
    MachineRecord current = record;
    current.schema_version = MachineRecord::k_schema_version;  // its files are where this schema says
    // Bytes that are not UTF-8 (a host's stderr in last_error) become U+FFFD instead of throwing.
    const std::string text = current.to_json().dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    return write_file_atomic(machine_file(record.name, k_record_file), text + "\n",
                             0600, hooks);
}

Result<void> Store::write_file(std::string_view name, std::string_view file, std::string_view content,
                               unsigned mode) const {
    if (auto ok = ensure_private_dir(machine_dir(name)); !ok) return ok;
    if (for_docker_cli(file)) {
        if (auto ok = ensure_private_dir(machine_file(name, file).parent_path()); !ok) return ok;
    }
    return write_file_atomic(machine_file(name, file), content, mode);
}

Result<std::vector<std::string>> Store::list_names() const {
    std::vector<std::string> names;
    std::error_code ec;
    if (!fs::exists(machines_dir(), ec)) return names;
    // Every call with an error_code: an odd entry (a symlink loop, a file, an unreadable
    // directory) is skipped or shown as damaged by its reader, and never ends the listing.
    for (fs::directory_iterator it(machines_dir(), ec), end; !ec && it != end; it.increment(ec)) {
        const fs::path& path = it->path();
        std::error_code type_ec;
        const bool dir = it->is_directory(type_ec);
        if (type_ec) spdlog::warn("skipping {}: {}", path.string(), type_ec.message());
        if (!dir || is_temp_file(path)) continue;
        names.push_back(path.filename().string());
    }
    if (ec) return fail("cannot list " + machines_dir().string() + ": " + ec.message());
    std::sort(names.begin(), names.end(),
              [](const std::string& a, const std::string& b) { return natural_less(a, b); });
    return names;
}

Result<FileLock> Store::lock(std::string_view name) const {
    if (auto ok = ensure_layout(); !ok) return std::unexpected(ok.error());
    return FileLock::try_acquire(m_root / "locks" / (std::string(name) + ".lock"),
                                 "machine \"" + std::string(name) + "\"");
}

Result<void> Store::remove_machine_dir(std::string_view name) const {
    std::error_code ec;
    fs::remove_all(machine_dir(name), ec);
    if (ec) return fail("cannot remove " + machine_dir(name).string() + ": " + ec.message());
    return {};
}

bool natural_less(std::string_view a, std::string_view b) {
    size_t i = 0, j = 0;
    auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
    while (i < a.size() && j < b.size()) {
        if (digit(a[i]) && digit(b[j])) {
            size_t i2 = i, j2 = j;
            while (i2 < a.size() && digit(a[i2])) ++i2;
            while (j2 < b.size() && digit(b[j2])) ++j2;
            std::string_view na = a.substr(i, i2 - i), nb = b.substr(j, j2 - j);
            while (na.size() > 1 && na.front() == '0') na.remove_prefix(1);
            while (nb.size() > 1 && nb.front() == '0') nb.remove_prefix(1);
            if (na.size() != nb.size()) return na.size() < nb.size();
            if (na != nb) return na < nb;
            i = i2;
            j = j2;
            continue;
        }
        char ca = static_cast<char>(std::tolower(static_cast<unsigned char>(a[i])));
        char cb = static_cast<char>(std::tolower(static_cast<unsigned char>(b[j])));
        if (ca != cb) return ca < cb;
        ++i;
        ++j;
    }
    if ((a.size() - i) != (b.size() - j)) return (a.size() - i) < (b.size() - j);
    return a < b;
}

}  // namespace berth
