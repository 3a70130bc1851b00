#pragma once
/// What `berth image pull` was asked for: a known image name, an http(s) URL or a local file,
/// resolved (without any network access) into where to fetch it from and how to verify it.

#include <berth/core/error.h>
#include <berth/image/checksum.h>
#include <berth/image/download.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

/// An image berth knows by name: the distribution's own URL, checked against the checksum file
/// the distribution publishes next to it.
struct KnownImage {
    std::string_view name;         ///< "debian-12"
    std::string_view description;  ///< for docs and errors
    std::string_view url;
    std::string_view sums_url;     ///< SHA512SUMS / SHA256SUMS in the same directory
    /// The detached OpenPGP signature of the sums file ("" where the distribution publishes
    /// none), checked with gpgv against `keyring`, which `keyring_package` installs.
    std::string_view signature_url;
    std::string_view keyring;
    std::string_view keyring_package;
};

/// The table of known images, in the order docs/images.md lists them.
[[nodiscard]] std::span<const KnownImage> known_images();
/// nullptr when `name` is not a known image.
[[nodiscard]] const KnownImage* find_known_image(std::string_view name);

inline constexpr std::size_t k_max_image_name = 63;

/// Image names: ^[A-Za-z0-9][A-Za-z0-9._-]*$, at most 63 characters (a directory name in the
/// cache). Usage error that quotes the name otherwise.
[[nodiscard]] Result<void> validate_image_name(std::string_view name);

struct PullOptions {
    std::string name;              ///< --name: the cache name of a URL or path image ("" = derived)
    std::string checksum;          ///< --checksum "sha256:HEX" | "sha512:HEX"
    std::string checksum_url;      ///< --checksum-url: a SHA256SUMS/SHA512SUMS listing the file
    /// --checksum-signature-url and --keyring: the sums file's detached signature, checked with
    /// gpgv against this keyring (an OpenPGP keyring file, binary or keybox).
    std::string signature_url;
    std::filesystem::path keyring;
    bool insecure_skip_checksum = false;
    bool force = false;            ///< download again even when the cached image is up to date
    /// For images that boot by direct kernel boot (local files only): copied beside the disk.
    std::filesystem::path kernel;
    std::filesystem::path initrd;
    std::string kernel_cmdline;
    /// A locally built image may take a known image's name (`berth image build debian-12`): it
    /// stands in for the download on hosts that reach only a Debian mirror.
    bool replaces_known = false;
    /// What `image ls` shows as the source ("" = the URL or path it came from).
    std::string source_label;
    /// `berth image bake`: the image this one was baked from, and the packages baked into it
    /// (recorded in image.json as "baked_from" and "packages").
    std::string baked_from;
    std::vector<std::string> packages;
    HttpOptions http;              ///< timeouts and the progress callback
    /// How long to wait for another berth process pulling the same image.
    std::chrono::seconds lock_wait{std::chrono::hours(2)};
};

enum class SourceKind { Known, Url, Path };

struct PullSource {
    SourceKind kind = SourceKind::Url;
    std::string name;                 ///< the name in the cache
    std::string location;             ///< the URL, or the absolute path of a local file
    std::string file_name;            ///< the name a sums file lists it under (URL's last segment)
    std::optional<Checksum> checksum; ///< given directly (--checksum)
    std::string sums_url;             ///< to fetch and look file_name up in (known, --checksum-url)
    std::string signature_url;        ///< the sums file's detached signature ("" = none)
    std::filesystem::path keyring;    ///< what the signature is checked against (absolute)
    std::string keyring_package;      ///< the Debian/Ubuntu package that installs the keyring
    bool verify = true;               ///< false with --insecure-skip-checksum
};

/// Resolves `what`: an http(s) URL; else a known name; else a local file (a path with a '/' or
/// an existing file). A URL needs --checksum, --checksum-url or --insecure-skip-checksum; a
/// known image takes none of them nor --name. The name defaults to the file name without its
/// extension. Usage or NotFound errors say what to write instead. Never touches the network.
[[nodiscard]] Result<PullSource> resolve_pull_source(std::string_view what, const PullOptions& options);

}  // namespace berth
