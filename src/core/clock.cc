#include <berth/core/clock.h>

#include <thread>

namespace berth {

Clock::TimePoint SystemClock::now() const { return std::chrono::steady_clock::now(); }

void SystemClock::sleep_for(Duration d) { std::this_thread::sleep_for(d); }

Clock& system_clock() {
    static SystemClock clock;
    return clock;
}

double seconds_since(const Clock& clock, Clock::TimePoint start) {
    return std::chrono::duration<double>(clock.now() - start).count();
}

}  // namespace berth
