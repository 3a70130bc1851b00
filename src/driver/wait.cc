#include <berth/driver/wait.h>

namespace berth {

Result<void> wait_until(Clock& clock, Clock::TimePoint deadline, Clock::Duration poll,
                        const std::function<Result<WaitStep>()>& look, const std::function<Error()>& timed_out) {
    while (true) {
        auto step = look();
        if (!step) return std::unexpected(step.error());
        if (*step == WaitStep::Done) return {};
        if (clock.now() >= deadline) return std::unexpected(timed_out());
        clock.sleep_for(poll);
    }
}

Result<void> wait_until(Clock& clock, Clock::TimePoint deadline, Clock::Duration poll,
                        const std::function<Result<WaitStep>()>& look, const std::string& what) {
    const Clock::TimePoint start = clock.now();
    return wait_until(clock, deadline, poll, look, [&] {
        return fail("timed out after " + whole_seconds(clock.now() - start) + " waiting for " + what).error();
    });
}

std::string whole_seconds(Clock::Duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

}  // namespace berth
