#pragma once
/// Progress events for live displays (`berth apply`): which step each machine is in, and how
/// far a long step (image upload, package install) has got. Like MachineLogScope, a
/// ProgressScope is per thread: a service opens one for the machine it works on, and code at
/// any layer below reports through progress_step()/progress_fraction() without knowing whether
/// anyone listens (no scope: the calls do nothing). Events are delivered on the reporting
/// thread; sinks must be thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace berth {

struct ProgressEvent {
    enum class Kind {
        Step,      ///< the machine entered `step` ("machine", "ssh", "packages", "hardening", ...)
        Fraction,  ///< `done` of `total` within `step` (bytes uploaded, packages unpacked)
        Message,   ///< a line worth showing (`message`), e.g. a warning
        Done,      ///< the machine finished (`message`: what it did, "created", "unchanged")
        Failed,    ///< the machine failed (`message`: the error's line)
    };
    Kind kind = Kind::Step;
    std::string machine;
    std::string step;
    std::uint64_t done = 0;
    std::uint64_t total = 0;   ///< 0 = unknown
    std::string message;
    std::chrono::system_clock::time_point at;
};

using ProgressSink = std::function<void(const ProgressEvent&)>;

/// While one lives, this thread's progress calls go to `sink` as events of `machine`.
/// Scopes nest; the innermost wins. An empty sink silences the thread.
class ProgressScope {
public:
    ProgressScope(std::string machine, ProgressSink sink);
    ~ProgressScope();
    ProgressScope(const ProgressScope&) = delete;
    ProgressScope& operator=(const ProgressScope&) = delete;

private:
    struct Saved;
    Saved* m_previous;
};

void progress_step(std::string_view step);
void progress_fraction(std::string_view step, std::uint64_t done, std::uint64_t total);
void progress_message(std::string_view message);
/// Done and Failed are sent by whoever owns the scope (the fleet service).
void progress_emit(ProgressEvent event);

}  // namespace berth
