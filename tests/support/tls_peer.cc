#include "tls_peer.h"

#include <berth/pki/openssl_ptr.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>

namespace berth::test {
namespace {

using pki::BioPtr;
using pki::PkeyPtr;
using pki::X509Ptr;
using SslCtxPtr = std::unique_ptr<SSL_CTX, pki::OpenSslDeleter<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, pki::OpenSslDeleter<SSL_free>>;

constexpr std::string_view k_greeting = "berth-tls-ok";

class Socket {
public:
    explicit Socket(int fd) : m_fd(fd) {}
    Socket(Socket&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
    Socket& operator=(Socket&&) = delete;
    ~Socket() {
        if (m_fd >= 0) ::close(m_fd);
    }
    [[nodiscard]] int fd() const { return m_fd; }

private:
    int m_fd;
};

std::string take_errors() {
    std::string text;
    while (unsigned long code = ERR_get_error()) {
        std::array<char, 256> buf{};
        ERR_error_string_n(code, buf.data(), buf.size());
        if (!text.empty()) text += "; ";
        text += buf.data();
    }
    ERR_clear_error();
    return text;
}

std::string join(std::string a, const std::string& b) {
    if (a.empty()) return b;
    if (b.empty()) return a;
    return a + "; " + b;
}

std::string errno_message(const std::string& what, int err) {
    return what + ": " + std::strerror(err);
}

// OpenSSL's socket BIO writes with write(2): a peer that hung up would raise SIGPIPE and kill the
// test binary. Children started by ProcessRunner get SIGPIPE back to its default.
void ignore_sigpipe() {
    static std::once_flag once;
    std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

Result<BioPtr> memory_bio(const std::string& pem) {
    if (pem.size() > static_cast<std::size_t>(INT_MAX)) return fail("PEM too large");
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return fail("BIO_new_mem_buf: " + take_errors());
    return bio;
}

Result<void> trust_ca(SSL_CTX* ctx, const std::string& ca_pem, bool send_ca_names) {
    auto bio = memory_bio(ca_pem);
    if (!bio) return std::unexpected(bio.error());
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    int count = 0;
    while (X509Ptr cert{PEM_read_bio_X509(bio->get(), nullptr, nullptr, nullptr)}) {
        if (X509_STORE_add_cert(store, cert.get()) != 1)
            return fail("X509_STORE_add_cert: " + take_errors());
        if (send_ca_names && SSL_CTX_add_client_CA(ctx, cert.get()) != 1)
            return fail("SSL_CTX_add_client_CA: " + take_errors());
        ++count;
    }
    // The loop ends on "no start line", which is expected after the last certificate.
    const std::string errors = take_errors();
    if (count == 0) return fail("no CA certificate in the CA PEM: " + errors);
    return {};
}

Result<void> use_identity(SSL_CTX* ctx, const pki::CertAndKey& identity) {
    auto cert_bio = memory_bio(identity.cert_pem);
    if (!cert_bio) return std::unexpected(cert_bio.error());
    X509Ptr cert(PEM_read_bio_X509(cert_bio->get(), nullptr, nullptr, nullptr));
    if (!cert) return fail("cannot parse the certificate PEM: " + take_errors());
    auto key_bio = memory_bio(identity.key_pem);
    if (!key_bio) return std::unexpected(key_bio.error());
    PkeyPtr key(PEM_read_bio_PrivateKey(key_bio->get(), nullptr, nullptr, nullptr));
    if (!key) return fail("cannot parse the private key PEM: " + take_errors());
    if (SSL_CTX_use_certificate(ctx, cert.get()) != 1)
        return fail("SSL_CTX_use_certificate: " + take_errors());
    if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1)
        return fail("SSL_CTX_use_PrivateKey: " + take_errors());
    if (SSL_CTX_check_private_key(ctx) != 1)
        return fail("SSL_CTX_check_private_key: " + take_errors());
    return {};
}

Result<SslCtxPtr> new_context(int verify_mode) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_method()));
    if (!ctx) return fail("SSL_CTX_new: " + take_errors());
    if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1)
        return fail("SSL_CTX_set_min_proto_version: " + take_errors());
    SSL_CTX_set_verify(ctx.get(), verify_mode, nullptr);
    return ctx;
}

Result<SslCtxPtr> server_context(const TlsServerConfig& config) {
    auto ctx = new_context(SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
    if (!ctx) return ctx;
    if (auto r = use_identity(ctx->get(), config.identity); !r) return std::unexpected(r.error());
    if (auto r = trust_ca(ctx->get(), config.ca_pem, true); !r) return std::unexpected(r.error());
    return ctx;
}

Result<SslCtxPtr> client_context(const TlsClientConfig& config) {
    auto ctx = new_context(SSL_VERIFY_PEER);
    if (!ctx) return ctx;
    if (config.identity) {
        if (auto r = use_identity(ctx->get(), *config.identity); !r)
            return std::unexpected(r.error());
    }
    if (auto r = trust_ca(ctx->get(), config.ca_pem, false); !r) return std::unexpected(r.error());
    return ctx;
}

void set_io_timeouts(int fd, std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/// Why an SSL call failed: the verify result, the error queue, or the socket error.
std::string ssl_failure(SSL* ssl, int ret, const std::string& what) {
    const int saved_errno = errno;
    const int code = SSL_get_error(ssl, ret);
    std::string text = what + " failed";
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK)
        text = join(text, std::string("certificate verify: ") + X509_verify_cert_error_string(verify));
    text = join(text, take_errors());
    if (code == SSL_ERROR_SYSCALL) {
        if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK) text = join(text, "timed out");
        else if (saved_errno != 0) text = join(text, errno_message("socket", saved_errno));
        else text = join(text, "connection closed by peer");
    } else if (code == SSL_ERROR_ZERO_RETURN) {
        text = join(text, "connection closed by peer");
    }
    return text;
}

