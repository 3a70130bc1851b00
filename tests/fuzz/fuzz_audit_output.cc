// The output of audit_script() on a host (sections opened by "@<nonce> name"), and the same bytes
// as the Docker API's answers (/info, the containers, the probe's body): every check evaluated.
#include "fuzz_input.h"

#include <berth/provision/audit_checks.h>
#include <berth/provision/audit_host.h>

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(berth::fuzz::text_of(data, size));
    berth::AuditInput input;
    if (auto host = berth::parse_audit_output(text, "fuzz")) input.host = std::move(*host);
    auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!json.is_discarded()) {
        input.api.info = json;
        if (json.is_array()) input.api.containers.assign(json.begin(), json.end());
    }
    input.api.probe = berth::ApiAnswer{403, text};
    (void)berth::evaluate_audit(input);
    (void)berth::audit_script("fuzz", berth::bind_sources(input.api.containers));
    return 0;
}
