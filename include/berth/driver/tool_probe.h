#pragma once
/// Is a program a driver needs on this host, and new enough? Asked through the Runner (so tests
/// script the answer): the program is run with its version flag; not starting, or a non-zero exit,
/// means it is missing, and the error says which package to install.

#include <berth/core/error.h>
#include <berth/process/runner.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

/// A version as numbers ("1.1.11" -> {1, 1, 11}) and the text it was read from.
struct ToolVersion {
    std::vector<int> numbers;
    std::string text;
    /// Compares number by number; missing trailing numbers count as 0.
    [[nodiscard]] bool at_least(const std::vector<int>& minimum) const;
};

/// The first run of dot-separated numbers with at least one dot in `output` ("genisoimage 1.1.11
/// (Linux)" -> 1.1.11, "qemu-img version 7.2.9" -> 7.2.9); nullopt if there is none.
[[nodiscard]] std::optional<ToolVersion> parse_tool_version(std::string_view output);

struct ToolProbe {
    std::string program;                             ///< argv[0], looked up on PATH by the Runner
    std::vector<std::string> version_args{"--version"};
    std::string missing;                             ///< the error's message; "" for "<program> is missing"
    std::string hint;                                ///< what to do; "" for "install the Debian package <package>"
    std::string package;
    std::vector<int> minimum;                        ///< {} for any version
};

/// Runs `probe.program` with its version flag (10 s at most). A PrecreateCheck error when it
/// cannot run or exits non-zero, or (with a minimum) when its version is older or unreadable.
/// Otherwise its version (nullopt when it prints none and no minimum is asked).
[[nodiscard]] Result<std::optional<ToolVersion>> probe_tool(Runner& runner, const ToolProbe& probe);

}  // namespace berth
