// cache/images/<name>/image.json as the image cache reads it: parsed, then CachedImage::from_json.
#include "fuzz_input.h"

#include <berth/image/image_cache.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto j = nlohmann::json::parse(berth::fuzz::text_of(data, size), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return 0;
    auto image = berth::CachedImage::from_json(j, "image.json");
    if (image) (void)image->to_json().dump();  // `image ls` prints what was loaded
    return 0;
}
