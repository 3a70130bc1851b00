#include <berth/docker/docker_client.h>

#include <berth/core/docker_url.h>
#include <berth/core/text.h>

#include <berth/net/curl_util.h>

#include <curl/curl.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

namespace berth {
namespace {

using std::chrono::milliseconds;

// /info is a few KiB; anything this large is not a Docker daemon answering.
constexpr std::size_t k_max_body_bytes = 8 * 1024 * 1024;
constexpr std::size_t k_body_excerpt_bytes = 200;
constexpr milliseconds k_first_backoff{250};
constexpr milliseconds k_max_backoff{2000};
// The floor for one poll near the deadline: curl reads a timeout of 0 as "no timeout".
constexpr milliseconds k_min_poll_timeout{100};

const std::string k_certs_hint =
    "if the machine's certificates or its address changed, run `berth regenerate-certs NAME`";

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* body = static_cast<std::string*>(user);
    const std::size_t bytes = size * count;
    // Returning less than `bytes` makes curl stop with CURLE_WRITE_ERROR.
    if (body->size() + bytes > k_max_body_bytes) return 0;
    body->append(data, bytes);
    return bytes;
}

/// The start of a body, on one line, for an error message.
std::string excerpt(std::string_view body) {
    std::string out(body.substr(0, k_body_excerpt_bytes));
    for (char& c : out) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    if (body.size() > k_body_excerpt_bytes) out += "...";
    return out.empty() ? "(empty body)" : out;
}

bool contains(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

std::string seconds_text(milliseconds ms) {
    const auto tenths = (ms.count() + 50) / 100;
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + "s";
}

/// Names a TLS file that is missing or unreadable, without ever opening it.
Result<void> check_readable(const std::filesystem::path& path, std::string_view what) {
    if (path.empty())
        return fail("no " + std::string(what) + " given for the Docker client", k_certs_hint);
    if (::access(path.c_str(), R_OK) != 0) {
        const int err = errno;
        return fail_kind(err == ENOENT ? ErrorKind::NotFound : ErrorKind::Failed,
                         "cannot read the " + std::string(what) + " " + path.string() + ": " +
                             errno_text(err),
                         k_certs_hint);
    }
    return {};
}

std::string https_url(const DockerUrl& url, std::string_view path) {
    const bool v6 = url.host.find(':') != std::string::npos;
    return "https://" + (v6 ? "[" + url.host + "]" : url.host) + ":" + std::to_string(url.port) +
           std::string(path);
}

/// What curl knew about a failed transfer.
struct TransferFailure {
    CURLcode code = CURLE_OK;
    std::string curl_message;   ///< CURLOPT_ERRORBUFFER, trimmed
    long os_errno = 0;          ///< of the last connect() failure
    bool tls_done = false;      ///< the TLS handshake completed (from the client's side)
    bool http_answered = false; ///< an HTTP status line came back
};

/// Turns a failed transfer into an Error that says what to do about it.
Error transfer_error(const TransferFailure& failure, const std::string& docker_url,
                     const DockerUrl& parsed, std::string_view request, milliseconds timeout) {
    const CURLcode code = failure.code;
    const std::string& curl_message = failure.curl_message;
    const std::string what = std::string(request) + " on Docker at " + docker_url + " failed: ";
    const std::string detail =
        curl_message.empty() ? std::string(curl_easy_strerror(code)) : std::string(curl_message);
    const std::string port = std::to_string(parsed.port);
    std::string message = what + detail;
    std::string hint;
    switch (code) {
        case CURLE_COULDNT_CONNECT:
            if (failure.os_errno == ECONNREFUSED) {
                message = what + "connection refused (" + detail + ")";
                hint = "dockerd may not be running or not listening on port " + port +
                       ": check `journalctl -u docker` on the machine (berth ssh NAME)";
            } else {
                hint = "check that the machine is running and that a firewall lets " + port +
                       "/tcp through";
            }
            break;
        case CURLE_OPERATION_TIMEDOUT:
            message = what + "no answer within " + seconds_text(timeout) + " (" + detail + ")";
            hint = "check that the machine is running and that a firewall lets " + port +
                   "/tcp through; if it is, dockerd may be hung: check `journalctl -u docker`";
            break;
        case CURLE_COULDNT_RESOLVE_HOST:
            hint = "check the machine's address (berth ip NAME)";
            break;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_ISSUER_ERROR:
            message = what + "the daemon's certificate is not valid for this machine (" + detail + ")";
            hint = "its certificate must be signed by this machine's CA and name " + parsed.host +
                   "; " + k_certs_hint;
            break;
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
            message = what + "cannot use this machine's certificates (" + detail + ")";
            hint = k_certs_hint;
            break;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
            // With TLS 1.3 the server checks the client certificate after the client thinks the
            // handshake is done, so a refusal shows up as an alert while sending or reading.
            if (contains(detail, "alert") || contains(detail, "certificate")) {
                message = what + "the TLS handshake was refused (" + detail + ")";
                hint = "the daemon does not accept this machine's client certificate or uses "
                       "other certificates; " + k_certs_hint;
            } else if (code == CURLE_SSL_CONNECT_ERROR) {
                message = what + "the TLS handshake failed (" + detail + ")";
                hint = "is dockerd on port " + port + " set up for TLS (tlsverify)? " + k_certs_hint;
            } else if (failure.tls_done && !failure.http_answered) {
                // The refusal's alert is often lost: the server resets the connection, which
                // still holds berth's unread request, and curl only sees the reset.
                message = what + "the daemon dropped the connection right after the TLS handshake (" +
                          detail + ")";
                hint = "it most likely does not accept this machine's client certificate; " +
                       k_certs_hint + "; otherwise check `journalctl -u docker` on the machine";
            } else {
                hint = "the connection broke; check `journalctl -u docker` on the machine";
            }
            break;
        case CURLE_GOT_NOTHING:
            hint = "something on port " + port + " closed the connection without answering; "
                   "check `journalctl -u docker` on the machine";
            break;
        case CURLE_WRITE_ERROR:
            message = what + "the answer is larger than " +
                      std::to_string(k_max_body_bytes / (1024 * 1024)) + " MiB";
            hint = "port " + port + " does not look like a Docker daemon";
            break;
        default:
            hint = "check that dockerd runs on the machine: `journalctl -u docker`";
            break;
    }
    Error error{ErrorKind::Failed, std::move(message), std::move(hint), {}};
    error.with("url", docker_url).with("request", std::string(request));
    error.with("curl_code", std::to_string(static_cast<int>(code)));
    return error;
}

Error status_error(long status, std::string_view body, const std::string& docker_url,
                   std::string_view request) {
    const std::string_view path = request.substr(request.find(' ') + 1);
    std::string message = std::string(request) + " on Docker at " + docker_url +
                          " answered HTTP " + std::to_string(status) + ": " + excerpt(body);
    std::string hint;
    if (status >= 500)
        hint = "the daemon reported an internal error: check `journalctl -u docker` on the machine";
    else if (status == 401 || status == 403)
        hint = "an authorization plugin on the daemon refused berth; check its policy";
    else if (status == 404)
        hint = "the daemon does not serve " + std::string(path) +
               "; is this a Docker Engine (API 1.41 or newer)?";
    else
        hint = "check `journalctl -u docker` on the machine";
    Error error{ErrorKind::Failed, std::move(message), std::move(hint), {}};
    error.with("url", docker_url).with("request", std::string(request));
    error.with("http_status", std::to_string(status));
    return error;
}

}  // namespace

DockerClient::DockerClient(std::string url, DockerTls tls, milliseconds request_timeout)
    : m_url(std::move(url)), m_tls(std::move(tls)), m_request_timeout(request_timeout) {}

namespace {

/// What curl knew when `rc` ended a transfer on `h`.
TransferFailure failure_of(CURL* h, CURLcode rc, const char* error_buffer) {
    TransferFailure failure;
    failure.code = rc;
    failure.curl_message = trim(error_buffer);
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &failure.os_errno);
    curl_off_t tls_time = 0;
    failure.tls_done = curl_easy_getinfo(h, CURLINFO_APPCONNECT_TIME_T, &tls_time) == CURLE_OK && tls_time > 0;
    long answered = 0;
    failure.http_answered = curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &answered) == CURLE_OK && answered != 0;
    return failure;
}

}  // namespace

