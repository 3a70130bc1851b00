#include <berth/image/checksum.h>

#include <berth/core/digest.h>
#include <berth/core/text.h>
#include <berth/pki/openssl_ptr.h>

#include <openssl/evp.h>

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <memory>

namespace berth {
namespace {

std::size_t hex_length(DigestAlgorithm algorithm) {
    return algorithm == DigestAlgorithm::Sha256 ? 64 : 128;
}

bool is_hex(std::string_view text) {
    for (char c : text)
        if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return false;
    return !text.empty();
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::optional<DigestAlgorithm> algorithm_of_length(std::size_t length) {
    if (length == 64) return DigestAlgorithm::Sha256;
    if (length == 128) return DigestAlgorithm::Sha512;
    return std::nullopt;
}

std::string finish_hex(EVP_MD_CTX* ctx) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    return to_hex(md, len);
}

}  // namespace

std::string_view to_string(DigestAlgorithm algorithm) {
    return algorithm == DigestAlgorithm::Sha256 ? "sha256" : "sha512";
}

std::string Checksum::text() const { return std::string(to_string(algorithm)) + ":" + hex; }

Result<Checksum> parse_checksum(std::string_view text) {
    const std::string hint = "write sha256:HEX (64 hex digits) or sha512:HEX (128 hex digits)";
    const auto colon = text.find(':');
    if (colon == std::string_view::npos)
        return fail_usage("checksum \"" + std::string(text) + "\" does not name its algorithm", hint);
    const std::string algorithm = lower(text.substr(0, colon));
    const std::string_view hex = text.substr(colon + 1);
    Checksum checksum;
    if (algorithm == "sha256") checksum.algorithm = DigestAlgorithm::Sha256;
    else if (algorithm == "sha512") checksum.algorithm = DigestAlgorithm::Sha512;
    else
        return fail_usage("checksum algorithm \"" + algorithm + "\" is not supported", hint);
    if (!is_hex(hex) || hex.size() != hex_length(checksum.algorithm))
        return fail_usage("checksum \"" + std::string(text) + "\" is not " + algorithm + ":" +
                              std::to_string(hex_length(checksum.algorithm)) + " hex digits",
                          hint);
    checksum.hex = lower(hex);
    return checksum;
}

Result<Checksum> find_in_sums(std::string_view sums, std::string_view file_name, std::string_view origin) {
    while (!sums.empty()) {
        const auto newline = sums.find('\n');
        const std::string_view line = trim(sums.substr(0, newline));
        sums = newline == std::string_view::npos ? std::string_view() : sums.substr(newline + 1);
        if (line.empty() || line.starts_with('#')) continue;

        std::string_view hex;
        std::string_view name;
        const auto open = line.find(" (");
        const auto close = line.rfind(") = ");
        if (line.starts_with("SHA") && open != std::string_view::npos && close != std::string_view::npos &&
            close > open) {
            // BSD style: "SHA256 (file) = HEX"
            name = line.substr(open + 2, close - open - 2);
            hex = trim(line.substr(close + 4));
        } else {
            // GNU style: "HEX  file" or "HEX *file" (binary mode)
            const auto space = line.find_first_of(" \t");
            if (space == std::string_view::npos) continue;
            hex = line.substr(0, space);
            name = trim(line.substr(space));
            if (name.starts_with('*')) name.remove_prefix(1);
        }
        if (name.starts_with("./")) name.remove_prefix(2);
        if (name != file_name) continue;
        const auto algorithm = algorithm_of_length(hex.size());
        if (!is_hex(hex) || !algorithm)
            return fail("the checksum listed for " + std::string(file_name) + " in " + std::string(origin) +
                            " is neither a sha256 nor a sha512 digest: \"" + std::string(hex) + "\"",
                        "check that the checksum URL points at a SHA256SUMS or SHA512SUMS file");
        Checksum checksum;
        checksum.algorithm = *algorithm;
        checksum.hex = lower(hex);
        return checksum;
    }
    return fail_kind(ErrorKind::NotFound,
                     std::string(origin) + " lists no checksum for " + std::string(file_name),
                     "check that the checksum file belongs to this image's directory, or pass "
                     "--checksum sha256:HEX");
}

Result<FileDigests> hash_file(const std::filesystem::path& path, bool with_sha512) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        return fail_kind(err == ENOENT ? ErrorKind::NotFound : ErrorKind::Failed,
                         "cannot read " + path.string() + " to check its digest: " + errno_text(err));
    }
    pki::MdCtxPtr sha256(EVP_MD_CTX_new());
    pki::MdCtxPtr sha512(with_sha512 ? EVP_MD_CTX_new() : nullptr);
    if (!sha256 || (with_sha512 && !sha512) || EVP_DigestInit_ex(sha256.get(), EVP_sha256(), nullptr) != 1 ||
        (with_sha512 && EVP_DigestInit_ex(sha512.get(), EVP_sha512(), nullptr) != 1)) {
        ::close(fd);
        return fail("cannot start a digest with OpenSSL", "the process may be out of memory");
    }
    FileDigests digests;
    std::array<char, 1 << 16> buffer{};
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::close(fd);
            return fail("cannot read " + path.string() + " to check its digest: " + errno_text(err));
        }
        if (n == 0) break;
        const auto bytes = static_cast<std::size_t>(n);
        EVP_DigestUpdate(sha256.get(), buffer.data(), bytes);
        if (sha512) EVP_DigestUpdate(sha512.get(), buffer.data(), bytes);
        digests.size += bytes;
    }
    ::close(fd);
    digests.sha256 = finish_hex(sha256.get());
    if (sha512) digests.sha512 = finish_hex(sha512.get());
    return digests;
}

const std::string& digest_of(const FileDigests& digests, DigestAlgorithm algorithm) {
    return algorithm == DigestAlgorithm::Sha256 ? digests.sha256 : digests.sha512;
}

}  // namespace berth
