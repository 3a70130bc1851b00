#pragma once
/// Logging set-up. Logs go to stderr only (stdout is for output meant to be eval'ed or parsed).
/// info tells the story ("Creating machine n1..."), debug shows every command, prefixed with the
/// machine name: log_prefix("n1") == "[n1] ". Nothing secret is logged at any level.

#include <string>
#include <string_view>

namespace berth {

/// Sets up the default spdlog logger on stderr: info without decoration, warnings as
/// "berth: warning: ...", errors as "berth: error: ...", debug lines with a time stamp.
void init_logging(bool debug);

/// "[name] " for debug lines about one machine.
[[nodiscard]] std::string log_prefix(std::string_view machine);

/// While one lives, every line this thread logs is about `machine`: info and debug lines get
/// "[machine] " in front and warnings "berth: warning: [machine] ", unless the text already
/// starts with "[machine]" or "machine:". Services open one per machine they work on, so lines
/// from the drivers, the transport and the provisioner name their machine, also when several
/// machines are worked on at once (one thread each). Scopes nest; the innermost wins.
class MachineLogScope {
public:
    explicit MachineLogScope(std::string machine);
    ~MachineLogScope();
    MachineLogScope(const MachineLogScope&) = delete;
    MachineLogScope& operator=(const MachineLogScope&) = delete;

private:
    std::string m_previous;
};

/// `text` with this thread's machine prefix, as the log writes it ("" scope: `text` unchanged).
[[nodiscard]] std::string with_machine_prefix(std::string_view text);

}  // namespace berth
