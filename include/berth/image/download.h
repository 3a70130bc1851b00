#pragma once
/// HTTP(S) downloads of images with libcurl. Unlike the Docker API client, downloads honour the
/// usual proxy variables (https_proxy, http_proxy, all_proxy, no_proxy; libcurl ignores an
/// upper-case HTTP_PROXY), except for loopback addresses, which are always reached directly.
/// A download goes to a partial file and resumes it with a Range request next time.

#include <berth/core/error.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace berth {

/// Where a download stands, passed to a ProgressFn several times a second and once at the end.
struct TransferProgress {
    std::uint64_t done = 0;          ///< bytes of the file so far, a resumed part included
    std::uint64_t total = 0;         ///< size of the whole file; 0 when the server did not say
    std::uint64_t resumed_from = 0;  ///< bytes that were already there when this transfer started
    double rate = 0;                 ///< bytes per second in this transfer
    bool finished = false;           ///< the last call for this transfer (completed or not)
};

using ProgressFn = std::function<void(const TransferProgress&)>;

struct HttpOptions {
    std::chrono::seconds connect_timeout{30};
    /// A transfer slower than stall_bytes_per_second for stall_time is aborted (and can be
    /// resumed): a dead connection must not hang a pull forever.
    std::chrono::seconds stall_time{60};
    long stall_bytes_per_second = 1024;
    ProgressFn progress;  ///< may be empty
    /// A CA bundle to trust instead of the system's ("" = the system's): for tests only.
    std::string ca_file;
};

struct DownloadResult {
    std::uint64_t size = 0;          ///< of the complete file
    std::uint64_t resumed_from = 0;  ///< 0 when the bytes came in one transfer from the start
    bool restarted = false;          ///< a partial file existed but the server sent the whole file
};

/// GETs `url` into `partial` (mode 0600). When `partial` exists and its side file
/// "<partial>.json" names the same URL, asks only for the missing bytes (Range, with If-Range
/// when the server gave a validator): a 206 answer starting at the right offset is appended,
/// a 200 answer starts the file over. On failure the partial file stays for the next attempt
/// and the error says so. Follows redirects (http and https only); a download that starts on
/// https follows redirects to https only: a redirect to plain http is refused.
[[nodiscard]] Result<DownloadResult> download_file(const std::string& url,
                                                   const std::filesystem::path& partial,
                                                   const HttpOptions& options);

/// Deletes a partial download and its side file.
void remove_partial(const std::filesystem::path& partial);

/// GETs a small text file (a SHA256SUMS) into memory; fails if it is larger than max_bytes.
/// Redirects as download_file. With `secure_only` the URL and every redirect must be
/// is_secure_source_url (https, or http to this machine's loopback): a checksum file must not
/// come over a network path that anyone on it can change.
[[nodiscard]] Result<std::string> http_get_text(const std::string& url, std::size_t max_bytes,
                                                const HttpOptions& options, bool secure_only = false);

/// True for https URLs and for http URLs to a loopback host (127.0.0.1, ::1, localhost): what a
/// checksum file may be fetched from.
[[nodiscard]] bool is_secure_source_url(std::string_view url);

/// True for "http://..." and "https://..." (case-insensitive scheme).
[[nodiscard]] bool is_http_url(std::string_view text);

}  // namespace berth