Result<std::string> DockerClient::get(std::string_view path, milliseconds timeout, bool client_cert) {
    auto answer = send("GET", path, "", timeout, client_cert);
    if (!answer) return std::unexpected(std::move(answer.error()));
    if (answer->status < 200 || answer->status > 299)
        return std::unexpected(status_error(answer->status, answer->body, m_url, "GET " + std::string(path)));
    return std::move(answer->body);
}

Result<ApiAnswer> DockerClient::send(std::string_view method, std::string_view path, const std::string& json_body,
                                     milliseconds timeout, bool client_cert) {
    auto parsed = parse_docker_url(m_url);
    if (!parsed) return std::unexpected(std::move(parsed.error()));
    if (auto ok = check_readable(m_tls.ca, "CA certificate"); !ok) return std::unexpected(ok.error());
    if (auto ok = check_readable(m_tls.cert, "client certificate"); client_cert && !ok) return std::unexpected(ok.error());
    if (auto ok = check_readable(m_tls.key, "client key"); client_cert && !ok) return std::unexpected(ok.error());
    if (auto ok = init_curl_once(); !ok) return std::unexpected(ok.error());

    CurlPtr handle(curl_easy_init());
    if (!handle) return fail("cannot create a libcurl handle", "the process may be out of memory");
    CURL* h = handle.get();

    const std::string target = https_url(*parsed, path);
    const std::string ca = m_tls.ca.string();
    const std::string cert = m_tls.cert.string();
    const std::string key = m_tls.key.string();
    const long timeout_ms = static_cast<long>(std::max(timeout, milliseconds(1)).count());
    char error_buffer[CURL_ERROR_SIZE] = {};
    std::string body;
    const bool post = method == "POST";
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(
        post ? curl_slist_append(nullptr, "Content-Type: application/json") : nullptr, &curl_slist_free_all);

    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption option, auto value) {
        if (rc == CURLE_OK) rc = curl_easy_setopt(h, option, value);
    };
    set(CURLOPT_ERRORBUFFER, static_cast<char*>(error_buffer));
    set(CURLOPT_URL, target.c_str());
    set(CURLOPT_PROTOCOLS_STR, "https");
    if (post) {
        set(CURLOPT_POSTFIELDS, json_body.c_str());
        set(CURLOPT_POSTFIELDSIZE, static_cast<long>(json_body.size()));
        set(CURLOPT_HTTPHEADER, headers.get());
    } else if (method == "DELETE") {
        set(CURLOPT_CUSTOMREQUEST, "DELETE");  // docker node rm: /nodes/ID?force=true
    } else {
        set(CURLOPT_HTTPGET, 1L);
    }
    set(CURLOPT_FOLLOWLOCATION, 0L);
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_USERAGENT, "berth");
    // The docker host must never go through a proxy from the environment.
    set(CURLOPT_NOPROXY, "*");
    set(CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    set(CURLOPT_TIMEOUT_MS, timeout_ms);
    set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    set(CURLOPT_SSL_VERIFYPEER, 1L);
    set(CURLOPT_SSL_VERIFYHOST, 2L);
    set(CURLOPT_CAINFO, ca.c_str());
    // Debian's libcurl also trusts /etc/ssl/certs by default; only the machine's CA may vouch.
    set(CURLOPT_CAPATH, static_cast<const char*>(nullptr));
    if (client_cert) {
        set(CURLOPT_SSLCERTTYPE, "PEM");
        set(CURLOPT_SSLCERT, cert.c_str());
        set(CURLOPT_SSLKEYTYPE, "PEM");
        set(CURLOPT_SSLKEY, key.c_str());
    }
    set(CURLOPT_WRITEFUNCTION, &append_body);
    set(CURLOPT_WRITEDATA, static_cast<void*>(&body));
    if (rc != CURLE_OK || (post && !headers))
        return fail(std::string("cannot set up libcurl for Docker at ") + m_url + ": " + curl_easy_strerror(rc),
                    "this libcurl is too old or lacks TLS; berth needs libcurl4-openssl 7.85 or newer");

    rc = curl_easy_perform(h);
    const std::string request = std::string(method) + " " + std::string(path);
    if (rc != CURLE_OK)
        return std::unexpected(transfer_error(failure_of(h, rc, error_buffer), m_url, *parsed, request, timeout));
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    return ApiAnswer{status, std::move(body)};
}

