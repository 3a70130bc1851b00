// machines/<name>/machine.json as Store::load reads it: parsed, then MachineRecord::from_json.
#include "fuzz_input.h"

#include <berth/store/machine_record.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto j = nlohmann::json::parse(berth::fuzz::text_of(data, size), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return 0;
    auto record = berth::MachineRecord::from_json(j, "machine.json");
    if (record) (void)record->to_json().dump();  // ls and inspect print what was loaded
    return 0;
}
