#pragma once
/// What berth remembers of the shared volumes it uploaded or read back whole, so that the next
/// create need not read them back again: for each (libvirt URI, pool, volume) the sha256 it was
/// found to hold and its stamp then — what libvirt reports of the volume that any write changes
/// (the file's size and its ctime and mtime, with nanoseconds). A volume whose stamp still matches
/// holds the recorded bytes: a writer can set mtime back, not ctime. The records live in a small
/// JSON file in the store's cache, written atomically (0600) by whoever holds the volume's lock;
/// it is a cache: a missing, damaged or newer file only means reading the volumes back.

#include <berth/core/error.h>
#include <berth/drivers/libvirt/libvirt_api.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace berth::libvirt {

/// What libvirt reports of a volume that any write to it changes.
struct VolumeStamp {
    std::uint64_t size = 0;  ///< <physical>: the file's size in bytes
    std::string ctime;       ///< <target><timestamps><ctime>, "seconds.nanoseconds" as libvirt writes it
    std::string mtime;
    friend bool operator==(const VolumeStamp&, const VolumeStamp&) = default;
};

/// The stamp in a volume's XML (virStorageVolGetXMLDesc); nullopt when the XML has no physical
/// size or no ctime/mtime (libvirt's test driver, pools that are not file-backed).
[[nodiscard]] std::optional<VolumeStamp> parse_volume_stamp(const std::string& xml);

/// A volume's current stamp; nullopt when libvirt reports none.
using VolumeStamper = std::function<Result<std::optional<VolumeStamp>>(StorageVolume&)>;

/// The real VolumeStamper: parse_volume_stamp of the volume's XML.
[[nodiscard]] Result<std::optional<VolumeStamp>> read_volume_stamp(StorageVolume& volume);

/// One volume berth found holding `sha256` while its stamp was `stamp`.
struct VolumeRecord {
    std::string uri;
    std::string pool;
    std::string volume;
    std::string sha256;
    VolumeStamp stamp;
    friend bool operator==(const VolumeRecord&, const VolumeRecord&) = default;
};

/// The records of one file. Not thread-safe; callers hold the lock of the volumes it covers.
class VolumeRecords {
public:
    /// Reads `file`: empty when it is missing, and (with a debug line) when it is damaged or
    /// written by a newer berth. Never fails: the records only save work.
    [[nodiscard]] static VolumeRecords load(const std::filesystem::path& file);

    [[nodiscard]] std::optional<VolumeRecord> find(const std::string& uri, const std::string& pool,
                                                   const std::string& volume) const;
    /// Adds `record`, replacing any for the same (uri, pool, volume).
    void put(VolumeRecord record);
    void forget(const std::string& uri, const std::string& pool, const std::string& volume);
    [[nodiscard]] const std::vector<VolumeRecord>& all() const { return m_records; }

    /// Writes the file atomically, 0600, in a 0700 directory made if needed.
    [[nodiscard]] Result<void> save() const;

private:
    std::filesystem::path m_file;
    std::vector<VolumeRecord> m_records;
};

}  // namespace berth::libvirt
