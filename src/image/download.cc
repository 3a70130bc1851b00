#include <berth/image/download.h>

#include <berth/core/text.h>
#include <berth/image/progress.h>
#include <berth/store/atomic_file.h>

#include <berth/net/curl_util.h>

#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace berth {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t k_error_body_bytes = 512;
constexpr auto k_progress_interval = std::chrono::milliseconds(100);
const std::string k_user_agent = "berth (image pull)";

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string getenv_text(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr ? std::string(value) : std::string();
}

/// The environment's no_proxy plus loopback: a server on this host is never reached through a
/// proxy (setting CURLOPT_NOPROXY replaces the variable, so it is carried over here).
std::string proxy_bypass_list() {
    std::string list = getenv_text("no_proxy");
    if (list.empty()) list = getenv_text("NO_PROXY");
    if (trim(list) == "*") return "*";
    for (const char* host : {"localhost", "127.0.0.1", "::1"}) list += (list.empty() ? "" : ",") + std::string(host);
    return list;
}

/// "http://proxy:3128 from $https_proxy" when libcurl would use a proxy variable for `url`, for
/// messages; a password in it is not shown. libcurl reads http_proxy only in lower case
/// (httpoxy), the others in either case.
std::string proxy_in_use(const std::string& url) {
    // The host, roughly as libcurl matches it against no_proxy.
    std::string_view host = url;
    if (const auto scheme = host.find("://"); scheme != std::string_view::npos) host.remove_prefix(scheme + 3);
    host = host.substr(0, host.find_first_of("/?#"));
    if (const auto at = host.rfind('@'); at != std::string_view::npos) host.remove_prefix(at + 1);
    if (host.starts_with('[')) host = host.substr(1, host.find(']') - 1);
    else host = host.substr(0, host.find(':'));
    const std::string name_lower = lower(host);
    const std::string bypass = proxy_bypass_list();
    std::string_view rest = bypass;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::string entry = lower(trim(rest.substr(0, comma)));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        if (entry.starts_with('.')) entry.erase(0, 1);
        if (entry == "*" || (!entry.empty() && (name_lower == entry || name_lower.ends_with("." + entry))))
            return {};
    }

    const bool https = lower(url).starts_with("https:");
    std::vector<const char*> names;
    if (https) names = {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
    else names = {"http_proxy", "all_proxy", "ALL_PROXY"};
    for (const char* name : names) {
        std::string value = getenv_text(name);
        if (value.empty()) continue;
        const auto scheme = value.find("://");
        const auto start = scheme == std::string::npos ? 0 : scheme + 3;
        if (const auto at = value.find('@', start); at != std::string::npos) value.replace(start, at - start, "***");
        return value + " from $" + name;
    }
    return {};
}

/// What the last response's headers said (reset at every status line, so after redirects it
/// describes the final answer).
struct Headers {
    std::string content_range;
    std::string etag;
    std::string last_modified;
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* headers = static_cast<Headers*>(user);
    const std::size_t bytes = size * count;
    const std::string_view line(data, bytes);
    if (line.starts_with("HTTP/")) {
        *headers = Headers{};
        return bytes;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return bytes;
    const std::string name = lower(line.substr(0, colon));
    std::string value(trim(line.substr(colon + 1)));
    if (name == "content-range") headers->content_range = std::move(value);
    else if (name == "etag") headers->etag = std::move(value);
    else if (name == "last-modified") headers->last_modified = std::move(value);
    return bytes;
}

/// "bytes 100-199/200" -> start 100 and total 200 (total 0 when "*").
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_content_range(std::string_view value) {
    if (!value.starts_with("bytes ")) return std::nullopt;
    value.remove_prefix(6);
    const auto dash = value.find('-');
    const auto slash = value.find('/');
    if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) return std::nullopt;
    const std::string start_text(value.substr(0, dash));
    const std::string total_text(value.substr(slash + 1));
    char* end = nullptr;
    const std::uint64_t start = std::strtoull(start_text.c_str(), &end, 10);
    if (start_text.empty() || *end != '\0') return std::nullopt;
    std::uint64_t total = 0;
    if (total_text != "*") {
        total = std::strtoull(total_text.c_str(), &end, 10);
        if (total_text.empty() || *end != '\0') return std::nullopt;
    }
    return std::make_pair(start, total);
}

