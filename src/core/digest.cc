#include <berth/core/digest.h>

#include <random>

#include <openssl/evp.h>

namespace berth {

std::string sha256_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    return to_hex(md, len);
}

std::string to_hex(const unsigned char* bytes, std::size_t size) {
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out += k_hex[bytes[i] >> 4];
        out += k_hex[bytes[i] & 0x0F];
    }
    return out;
}

std::string random_hex(std::size_t bytes) {
    std::random_device rd;
    std::string raw(bytes, '\0');
    for (auto& c : raw) c = static_cast<char>(rd() & 0xffU);
    return to_hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

}  // namespace berth
