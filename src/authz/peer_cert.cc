#include <berth/authz/peer_cert.h>

#include <berth/authz/request.h>

#include <cstddef>
#include <optional>

namespace berth::authz {
namespace {

/// One DER element: its tag and where its content is in the input.
struct Element {
    unsigned char tag = 0;
    std::size_t start = 0;  ///< first byte of the content
    std::size_t length = 0;
};

// The element at `at` of `der`; nothing when it runs past the end or uses what DER forbids
// (indefinite lengths, high tag numbers, lengths over 4 bytes).
std::optional<Element> read_element(std::string_view der, std::size_t at) {
    if (at + 2 > der.size()) return std::nullopt;
    Element e;
    e.tag = static_cast<unsigned char>(der[at]);
    if ((e.tag & 0x1f) == 0x1f) return std::nullopt;
    std::size_t pos = at + 1;
    const auto first = static_cast<unsigned char>(der[pos++]);
    if (first < 0x80) {
        e.length = first;
    } else {
        const std::size_t bytes = first & 0x7f;
        if (bytes == 0 || bytes > 4 || pos + bytes > der.size()) return std::nullopt;
        for (std::size_t i = 0; i < bytes; ++i) e.length = (e.length << 8) | static_cast<unsigned char>(der[pos++]);
    }
    e.start = pos;
    if (e.length > der.size() - pos) return std::nullopt;
    return e;
}

}  // namespace

std::expected<std::string, std::string> der_certificate_serial(std::string_view der) {
    const auto cert = read_element(der, 0);
    if (!cert || cert->tag != 0x30) return std::unexpected("not a DER certificate (no outer SEQUENCE)");
    const auto tbs = read_element(der.substr(0, cert->start + cert->length), cert->start);
    if (!tbs || tbs->tag != 0x30) return std::unexpected("not a DER certificate (no TBSCertificate)");
    const std::string_view body = der.substr(0, tbs->start + tbs->length);
    auto field = read_element(body, tbs->start);
    if (field && field->tag == 0xa0) field = read_element(body, field->start + field->length);  // [0] version
    if (!field || field->tag != 0x02 || field->length == 0)
        return std::unexpected("not a DER certificate (no serialNumber INTEGER)");
    std::string_view serial = body.substr(field->start, field->length);
    while (serial.size() > 1 && serial.front() == '\0') serial.remove_prefix(1);
    if (serial.size() == 1 && serial.front() == '\0') return std::string("0");
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string out;
    for (char ch : serial) {
        const auto c = static_cast<unsigned char>(ch);
        out += k_hex[c >> 4];
        out += k_hex[c & 0x0f];
    }
    return out;
}

std::expected<std::string, std::string> pem_certificate_serial(std::string_view pem) {
    static constexpr std::string_view k_begin = "-----BEGIN CERTIFICATE-----", k_end = "-----END CERTIFICATE-----";
    const auto begin = pem.find(k_begin);
    if (begin == std::string_view::npos) return std::unexpected("no PEM CERTIFICATE block");
    const auto end = pem.find(k_end, begin);
    if (end == std::string_view::npos) return std::unexpected("a PEM CERTIFICATE block with no end line");
    std::string base64;
    for (char c : pem.substr(begin + k_begin.size(), end - begin - k_begin.size()))
        if (c != '\n' && c != '\r' && c != ' ' && c != '\t') base64 += c;
    const auto der = decode_base64(base64);
    if (!der) return std::unexpected("a PEM CERTIFICATE block that is not base64");
    return der_certificate_serial(*der);
}

}  // namespace berth::authz