/// A handle with the settings every image download shares.
struct Request {
    CurlPtr handle;
    char error_buffer[CURL_ERROR_SIZE] = {};
    Headers headers;
    std::string noproxy;
    SlistPtr extra_headers;
};

Result<void> setup(Request& request, const std::string& url, const HttpOptions& options) {
    if (auto ok = init_curl_once(); !ok) return ok;
    request.handle.reset(curl_easy_init());
    if (!request.handle) return fail("cannot create a libcurl handle", "the process may be out of memory");
    CURL* h = request.handle.get();
    request.noproxy = proxy_bypass_list();
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption option, auto value) {
        if (rc == CURLE_OK) rc = curl_easy_setopt(h, option, value);
    };
    set(CURLOPT_ERRORBUFFER, static_cast<char*>(request.error_buffer));
    set(CURLOPT_URL, url.c_str());
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    // Once on https, never down to plain http: whoever sits on the path could change the answer.
    set(CURLOPT_REDIR_PROTOCOLS_STR, lower(url).starts_with("https:") ? "https" : "http,https");
    if (!options.ca_file.empty()) set(CURLOPT_CAINFO, options.ca_file.c_str());
    set(CURLOPT_FOLLOWLOCATION, 1L);
    set(CURLOPT_MAXREDIRS, 10L);
    set(CURLOPT_HTTPGET, 1L);
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_USERAGENT, k_user_agent.c_str());
    set(CURLOPT_NOPROXY, request.noproxy.c_str());
    set(CURLOPT_CONNECTTIMEOUT, static_cast<long>(options.connect_timeout.count()));
    set(CURLOPT_LOW_SPEED_LIMIT, options.stall_bytes_per_second);
    set(CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.stall_time.count()));
    set(CURLOPT_HEADERFUNCTION, &on_header);
    set(CURLOPT_HEADERDATA, static_cast<void*>(&request.headers));
    if (rc != CURLE_OK)
        return fail(std::string("cannot set up libcurl to download ") + url + ": " + curl_easy_strerror(rc),
                    "this libcurl is too old; berth needs libcurl4-openssl 7.85 or newer");
    return {};
}

std::string seconds_text(std::chrono::seconds s) { return std::to_string(s.count()) + " s"; }

/// A failed transfer, as an Error that says what to do. `kept` is how much of the file is on
/// disk for a later resume (0 for in-memory fetches).
Error transfer_error(CURLcode code, const Request& request, const std::string& url,
                     const HttpOptions& options, std::uint64_t kept, std::uint64_t expected) {
    const std::string detail = trim(request.error_buffer).empty() ? std::string(curl_easy_strerror(code))
                                                                  : std::string(trim(request.error_buffer));
    const std::string proxy = proxy_in_use(url);
    const std::string via = proxy.empty() ? "" : " through the proxy " + proxy;
    std::string message = "downloading " + url + via + " failed: " + detail;
    std::string hint;
    const std::string resume = kept > 0 ? "run the same `berth image pull` again to resume from " +
                                              human_bytes(kept)
                                        : "try again";
    const std::string check_net =
        proxy.empty() ? "check the URL and your network (set https_proxy/http_proxy if you need a proxy)"
                      : "check the URL, your network and the proxy " + proxy;
    switch (code) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
            hint = check_net;
            break;
        case CURLE_OPERATION_TIMEDOUT:
            if (request.error_buffer[0] != '\0' && detail.find("too slow") != std::string::npos) {
                message = "downloading " + url + via + " stalled: less than " +
                          std::to_string(options.stall_bytes_per_second) + " bytes/s for " +
                          seconds_text(options.stall_time);
                hint = "the server or the network stopped sending; " + resume;
            } else {
                message = "downloading " + url + via + " failed: no connection within " +
                          seconds_text(options.connect_timeout) + " (" + detail + ")";
                hint = check_net;
            }
            break;
        case CURLE_PARTIAL_FILE:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
            message = "downloading " + url + via + " broke off" +
                      (expected > 0 ? " after " + human_bytes(kept) + " of " + human_bytes(expected) : "") +
                      " (" + detail + ")";
            hint = "the connection was closed early; " + resume;
            break;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
            message = "downloading " + url + via + " failed: the server's TLS certificate was not accepted (" +
                      detail + ")";
            hint = "check the URL; if a proxy inspects TLS, add its CA to the system's trust store "
                   "(/usr/local/share/ca-certificates, then update-ca-certificates)";
            break;
        case CURLE_TOO_MANY_REDIRECTS:
            hint = "the server redirects in a loop; check the URL";
            break;
        case CURLE_UNSUPPORTED_PROTOCOL:
            if (!lower(url).starts_with("https:")) {
                hint = "the server redirected to a protocol berth does not fetch (only http and https); check "
                       "the URL";
                break;
            }
            message = "refusing " + url + via + ": the server redirected the https download to plain "
                      "http, where anyone on the network path could change it (" + detail + ")";
            hint = "use a URL that stays on https (the mirror's https address), or pin the image by "
                   "digest with --checksum sha256:HEX";
            break;
        default:
            hint = kept > 0 ? resume : check_net;
            break;
    }
    Error error{ErrorKind::Failed, std::move(message), std::move(hint), {}};
    error.with("url", url).with("curl_code", std::to_string(static_cast<int>(code)));
    if (!proxy.empty()) error.with("proxy", proxy);
    return error;
}

