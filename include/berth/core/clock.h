#pragma once
/// Time as an injected part: what waits and timings read, so tests can run a five-minute wait in no
/// time (tests/fakes/fake_clock.h). SystemClock is the real one.

#include <chrono>

namespace berth {

class Clock {
public:
    using Duration = std::chrono::steady_clock::duration;
    using TimePoint = std::chrono::steady_clock::time_point;

    virtual ~Clock() = default;
    /// A monotonic now (for deadlines and durations, not for dates).
    [[nodiscard]] virtual TimePoint now() const = 0;
    /// Waits `d`; a fake returns at once and moves its now() forward.
    virtual void sleep_for(Duration d) = 0;
};

/// The steady clock and a real sleep.
class SystemClock final : public Clock {
public:
    [[nodiscard]] TimePoint now() const override;
    void sleep_for(Duration d) override;
};

/// One process-wide SystemClock, for callers that are given no clock.
[[nodiscard]] Clock& system_clock();

/// Seconds from `start` to the clock's now, for timings.
[[nodiscard]] double seconds_since(const Clock& clock, Clock::TimePoint start);

}  // namespace berth
