// What libvirt answers that berth reads itself: a storage pool's XML (its target path), domain
// XML, and connection URIs.
#include "fuzz_input.h"

#include <berth/drivers/libvirt/libvirt_api.h>

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(berth::fuzz::text_of(data, size));
    (void)berth::libvirt::element_text(text, "<target>", "path");
    (void)berth::libvirt::element_text(text, "", "name");
    (void)berth::libvirt::uri_is_local(text);
    (void)berth::libvirt::xml_escape(text);
    return 0;
}