Error status_error(long status, const std::string& url, std::string_view body) {
    std::string excerpt(body.substr(0, 200));
    for (char& c : excerpt)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    excerpt = std::string(trim(excerpt));
    const std::string proxy = proxy_in_use(url);
    std::string message = "downloading " + url + " failed: the server answered HTTP " + std::to_string(status) +
                          (excerpt.empty() ? "" : " (" + excerpt + ")");
    std::string hint;
    if (status == 404 || status == 410)
        hint = "check the URL: the file is not there (distributions move old images away)";
    else if (status == 407)
        hint = "the proxy " + (proxy.empty() ? std::string("in your environment") : proxy) +
               " wants credentials: write them into the variable (http://USER:PASSWORD@HOST:PORT)";
    else if (status == 401 || status == 403)
        hint = "the server refuses access to this file; check the URL";
    else if (status >= 500)
        hint = "the server failed; try again later";
    else
        hint = "check the URL";
    Error error{ErrorKind::Failed, std::move(message), std::move(hint), {}};
    error.with("url", url).with("http_status", std::to_string(status));
    return error;
}

struct TextSink {
    std::string body;
    std::size_t max_bytes = 0;
    bool too_large = false;
};

std::size_t on_text(char* data, std::size_t size, std::size_t count, void* user) {
    auto* sink = static_cast<TextSink*>(user);
    const std::size_t bytes = size * count;
    if (sink->body.size() + bytes > sink->max_bytes) {
        sink->too_large = true;
        return 0;
    }
    sink->body.append(data, bytes);
    return bytes;
}

fs::path meta_path(const fs::path& partial) { return fs::path(partial.string() + ".json"); }

/// What download.partial.json says about the partial file next to it.
struct PartialMeta {
    std::string url;
    std::string etag;
    std::string last_modified;
};

std::optional<PartialMeta> read_meta(const fs::path& partial) {
    auto text = read_file(meta_path(partial));
    if (!text) return std::nullopt;
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (!j.is_object() || !j.contains("url") || !j["url"].is_string()) return std::nullopt;
    PartialMeta meta;
    meta.url = j["url"].get<std::string>();
    for (auto [key, out] : {std::pair{"etag", &meta.etag}, std::pair{"last_modified", &meta.last_modified}}) {
        const auto it = j.find(key);
        if (it != j.end() && it->is_string()) *out = it->get<std::string>();
    }
    return meta;
}

