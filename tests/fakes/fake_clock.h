#pragma once
// A Clock whose sleeps take no time: sleep_for moves now() forward and is recorded, so a test of
// a five-minute wait runs at once and can assert how it polled. advance() moves time by hand.
// Thread-safe, for tests that run machines in parallel.

#include <berth/core/clock.h>

#include <mutex>
#include <vector>

namespace berth::test {

class FakeClock final : public Clock {
public:
    [[nodiscard]] TimePoint now() const override {
        std::lock_guard lock(m_mutex);
        return m_now;
    }
    void sleep_for(Duration d) override {
        std::lock_guard lock(m_mutex);
        m_sleeps.push_back(d);
        m_now += d;
    }
    void advance(Duration d) {
        std::lock_guard lock(m_mutex);
        m_now += d;
    }
    [[nodiscard]] std::vector<Duration> sleeps() const {
        std::lock_guard lock(m_mutex);
        return m_sleeps;
    }

private:
    mutable std::mutex m_mutex;
    TimePoint m_now{std::chrono::hours(1)};
    std::vector<Duration> m_sleeps;
};

}  // namespace berth::test
