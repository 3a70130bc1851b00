#pragma once
// berth apply's live progress, three ways (docs/cli.md "apply"): on a terminal one line per
// machine redrawn in place; piped (or --progress plain) one timestamped line per step; --json
// one JSON object per line. Renderers are fed events from many threads through one mutex
// (make_locked_sink) and write to a stream, so tests drive them with scripted events.

#include <berth/core/progress.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

namespace berth::cli {

class ProgressRenderer {
public:
    virtual ~ProgressRenderer() = default;
    virtual void event(const ProgressEvent& e) = 0;
    /// Called about once a second (the terminal form redraws the elapsed times).
    virtual void tick(std::chrono::system_clock::time_point) {}
    /// After the last event (the terminal form leaves its lines as they are).
    virtual void finish() {}
};

/// "HH:MM:SS [name] step" lines; a fraction every 10%; "done: created (3.2s)", "FAILED: ...".
std::unique_ptr<ProgressRenderer> make_plain_renderer(std::ostream& out, bool utc = false);
/// One line per machine at work, redrawn in place with ANSI sequences (cursor up, erase line):
/// "name  step  0:12  [#####-----]  50%"; a finished machine's final line scrolls up above.
std::unique_ptr<ProgressRenderer> make_tty_renderer(std::ostream& out);
/// One JSON object per line: {"event":"step","machine":..,"step":..,"time":..} and so on.
std::unique_ptr<ProgressRenderer> make_json_renderer(std::ostream& out);

/// A sink that feeds `renderer` under one mutex (events come from every machine's thread).
ProgressSink make_locked_sink(ProgressRenderer& renderer, std::mutex& mutex);

/// An event as its JSON line's object (the documented fields; no newline).
nlohmann::json event_json(const ProgressEvent& e);
/// "2026-12-06T12:00:01.250Z".
std::string utc_timestamp(std::chrono::system_clock::time_point at);

}  // namespace berth::cli