/// The state of one file transfer, shared with libcurl's write callback.
struct FileSink {
    CURL* handle = nullptr;
    const Headers* headers = nullptr;
    std::string url;
    fs::path partial;
    int fd = -1;
    std::uint64_t offset = 0;    ///< where the Range request asked to start (0: no Range)
    std::uint64_t position = 0;  ///< the file's size so far
    std::uint64_t total = 0;
    std::uint64_t transferred = 0;
    bool started = false;
    bool accepted = false;       ///< a 200/206 whose body goes into the file
    bool bad_range = false;      ///< a 206 that does not start at offset
    long status = 0;
    std::string error_body;
    std::optional<Error> failure;
    DownloadResult result;
    const ProgressFn* progress = nullptr;
    Clock::time_point start = Clock::now();
    Clock::time_point last_report{};

    void report(bool finished) {
        if (progress == nullptr || !*progress) return;
        const auto now = Clock::now();
        if (!finished && now - last_report < k_progress_interval) return;
        last_report = now;
        const double seconds = std::chrono::duration<double>(now - start).count();
        TransferProgress p;
        p.done = position;
        p.total = total;
        p.resumed_from = result.resumed_from;
        p.rate = seconds > 0 ? static_cast<double>(transferred) / seconds : 0;
        p.finished = finished;
        (*progress)(p);
    }

    /// Decides, at the first byte of the body, what the answer means for the file.
    bool begin() {
        started = true;
        curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
        if (status == 206) {
            const auto range = parse_content_range(headers->content_range);
            if (!range || range->first != offset) {
                bad_range = true;
                return false;
            }
            position = offset;
            total = range->second;
            result.resumed_from = offset;
        } else if (status == 200) {
            if (offset > 0) {
                // The server ignored the Range (or If-Range found the file changed): it sends the
                // whole file, so the partial one is dropped.
                if (::ftruncate(fd, 0) != 0) {
                    failure = fail("cannot truncate " + partial.string() + ": " + errno_text(errno)).error();
                    return false;
                }
                result.restarted = true;
                spdlog::debug("{} answered 200 to a Range request: downloading it from the start", url);
            }
            position = 0;
            curl_off_t length = -1;
            if (curl_easy_getinfo(handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK && length > 0)
                total = static_cast<std::uint64_t>(length);
        } else {
            return true;  // an error answer: its body is kept for the message
        }
        accepted = true;
        nlohmann::json meta = {{"url", url}, {"etag", headers->etag}, {"last_modified", headers->last_modified}};
        if (auto ok = write_file_atomic(meta_path(partial), meta.dump() + "\n", 0600); !ok) {
            failure = ok.error();
            return false;
        }
        return true;
    }

    std::size_t write(const char* data, std::size_t bytes) {
        if (!started && !begin()) return 0;
        if (!accepted) {
            if (error_body.size() < k_error_body_bytes)
                error_body.append(data, std::min(bytes, k_error_body_bytes - error_body.size()));
            return bytes;
        }
        std::size_t off = 0;
        while (off < bytes) {
            const ssize_t n = ::pwrite(fd, data + off, bytes - off, static_cast<off_t>(position + off));
            if (n < 0) {
                if (errno == EINTR) continue;
                const int err = errno;
                failure = fail("cannot write " + partial.string() + ": " + errno_text(err),
                               err == ENOSPC ? "free some disk space, then pull again: the download resumes"
                                             : "")
                              .error();
                position += off;
                return 0;
            }
            off += static_cast<std::size_t>(n);
        }
        position += bytes;
        transferred += bytes;
        report(false);
        return bytes;
    }
};

std::size_t on_file_data(char* data, std::size_t size, std::size_t count, void* user) {
    return static_cast<FileSink*>(user)->write(data, size * count);
}

enum class Attempt { Done, StartOver };

/// Where to resume: the size of the partial file an earlier pull of the same URL left, else 0
/// (and a partial file of another URL is deleted).
std::uint64_t resume_offset(const std::string& url, const fs::path& partial) {
    std::error_code ec;
    if (!fs::exists(partial, ec)) return 0;
    const auto meta = read_meta(partial);
    if (!meta || meta->url != url) {
        remove_partial(partial);
        return 0;
    }
    const std::uint64_t offset = fs::file_size(partial, ec);
    return ec ? 0 : offset;
}

/// Asks for the rest of the file when resuming (with If-Range, so that a changed file comes
/// whole) and sends the body to `sink`.
Result<void> set_transfer_options(Request& request, FileSink& sink) {
    CURL* h = request.handle.get();
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption option, auto value) {
        if (rc == CURLE_OK) rc = curl_easy_setopt(h, option, value);
    };
    if (sink.offset > 0) {
        // CURLOPT_RANGE, not RESUME_FROM: libcurl fails a 200 answer to RESUME_FROM, and a
        // server without ranges should simply send the whole file again. libcurl copies the
        // string.
        const std::string range = std::to_string(sink.offset) + "-";
        set(CURLOPT_RANGE, range.c_str());
        const auto meta = read_meta(sink.partial);
        std::string validator;
        if (meta && !meta->etag.empty() && !meta->etag.starts_with("W/")) validator = meta->etag;
        else if (meta) validator = meta->last_modified;
        if (!validator.empty()) {
            request.extra_headers.reset(curl_slist_append(nullptr, ("If-Range: " + validator).c_str()));
            set(CURLOPT_HTTPHEADER, request.extra_headers.get());
        }
        spdlog::info("Resuming the download at {}", human_bytes(sink.offset));
    }
    set(CURLOPT_WRITEFUNCTION, &on_file_data);
    set(CURLOPT_WRITEDATA, static_cast<void*>(&sink));
    if (rc != CURLE_OK)
        return fail(std::string("cannot set up libcurl to download ") + sink.url + ": " + curl_easy_strerror(rc));
    return {};
}