Result<void> DockerClient::ping_within(milliseconds timeout) {
    auto body = get("/_ping", timeout);
    if (!body) return std::unexpected(std::move(body.error()));
    if (trim(*body) != "OK")
        return fail("GET /_ping on Docker at " + m_url + " answered \"" + excerpt(*body) +
                        "\" instead of \"OK\"",
                    "something other than dockerd may be listening there; check `journalctl -u "
                    "docker` on the machine");
    return {};
}

Result<void> DockerClient::ping() { return ping_within(m_request_timeout); }

Result<nlohmann::json> parse_api_answer(std::string_view body, std::string_view path, std::string_view url) {
    auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded() || !json.is_object())
        return fail("GET " + std::string(path) + " on Docker at " + std::string(url) +
                        " did not answer a JSON object: " + excerpt(body),
                    "something other than dockerd may be listening there; check `journalctl -u "
                    "docker` on the machine");
    return json;
}

Result<nlohmann::json> DockerClient::get_json(std::string_view path) {
    auto body = get(path, m_request_timeout);
    if (!body) return std::unexpected(std::move(body.error()));
    return parse_api_answer(*body, path, m_url);
}

Result<nlohmann::json> DockerClient::info() { return get_json("/info"); }

Result<nlohmann::json> DockerClient::version() { return get_json("/version"); }

