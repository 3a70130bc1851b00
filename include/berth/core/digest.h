#pragma once
/// SHA-256 of bytes, as lower-case hex (what `sha256sum` prints).

#include <cstddef>
#include <string>
#include <string_view>

namespace berth {
[[nodiscard]] std::string sha256_hex(std::string_view data);
/// Bytes as lower-case hex.
[[nodiscard]] std::string to_hex(const unsigned char* bytes, std::size_t size);
/// `bytes` random bytes (std::random_device) as lower-case hex: names, not secrets.
[[nodiscard]] std::string random_hex(std::size_t bytes);
}  // namespace berth
