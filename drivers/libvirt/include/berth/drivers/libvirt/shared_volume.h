#pragma once
/// Shared, read-only volumes (an image's base disk, kernel and initrd): uploaded into the pool once
/// and reused by every machine made from the same image, but only while they hold exactly the
/// wanted bytes. Their names come from the image's digest, yet anyone who can write the pool can put
/// other bytes under a name, so a volume is never taken on its name and size: it is trusted when its
/// stamp (size, ctime, mtime) still matches berth's record of a verified copy (volume_record.h),
/// else read back whole and hashed; one that does not hold the wanted bytes is uploaded again.

#include <berth/drivers/libvirt/libvirt_api.h>
#include <berth/drivers/libvirt/libvirt_driver.h>
#include <berth/drivers/libvirt/volume_record.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace berth::libvirt {

/// The XML of a new volume of `bytes` in `format`; with `owner_only` its file is 0600 (a seed that
/// holds a private host key).
[[nodiscard]] std::string plain_volume_xml(const std::string& name, std::uint64_t bytes,
                                           const std::string& format, bool owner_only = false);

/// A volume named `name` of at least `capacity` bytes, made and filled with `file`; removed again
/// when the upload fails.
[[nodiscard]] Result<StorageVolume> upload_new_volume(StoragePool& pool, VolumeUploader& uploader,
                                                      const std::string& name,
                                                      const std::filesystem::path& file,
                                                      const std::string& format, std::uint64_t capacity,
                                                      bool owner_only = false);

/// One shared volume and what it must hold.
struct SharedVolume {
    std::string name;            ///< "base-<sha16>.qcow2"
    std::filesystem::path file;  ///< what it holds
    /// The file's sha256 when berth already knows it (the image cache's record of a disk it
    /// verified when it pulled, built or imported it); "" hashes the file.
    std::string sha256;
    std::string format;          ///< "qcow2", "raw"
    std::uint64_t capacity = 0;  ///< at least the file's size
};

/// Where shared volumes are checked: the connection's URI (it keys the records), the uploader
/// that writes and reads volumes back, and the records file ("" keeps none: every existing volume
/// is read back). Callers hold the lock of the volumes the records file covers.
struct SharedVolumePlace {
    std::string uri;
    VolumeUploader* uploader = nullptr;
    std::filesystem::path records;
    VolumeStamper stamp;  ///< null: read_volume_stamp
};

/// The path of volume `volume.name` in `pool`, holding `volume.file`: the existing volume when its
/// stamp matches the record of a verified copy with the wanted sha256, or when read back it holds
/// the wanted bytes; otherwise (re)uploaded. The record is refreshed after a read-back or an upload.
[[nodiscard]] Result<std::string> ensure_shared_volume(StoragePool& pool, const SharedVolumePlace& place,
                                                       const SharedVolume& volume);

}  // namespace berth::libvirt