namespace {

/// A container id as dockerd writes it: 64 lowercase hex digits (12 at least), nothing that could
/// change the path it is put in.
bool is_container_id(std::string_view id) {
    return id.size() >= 12 && id.size() <= 64 &&
           std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

Result<std::vector<nlohmann::json>> DockerClient::running_containers() {
    auto body = get("/containers/json", m_request_timeout);
    if (!body) return std::unexpected(std::move(body.error()));
    const auto list = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
    const std::string hint = "something other than dockerd may be listening there; check `journalctl -u docker` on the machine";
    if (list.is_discarded() || !list.is_array())
        return fail("GET /containers/json on Docker at " + m_url + " did not answer a JSON array: " + excerpt(*body), hint);
    std::vector<nlohmann::json> out;
    for (const auto& item : list) {
        const auto id = item.is_object() ? item.find("Id") : item.end();
        if (id == item.end() || !id->is_string() || !is_container_id(id->get_ref<const std::string&>()))
            return fail("GET /containers/json on Docker at " + m_url + " listed a container without a valid id: " +
                            excerpt(item.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)),
                        hint);
        const std::string path = "/containers/" + id->get<std::string>() + "/json";
        auto inspect = send("GET", path, "", m_request_timeout, true);
        if (!inspect) return std::unexpected(std::move(inspect.error()));
        if (inspect->status == 404) continue;  // removed since the list
        if (inspect->status < 200 || inspect->status > 299)
            return std::unexpected(status_error(inspect->status, inspect->body, m_url, "GET " + path));
        auto json = parse_api_answer(inspect->body, path, m_url);
        if (!json) return std::unexpected(std::move(json.error()));
        out.push_back(std::move(*json));
    }
    return out;
}

Result<ApiAnswer> DockerClient::authz_probe() {
    const nlohmann::json body = {{"Image", k_authz_probe_image},
                                 {"Cmd", {"true"}},
                                 {"Labels", {{"berth.audit", "authorization probe"}}},
                                 {"HostConfig", {{"Privileged", true}}}};
    return send("POST", "/containers/create", body.dump(), m_request_timeout, true);
}

Result<ApiAnswer> DockerClient::call(std::string_view method, std::string_view path, const std::string& json_body) {
    if (method != "GET" && method != "POST" && method != "DELETE")
        return fail_usage("the Docker API client sends GET, POST or DELETE, not " + std::string(method));
    return send(method, path, json_body, std::max(m_request_timeout, milliseconds(std::chrono::minutes(1))), true);
}

namespace {

/// Failures that waiting cannot mend: the daemon's certificate does not verify against this
/// machine's CA, berth's own certificate files are unusable or missing, the URL is malformed.
/// A restarting dockerd refuses connections or times out; it never presents a foreign certificate.
bool retry_cannot_help(const Error& error) {
    if (error.kind == ErrorKind::Usage || error.kind == ErrorKind::NotFound) return true;
    for (const auto& [key, value] : error.context) {
        if (key != "curl_code") continue;
        for (CURLcode fatal : {CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CERTPROBLEM,
                               CURLE_SSL_CACERT_BADFILE, CURLE_SSL_PINNEDPUBKEYNOTMATCH})
            if (value == std::to_string(static_cast<int>(fatal))) return true;
    }
    return false;
}

}  // namespace

Result<void> DockerClient::wait_until_ready(std::chrono::seconds timeout) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    const auto deadline = start + timeout;
    auto backoff = k_first_backoff;
    int attempts = 0;
    for (;;) {
        const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        ++attempts;
        auto ready = ping_within(std::min(m_request_timeout, std::max(remaining, k_min_poll_timeout)));
        if (ready) return {};
        if (retry_cannot_help(ready.error())) {
            Error error = std::move(ready.error());
            error.with("attempts", std::to_string(attempts));
            return std::unexpected(std::move(error));
        }
        const auto now = Clock::now();
        if (now >= deadline) {
            const auto waited = std::chrono::duration_cast<milliseconds>(now - start);
            Error error = std::move(ready.error());
            error.message = "Docker at " + m_url + " did not answer /_ping within " +
                            seconds_text(timeout) + " (waited " + seconds_text(waited) + ", " +
                            std::to_string(attempts) + " attempts); last failure: " + error.message;
            error.with("waited", seconds_text(waited)).with("attempts", std::to_string(attempts));
            return std::unexpected(std::move(error));
        }
        std::this_thread::sleep_for(
            std::min<milliseconds>(backoff, std::chrono::duration_cast<milliseconds>(deadline - now)));
        backoff = std::min(backoff * 2, k_max_backoff);
    }
}