/// What a finished curl_easy_perform means for the file: done (synced), start over (the answer
/// does not fit the partial file), or an Error.
Result<Attempt> transfer_outcome(CURLcode rc, Request& request, FileSink& sink, const HttpOptions& options,
                                 DownloadResult& out) {
    CURL* h = request.handle.get();
    const std::string& url = sink.url;
    if (sink.bad_range) {
        spdlog::debug("{} answered a range that does not start at {}: {}", url, sink.offset,
                      request.headers.content_range);
        return Attempt::StartOver;
    }
    if (sink.failure) return std::unexpected(*sink.failure);
    if (!sink.started && rc == CURLE_OK) {
        // An empty body: the callback never ran.
        if (!sink.begin()) {
            if (sink.bad_range) return Attempt::StartOver;
            if (sink.failure) return std::unexpected(*sink.failure);
        }
    }
    // The last report ends the progress line, whether the transfer completed or not.
    if (sink.accepted) sink.report(true);
    if (rc != CURLE_OK) {
        curl_off_t length = -1;
        std::uint64_t expected = sink.total;
        if (expected == 0 && curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
            length > 0)
            expected = static_cast<std::uint64_t>(length) + sink.result.resumed_from;
        return std::unexpected(transfer_error(rc, request, url, options, sink.position, expected));
    }
    if (sink.status == 416 && sink.offset > 0) {
        spdlog::debug("{} answered 416 to a Range from {}: starting over", url, sink.offset);
        return Attempt::StartOver;
    }
    if (!sink.accepted) return std::unexpected(status_error(sink.status, url, sink.error_body));
    if (sink.total > 0 && sink.position != sink.total)
        return fail("downloading " + url + " ended after " + human_bytes(sink.position) + " of " +
                        human_bytes(sink.total),
                    "the server closed the transfer early; run the same `berth image pull` again to resume");
    if (::fsync(sink.fd) != 0) return fail("cannot sync " + sink.partial.string() + ": " + errno_text(errno));
    out = sink.result;
    out.size = sink.position;
    return Attempt::Done;
}

