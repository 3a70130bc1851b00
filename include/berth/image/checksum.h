#pragma once
/// Checksums of image files: "sha256:HEX" / "sha512:HEX" values, lookup in SHA256SUMS/SHA512SUMS
/// files as distributions publish them, and digests of files on disk (read once for both).

#include <berth/core/error.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace berth {

enum class DigestAlgorithm { Sha256, Sha512 };

/// "sha256" or "sha512".
[[nodiscard]] std::string_view to_string(DigestAlgorithm algorithm);

struct Checksum {
    DigestAlgorithm algorithm = DigestAlgorithm::Sha256;
    std::string hex;  ///< lower case

    /// "sha256:HEX", the form --checksum takes and image.json records.
    [[nodiscard]] std::string text() const;
    bool operator==(const Checksum&) const = default;
};

/// Parses "sha256:HEX" or "sha512:HEX" (HEX of the right length, any case). Usage error otherwise.
[[nodiscard]] Result<Checksum> parse_checksum(std::string_view text);

/// The checksum listed for `file_name` in the text of a sums file: GNU lines ("HEX  name",
/// "HEX *name") or BSD lines ("SHA256 (name) = HEX"); the algorithm follows from the digest's
/// length. NotFound (naming `origin`, the file's URL or path) when the file is not listed.
[[nodiscard]] Result<Checksum> find_in_sums(std::string_view sums, std::string_view file_name,
                                            std::string_view origin);

struct FileDigests {
    std::uint64_t size = 0;
    std::string sha256;  ///< always computed
    std::string sha512;  ///< "" unless asked for
};

/// Reads the file once and computes its sha256 (and sha512 when `with_sha512`).
[[nodiscard]] Result<FileDigests> hash_file(const std::filesystem::path& path, bool with_sha512);

/// The digest of `digests` in `algorithm` ("" when it was not computed).
[[nodiscard]] const std::string& digest_of(const FileDigests& digests, DigestAlgorithm algorithm);

}  // namespace berth
