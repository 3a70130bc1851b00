#pragma once
/// Polling until something is so (a domain has an address, a VM has powered off), on an injected
/// Clock, so a test of a three-minute wait takes no time.

#include <berth/core/clock.h>
#include <berth/core/error.h>

#include <functional>
#include <string>

namespace berth {

/// What one look at the thing waited for found.
enum class WaitStep { Done, NotYet };

/// Calls `look` until it says Done (then succeeds) or fails (then returns its error). After a
/// NotYet it returns `timed_out()` if the clock has reached `deadline`, else sleeps `poll` on the
/// clock and looks again; so `look` runs at least once, and once more at the deadline.
[[nodiscard]] Result<void> wait_until(Clock& clock, Clock::TimePoint deadline, Clock::Duration poll,
                                      const std::function<Result<WaitStep>()>& look,
                                      const std::function<Error()>& timed_out);

/// The same with a plain timeout error: "timed out after N s waiting for <what>".
[[nodiscard]] Result<void> wait_until(Clock& clock, Clock::TimePoint deadline, Clock::Duration poll,
                                      const std::function<Result<WaitStep>()>& look, const std::string& what);

/// "180 s": a duration in whole seconds, for messages.
[[nodiscard]] std::string whole_seconds(Clock::Duration d);

}  // namespace berth