Result<Attempt> transfer_once(const std::string& url, const fs::path& partial, const HttpOptions& options,
                              DownloadResult& out) {
    const std::uint64_t offset = resume_offset(url, partial);

    Request request;
    if (auto ok = setup(request, url, options); !ok) return std::unexpected(ok.error());

    const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return fail("cannot write " + partial.string() + ": " + errno_text(errno));
    struct FdCloser {
        int fd;
        ~FdCloser() { ::close(fd); }
    } closer{fd};

    FileSink sink;
    sink.handle = request.handle.get();
    sink.headers = &request.headers;
    sink.url = url;
    sink.partial = partial;
    sink.fd = fd;
    sink.offset = offset;
    sink.position = offset;
    sink.progress = &options.progress;
    if (auto ok = set_transfer_options(request, sink); !ok) return std::unexpected(ok.error());

    const CURLcode rc = curl_easy_perform(request.handle.get());
    return transfer_outcome(rc, request, sink, options, out);
}

}  // namespace

bool is_http_url(std::string_view text) {
    const std::string head = lower(text.substr(0, 8));
    return head.starts_with("http://") || head.starts_with("https://");
}

void remove_partial(const fs::path& partial) {
    std::error_code ec;
    fs::remove(partial, ec);
    fs::remove(meta_path(partial), ec);
}

Result<DownloadResult> download_file(const std::string& url, const fs::path& partial, const HttpOptions& options) {
    bool restarted = false;
    for (int attempt = 0; attempt < 2; ++attempt) {
        DownloadResult result;
        auto done = transfer_once(url, partial, options, result);
        if (!done) return std::unexpected(done.error());
        if (*done == Attempt::Done) {
            result.restarted = result.restarted || restarted;
            return result;
        }
        // The server's answer to the Range cannot be appended: download the whole file.
        remove_partial(partial);
        restarted = true;
    }
    return fail("downloading " + url + " failed: the server's answers to range requests do not fit the file",
                "delete " + partial.string() + " and pull again");
}

Result<std::string> http_get_text(const std::string& url, std::size_t max_bytes, const HttpOptions& options,
                                  bool secure_only) {
    const std::string hint = "use the file's https URL, or pin the image by digest with --checksum sha256:HEX";
    if (secure_only && !is_secure_source_url(url))
        return fail("refusing to fetch " + url + " over plain http: anyone on the network path could change it",
                    hint);
    Request request;
    if (auto ok = setup(request, url, options); !ok) return std::unexpected(ok.error());
    CURL* h = request.handle.get();
    TextSink sink;
    sink.max_bytes = max_bytes;
    CURLcode rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_text);
    if (rc == CURLE_OK) rc = curl_easy_setopt(h, CURLOPT_WRITEDATA, static_cast<void*>(&sink));
    if (rc != CURLE_OK)
        return fail(std::string("cannot set up libcurl to download ") + url + ": " + curl_easy_strerror(rc));
    rc = curl_easy_perform(h);
    if (sink.too_large)
        return fail("downloading " + url + " failed: it is larger than " + human_bytes(max_bytes) +
                        ", too large for a checksum file",
                    "check the checksum URL: it should name a SHA256SUMS or SHA512SUMS file");
    if (rc != CURLE_OK) return std::unexpected(transfer_error(rc, request, url, options, 0, 0));
    const char* effective = nullptr;
    curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective);
    if (secure_only && (effective == nullptr || !is_secure_source_url(effective)))
        return fail("refusing " + url + ": it was redirected to " + (effective ? effective : "an unknown URL") +
                        ", plain http that anyone on the network path could change",
                    hint);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) return std::unexpected(status_error(status, url, sink.body));
    return std::move(sink.body);
}

bool is_secure_source_url(std::string_view url) {
    const std::string text = lower(url);
    if (text.starts_with("https://")) return true;
    if (!text.starts_with("http://")) return false;
    std::string_view rest = std::string_view(text).substr(7);
    rest = rest.substr(0, rest.find_first_of("/?#"));
    if (rest.find('@') != std::string_view::npos) return false;
    std::string_view host = rest;
    if (host.starts_with('[')) {
        const auto close = host.find(']');
        if (close == std::string_view::npos) return false;
        const std::string_view tail = host.substr(close + 1);
        if (!tail.empty() && !tail.starts_with(':')) return false;
        host = host.substr(1, close - 1);
    } else {
        host = host.substr(0, host.find(':'));
    }
    return host == "127.0.0.1" || host == "localhost" || host == "::1";
}

}  // namespace berth
