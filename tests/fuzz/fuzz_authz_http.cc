// berth-authz's HTTP request heads: what arrives on the plugin socket (dockerd's Go client, or
// anything that reaches the socket). A complete head must lie inside the input.
#include "fuzz_input.h"

#include <berth/authz/http.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = berth::fuzz::text_of(data, size);
    const auto r = berth::authz::parse_http_head(text, 16 * 1024, 8u << 20);
    if (r.status == berth::authz::HeadStatus::complete &&
        (r.head_size > text.size() || r.head.content_length > (8u << 20) || r.head.target.empty()))
        __builtin_trap();
    if (r.status == berth::authz::HeadStatus::bad && r.error_status != 400) __builtin_trap();
    return 0;
}
