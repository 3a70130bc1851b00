#pragma once
/// berth's cache of VM images for the libvirt driver: <store>/cache/images/<name>/ holds the disk
/// (disk.qcow2; a raw image keeps its extension, e.g. disk.img), image.json (what it is, where it
/// came from, its sha256 and the checksum that verified it), optional kernel/initrd for direct
/// kernel boot, and while a pull runs .lock, download.partial and download.partial.json.
/// Directories are 0700; image.json is written atomically and last, so a directory without it
/// is an unfinished pull and is not listed. Writers of one image hold .lock (flock).

#include <berth/core/error.h>
#include <berth/driver/driver.h>
#include <berth/image/pull_source.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

inline constexpr const char* k_image_record_file = "image.json";

struct CachedImage {
    std::string name;
    std::filesystem::path dir;    ///< the image's directory in the cache
    std::string disk_file;        ///< "disk.qcow2"
    std::string format;           ///< "qcow2" or "raw" (from the file's first bytes)
    std::string source;           ///< the URL, or the absolute path it was imported from
    std::uint64_t size = 0;       ///< of the disk file, bytes
    std::string sha256;           ///< of the disk file
    std::string checksum;         ///< "sha512:HEX" that verified it; "" when nothing did
    std::string checksum_source;  ///< the sums file's URL, "--checksum", or why there was none
    std::string pulled_at;        ///< UTC, "2024-05-01T12:00:00Z"
    std::string kernel;           ///< file name in dir ("" when the disk has a bootloader)
    std::string initrd;
    std::string kernel_cmdline;
    std::string baked_from;             ///< `berth image bake`: the image it was baked from ("" otherwise)
    std::vector<std::string> packages;  ///< the packages baked into it (Docker and the hardening's)

    [[nodiscard]] std::filesystem::path disk_path() const { return dir / disk_file; }
    /// image.json's content (dir is not stored: it is where the file is).
    [[nodiscard]] nlohmann::json to_json() const;
    /// Reads image.json's content; Failed, naming `file`, when a field is missing or mistyped.
    [[nodiscard]] static Result<CachedImage> from_json(const nlohmann::json& j,
                                                       const std::filesystem::path& file);
};

class ImageCache {
public:
    /// `dir` is the images directory, normally images_dir(store root).
    explicit ImageCache(std::filesystem::path dir);

    /// <store root>/cache/images.
    [[nodiscard]] static std::filesystem::path images_dir(const std::filesystem::path& store_root);

    [[nodiscard]] const std::filesystem::path& dir() const { return m_dir; }

    /// Every complete image, by name in natural order. A directory with an unreadable image.json
    /// is skipped with a warning (`rm` still removes it); one without image.json is a pull in
    /// progress or an interrupted one.
    [[nodiscard]] Result<std::vector<CachedImage>> list() const;

    /// The cached image called `name`, checked to still have its disk file at the recorded size.
    /// NotFound with a hint to `berth image ls` / `berth image pull`.
    [[nodiscard]] Result<CachedImage> find(std::string_view name) const;

    /// Fetches `what` (known name, URL or local path: resolve_pull_source) into the cache,
    /// verifies it and records it. When the image is cached with the same source and checksum
    /// it is not downloaded again (unless options.force). Waits (up to options.lock_wait) for
    /// another process pulling the same name. A failed download keeps its partial file to be
    /// resumed; a checksum mismatch deletes it and names both digests.
    [[nodiscard]] Result<CachedImage> pull(std::string_view what, const PullOptions& options);

    /// find(what) when `what` names a cached image, else pull(what): what a driver calls.
    [[nodiscard]] Result<CachedImage> find_or_pull(std::string_view what, const PullOptions& options);

    /// Deletes the image's directory. NotFound for an unknown name; Conflict while a pull of it
    /// runs. Machines made from it keep working: drivers copy the disk into their own storage.
    [[nodiscard]] Result<void> remove(std::string_view name);

private:
    [[nodiscard]] std::filesystem::path image_dir(std::string_view name) const;
    std::filesystem::path m_dir;
};

/// The files a driver boots from. Fails for a raw image (drivers take qcow2), with the
/// qemu-img command that converts it.
[[nodiscard]] Result<ImageFiles> to_image_files(const CachedImage& image);

}  // namespace berth
