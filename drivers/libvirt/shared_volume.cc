#include <berth/drivers/libvirt/shared_volume.h>

#include <berth/core/progress.h>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace berth::libvirt {

namespace {

using Digest = std::pair<std::uint64_t, std::string>;

/// The size and sha256 the volume must hold: the known digest, else the file hashed.
Result<Digest> wanted_digest(const SharedVolume& volume) {
    if (volume.sha256.empty()) return file_digest(volume.file);
    std::error_code ec;
    const auto size = std::filesystem::file_size(volume.file, ec);
    if (ec) return fail("cannot read " + volume.file.string() + ": " + ec.message());
    return Digest{size, volume.sha256};
}

/// The volume's stamp; nullopt (with a debug line) when libvirt reports none or cannot be asked.
std::optional<VolumeStamp> stamp_of(const SharedVolumePlace& place, StorageVolume& volume) {
    auto stamp = place.stamp ? place.stamp(volume) : read_volume_stamp(volume);
    if (stamp) return *stamp;
    spdlog::debug("[libvirt] no stamp for volume {}: {}", volume.name(), stamp.error().message);
    return std::nullopt;
}

/// "" when `record` vouches that the volume, stamped `stamp` now, holds `sha256`; else why not.
std::string why_not_trusted(const std::optional<VolumeRecord>& record,
                            const std::optional<VolumeStamp>& stamp, const std::string& sha256) {
    if (!stamp) return "libvirt reports no size and timestamps for it";
    if (!record) return "berth has no record of verifying it";
    if (record->sha256 != sha256) return "berth's record is of other content (sha256 " + record->sha256 + ")";
    if (record->stamp != *stamp) return "its size or timestamps changed since berth verified it";
    return {};
}

/// Records that the volume held `sha256` while stamped `stamp` (forgets it without a stamp), and
/// saves the records; a failure to save only costs the next create a read-back.
void remember(const SharedVolumePlace& place, VolumeRecords& records, const std::string& pool,
              const std::string& volume, const std::string& sha256, const std::optional<VolumeStamp>& stamp) {
    if (place.records.empty()) return;
    if (stamp)
        records.put(VolumeRecord{
            .uri = place.uri, .pool = pool, .volume = volume, .sha256 = sha256, .stamp = *stamp});
    else
        records.forget(place.uri, pool, volume);
    if (auto ok = records.save(); !ok)
        spdlog::debug("[libvirt] cannot keep the record of volume {}: {}", volume, ok.error().message);
}

/// Whether the existing `volume` holds `want`: trusted on a matching record, else read back whole.
Result<bool> holds(StorageVolume& volume, const SharedVolumePlace& place, VolumeRecords& records,
                   const std::string& pool, const Digest& want, const std::filesystem::path& file) {
    const auto before = stamp_of(place, volume);
    const std::string why =
        why_not_trusted(records.find(place.uri, pool, volume.name()), before, want.second);
    if (why.empty()) {
        spdlog::debug(
            "[libvirt] volume {} trusted without reading it back: its size, ctime and mtime are those of "
            "the copy berth verified to hold sha256 {}",
            volume.name(), want.second);
        return true;
    }
    spdlog::debug("[libvirt] reading volume {} back to check it: {}", volume.name(), why);
    auto have = place.uploader->content_digest(volume);
    if (!have) return std::unexpected(have.error());
    if (*have != want) {
        spdlog::warn(
            "volume {} does not hold {} (it has {} bytes with sha256 {}, wanted {} bytes with sha256 {}): "
            "it was changed or cut short; uploading it again",
            volume.name(), file.string(), have->first, have->second, want.first, want.second);
        return false;
    }
    // Recorded only when nothing wrote to the volume while it was read.
    const auto after = stamp_of(place, volume);
    remember(place, records, pool, volume.name(), want.second, after == before ? after : std::nullopt);
    return true;
}

}  // namespace

std::string plain_volume_xml(const std::string& name, std::uint64_t bytes, const std::string& format,
                             bool owner_only) {
    return "<volume>\n  <name>" + xml_escape(name) + "</name>\n  <capacity unit='bytes'>" +
           std::to_string(bytes) +
           "</capacity>\n  <allocation unit='bytes'>0</allocation>\n  <target>\n    <format type='" +
           xml_escape(format) + "'/>\n" +
           (owner_only ? "    <permissions>\n      <mode>0600</mode>\n    </permissions>\n" : "") +
           "  </target>\n</volume>\n";
}

Result<StorageVolume> upload_new_volume(StoragePool& pool, VolumeUploader& uploader, const std::string& name,
                                        const std::filesystem::path& file, const std::string& format,
                                        std::uint64_t capacity, bool owner_only) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    if (ec) return fail("cannot read " + file.string() + ": " + ec.message());
    spdlog::info("Uploading {} to libvirt volume {} ({} MiB)...", file.string(), name, size >> 20);
    progress_step("upload");
    auto made = pool.create_volume(plain_volume_xml(name, std::max(capacity, size), format, owner_only));
    if (!made) return std::unexpected(made.error());
    if (auto r = uploader.upload(*made, file); !r) {
        (void)made->remove();
        return std::unexpected(r.error());
    }
    (void)pool.refresh();
    return std::move(*made);
}

Result<std::string> ensure_shared_volume(StoragePool& pool, const SharedVolumePlace& place,
                                         const SharedVolume& volume) {
    if (place.uploader == nullptr) return fail("internal error: no volume uploader");
    auto want = wanted_digest(volume);
    if (!want) return std::unexpected(want.error());
    VolumeRecords records = place.records.empty() ? VolumeRecords() : VolumeRecords::load(place.records);
    const std::string pool_name = pool.name();
    auto found = pool.volume(volume.name);
    if (!found) return std::unexpected(found.error());
    if (*found) {
        auto same = holds(**found, place, records, pool_name, *want, volume.file);
        if (!same) return std::unexpected(same.error());
        if (*same) return (*found)->path();
        records.forget(place.uri, pool_name, volume.name);
        if (auto r = (*found)->remove(); !r) return std::unexpected(r.error());
    }
    auto made =
        upload_new_volume(pool, *place.uploader, volume.name, volume.file, volume.format, volume.capacity);
    if (!made) return std::unexpected(made.error());
    remember(place, records, pool_name, volume.name, want->second, stamp_of(place, *made));
    return made->path();
}

}  // namespace berth::libvirt
