#pragma once
// The VBoxManage simulator's call log (VBOXMANAGE_SIM_LOG): one JSON array of argv per line, in
// the order the calls ran.

#include <filesystem>
#include <string>
#include <vector>

namespace berth::test {

using Call = std::vector<std::string>;

/// The calls logged in `log` so far; the file is then removed, so the next take starts afresh.
[[nodiscard]] std::vector<Call> take_call_log(const std::filesystem::path& log);

}  // namespace berth::test
