#pragma once
/// VBoxManage, VirtualBox's command-line tool, run through a Runner with its conventions kept in
/// one place: an argv (never a shell), a timeout, a stderr holding "error:" is a failure even when
/// the exit status is 0, "The object is not ready" is retried, an unknown VM is ErrorKind::NotFound,
/// and a missing VBoxManage is named as the problem. Parsers for the outputs berth reads.

#include <berth/core/error.h>
#include <berth/process/runner.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::virtualbox {

struct VBoxVersion {
    int major = 0;
    int minor = 0;
    int build = 0;
    std::string text;  ///< as printed: "7.0.20r163906", "6.1.38_Ubuntur153438"
    [[nodiscard]] bool at_least(int ma, int mi, int b = 0) const {
        return major != ma ? major > ma : minor != mi ? minor > mi : build >= b;
    }
};

/// `VBoxManage --version` output; an error for anything that is not MAJOR.MINOR.BUILD...
[[nodiscard]] Result<VBoxVersion> parse_version(std::string_view out);

/// `showvminfo --machinereadable`: key=value lines, quotes removed from keys and values.
[[nodiscard]] std::map<std::string, std::string> parse_machinereadable(std::string_view out);

struct VmListing {
    std::string name;
    std::string uuid;
};
/// `list vms` / `list runningvms`: lines of "name" {uuid}.
[[nodiscard]] std::vector<VmListing> parse_vm_list(std::string_view out);

/// `list hostonlyifs` / `list dhcpservers`: blocks of "Key:   value" lines between blank lines.
[[nodiscard]] std::vector<std::map<std::string, std::string>> parse_blocks(std::string_view out);

/// The name of the adapter in `list hostonlyifs` output that has address `ip` and mask `mask`;
/// "" if none does.
[[nodiscard]] std::string find_hostonly_if(std::string_view list_output, const std::string& ip,
                                           const std::string& mask);

class VBoxManage {
public:
    struct Options {
        std::string program = "VBoxManage";
        int attempts = 5;  ///< for "The object is not ready"
        std::chrono::milliseconds retry_delay{std::chrono::seconds(1)};
        std::chrono::milliseconds timeout{std::chrono::minutes(2)};
    };

    VBoxManage(Runner& runner, Options options) : m_runner(runner), m_options(std::move(options)) {}

    /// Runs `VBoxManage args...`; the result of a call that succeeded. A failure's message names
    /// the subcommand and VBoxManage's own error line.
    /// `timeout` replaces the default one for a call that may take long (converting a disk).
    [[nodiscard]] Result<CommandResult> run(const std::vector<std::string>& args,
                                            std::optional<std::chrono::milliseconds> timeout = {}) const;

    [[nodiscard]] const std::string& program() const { return m_options.program; }

private:
    Runner& m_runner;
    Options m_options;
};

}  // namespace berth::virtualbox