Result<Socket> listen_loopback(std::uint16_t& port) {
    Socket sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (sock.fd() < 0) return fail(errno_message("socket", errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(sock.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return fail(errno_message("bind 127.0.0.1:0", errno));
    if (::listen(sock.fd(), 1) != 0) return fail(errno_message("listen", errno));
    socklen_t len = sizeof addr;
    if (::getsockname(sock.fd(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        return fail(errno_message("getsockname", errno));
    port = ntohs(addr.sin_port);
    return sock;
}

/// The server side: accept one connection, handshake, send the greeting.
TlsSideResult serve_one(int listen_fd, SSL_CTX* ctx, std::chrono::milliseconds timeout) {
    pollfd waiting{listen_fd, POLLIN, 0};
    int ready = 0;
    do {
        ready = ::poll(&waiting, 1, static_cast<int>(timeout.count()));
    } while (ready < 0 && errno == EINTR);
    if (ready < 0) return {false, errno_message("poll", errno)};
    if (ready == 0) return {false, "no client connected within the timeout"};
    if ((waiting.revents & POLLIN) == 0) return {false, "no client connected"};
    Socket conn(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
    if (conn.fd() < 0) return {false, errno_message("accept", errno)};
    set_io_timeouts(conn.fd(), timeout);

    SslPtr ssl(SSL_new(ctx));
    if (!ssl || SSL_set_fd(ssl.get(), conn.fd()) != 1) return {false, "SSL_new: " + take_errors()};
    const int accepted = SSL_accept(ssl.get());
    if (accepted != 1) return {false, ssl_failure(ssl.get(), accepted, "SSL_accept")};
    const int written = SSL_write(ssl.get(), k_greeting.data(), static_cast<int>(k_greeting.size()));
    if (written != static_cast<int>(k_greeting.size()))
        return {false, ssl_failure(ssl.get(), written, "SSL_write of the greeting")};
    SSL_shutdown(ssl.get());
    ERR_clear_error();
    return {true, {}};
}

/// The client side: connect, handshake, read the greeting.
TlsSideResult connect_one(std::uint16_t port, SSL_CTX* ctx, const std::string& expected_ip,
                          std::chrono::milliseconds timeout) {
    Socket sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (sock.fd() < 0) return {false, errno_message("socket", errno)};
    set_io_timeouts(sock.fd(), timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(sock.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return {false, errno_message("connect 127.0.0.1", errno)};

    SslPtr ssl(SSL_new(ctx));
    if (!ssl || SSL_set_fd(ssl.get(), sock.fd()) != 1) return {false, "SSL_new: " + take_errors()};
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), expected_ip.c_str()) != 1)
        return {false, "invalid expected IP \"" + expected_ip + "\": " + take_errors()};
    const int connected = SSL_connect(ssl.get());
    if (connected != 1) return {false, ssl_failure(ssl.get(), connected, "SSL_connect")};

    std::string got;
    std::array<char, 64> buf{};
    while (got.size() < k_greeting.size()) {
        const int n = SSL_read(ssl.get(), buf.data(), static_cast<int>(buf.size()));
        if (n <= 0) return {false, ssl_failure(ssl.get(), n, "SSL_read of the server greeting")};
        got.append(buf.data(), static_cast<std::size_t>(n));
    }
    if (got != k_greeting) return {false, "unexpected greeting from the server: " + got};
    SSL_shutdown(ssl.get());
    ERR_clear_error();
    return {true, {}};
}

}  // namespace

TlsHandshakeResult run_tls_handshake(const TlsServerConfig& server, const TlsClientConfig& client,
                                     std::chrono::milliseconds timeout) {
    ignore_sigpipe();
    TlsHandshakeResult result;
    auto server_ctx = server_context(server);
    if (!server_ctx) result.server.error = "server setup: " + server_ctx.error().message;
    auto client_ctx = client_context(client);
    if (!client_ctx) result.client.error = "client setup: " + client_ctx.error().message;
    if (!server_ctx || !client_ctx) return result;

    std::uint16_t port = 0;
    auto listener = listen_loopback(port);
    if (!listener) {
        result.server.error = "server setup: " + listener.error().message;
        result.client.error = "not run: the server could not listen";
        return result;
    }
    std::thread server_thread([&] {
        result.server = serve_one(listener->fd(), server_ctx->get(), timeout);
    });
    result.client = connect_one(port, client_ctx->get(), client.expected_ip, timeout);
    if (!result.client.ok) {
        // Wakes a server still waiting in poll() when the client never got to connect.
        ::shutdown(listener->fd(), SHUT_RDWR);
    }
    server_thread.join();
    return result;
}

}  // namespace berth::test