Result<void> DockerClient::refuses_anonymous_client() {
    auto answer = get("/_ping", m_request_timeout, /*client_cert=*/false);
    const auto parsed = parse_docker_url(m_url);
    const std::string port = parsed ? std::to_string(parsed->port) : "2376";
    const std::string open_hint =
        "anyone who reaches port " + port + " can use the Docker API, which is root on the machine: "
        "dockerd must run with tlsverify and the machine's CA (/etc/docker/daemon.json); run `berth provision "
        "NAME` to restore berth's settings and check `journalctl -u docker`";
    if (answer)
        return fail("Docker at " + m_url + " answers a client without a certificate (GET /_ping: " +
                        excerpt(*answer) + ")",
                    open_hint);
    const Error& e = answer.error();
    auto context = [&e](std::string_view key) {
        for (const auto& [k, v] : e.context)
            if (k == key) return v;
        return std::string();
    };
    if (const std::string status = context("http_status"); !status.empty())
        return fail("Docker at " + m_url + " answers a client without a certificate (HTTP " + status + ")", open_hint);
    const std::string code = context("curl_code");
    const bool handshake_refused = code == std::to_string(CURLE_SSL_CONNECT_ERROR) &&
                                   (contains(e.message, "alert") || contains(e.message, "certificate"));
    // With TLS 1.3 the refusal comes after the client's side of the handshake: an alert or a reset
    // while sending or reading, or a close before any answer.
    const bool dropped = code == std::to_string(CURLE_RECV_ERROR) || code == std::to_string(CURLE_SEND_ERROR) ||
                         code == std::to_string(CURLE_GOT_NOTHING) || code == std::to_string(CURLE_SSL_CLIENTCERT);
    if (handshake_refused || dropped) return {};
    Error error = e;
    error.message = "cannot check that Docker at " + m_url + " refuses clients without a certificate: " + e.message;
    return std::unexpected(std::move(error));
}

Result<void> check_security_options(const nlohmann::json& info,
                                    const std::vector<std::string>& required) {
    const std::string hint =
        "berth turns on userns-remap and the default seccomp profile in /etc/docker/daemon.json "
        "and needs AppArmor or SELinux in the kernel (aa-status, getenforce); run `berth "
        "provision NAME` to apply them again and check `journalctl -u docker`";
    const auto options = info.is_object() ? info.find("SecurityOptions") : info.end();
    if (!info.is_object() || options == info.end() || !options->is_array())
        return fail("Docker /info has no SecurityOptions list", hint);

    std::vector<std::string> present;
    for (const auto& option : *options) {
        if (!option.is_string()) continue;
        const auto& text = option.get_ref<const std::string&>();
        std::string_view rest = text;
        while (!rest.empty()) {
            const auto comma = rest.find(',');
            const std::string_view part = rest.substr(0, comma);
            if (part.starts_with("name=")) present.emplace_back(part.substr(5));
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        }
    }
    const std::set<std::string, std::less<>> names(present.begin(), present.end());

    std::vector<std::string> missing;
    for (const auto& entry : required) {
        bool found = false;
        std::string shown;
        std::string_view rest = entry;
        for (;;) {
            const auto bar = rest.find('|');
            const std::string_view alternative = rest.substr(0, bar);
            found = found || names.contains(alternative);
            shown += (shown.empty() ? "" : " or ") + std::string(alternative);
            if (bar == std::string_view::npos) break;
            rest.remove_prefix(bar + 1);
        }
        if (!found) missing.push_back(shown);
    }
    if (missing.empty()) return {};

    auto join = [](const std::vector<std::string>& items) {
        std::string out;
        for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
        return out.empty() ? std::string("none") : out;
    };
    return fail("dockerd lacks required security options: " + join(missing) +
                    " (it reports: " + join(present) + ")",
                hint);
}

}  // namespace berth
