// berth-authz's reading of a client certificate's serial (src/authz/peer_cert.cc) and of the
// revocation list: what a TLS client presented (dockerd passes it on unchecked past the handshake)
// and what is in /etc/berth/authz-revoked.yaml. The first byte picks DER, PEM or the list. A serial
// read must be upper-case hex, two digits a byte (or "0"), and no longer than the input.
#include "fuzz_input.h"

#include <berth/authz/peer_cert.h>
#include <berth/authz/policy.h>

namespace {

void check_serial(const std::expected<std::string, std::string>& serial, std::size_t input) {
    if (!serial) return;
    const std::string& s = *serial;
    if (s.empty() || s.size() > 2 * input) __builtin_trap();
    if (s != "0" && s.size() % 2 != 0) __builtin_trap();
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const auto rest = berth::fuzz::text_of(data + 1, size - 1);
    switch (data[0] % 3) {
        case 0: check_serial(berth::authz::der_certificate_serial(rest), rest.size()); break;
        case 1: check_serial(berth::authz::pem_certificate_serial(rest), rest.size()); break;
        default: {
            auto list = berth::authz::parse_revoked(rest, "fuzz.yaml");
            if (list)
                for (const auto& serial : *list)
                    if (serial.empty() || serial.size() > 64) __builtin_trap();
        }
    }
    return 0;
}
