#include "progress_render.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>

namespace berth::cli {
namespace {

using Clock = std::chrono::system_clock;

std::string clock_text(Clock::time_point at, bool utc) {
    const std::time_t t = Clock::to_time_t(at);
    std::tm tm{};
    if (utc) gmtime_r(&t, &tm);
    else localtime_r(&t, &tm);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

std::string seconds_text(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", s);
    return buf;
}

/// "0:12", "12:03".
std::string elapsed_text(Clock::duration d) {
    const auto s = std::max<long long>(0, std::chrono::duration_cast<std::chrono::seconds>(d).count());
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
    return buf;
}

int percent(const ProgressEvent& e) {
    if (e.total == 0) return -1;
    return static_cast<int>(std::min<std::uint64_t>(100, e.done * 100 / e.total));
}

class PlainRenderer final : public ProgressRenderer {
public:
    PlainRenderer(std::ostream& out, bool utc) : m_out(out), m_utc(utc) {}
    void event(const ProgressEvent& e) override {
        auto [it, fresh] = m_started.try_emplace(e.machine, e.at);
        std::string text;
        switch (e.kind) {
            case ProgressEvent::Kind::Step:
                text = e.step;
                m_decile.erase(e.machine);
                break;
            case ProgressEvent::Kind::Fraction: {
                const int pct = percent(e);
                if (pct < 0) return;
                // Tenths per machine and step: the install's download, then its dpkg run.
                auto& [step, last] = m_decile[e.machine];
                if (step != e.step) step = e.step, last = 0;
                if (pct / 10 <= last && pct != 100) return;
                if (pct == 100 && last == 10) return;
                last = pct / 10;
                text = e.step + " " + std::to_string(pct) + "%";
                break;
            }
            case ProgressEvent::Kind::Message: text = e.message; break;
            case ProgressEvent::Kind::Done:
                text = "done: " + e.message + " (" +
                       seconds_text(std::chrono::duration<double>(e.at - it->second).count()) + ")";
                break;
            case ProgressEvent::Kind::Failed: text = "FAILED: " + e.message; break;
        }
        m_out << clock_text(e.at, m_utc) << " [" << e.machine << "] " << text << "\n" << std::flush;
    }

private:
    std::ostream& m_out;
    bool m_utc;
    std::map<std::string, Clock::time_point> m_started;
    std::map<std::string, std::pair<std::string, int>> m_decile;  ///< machine -> (step, last tenth shown)
};

class TtyRenderer final : public ProgressRenderer {
public:
    explicit TtyRenderer(std::ostream& out) : m_out(out) {}

    void event(const ProgressEvent& e) override {
        auto found = std::find_if(m_rows.begin(), m_rows.end(), [&](const Row& r) { return r.name == e.machine; });
        if (found == m_rows.end()) {
            m_rows.push_back({e.machine, "", e.at, 0, 0});
            found = std::prev(m_rows.end());
        }
        Row& row = *found;
        switch (e.kind) {
            case ProgressEvent::Kind::Step: row.step = e.step, row.done = row.total = 0; break;
            case ProgressEvent::Kind::Fraction: row.step = e.step, row.done = e.done, row.total = e.total; break;
            case ProgressEvent::Kind::Message: m_finished.push_back(e.machine + ": " + e.message); break;
            case ProgressEvent::Kind::Done:
            case ProgressEvent::Kind::Failed: {
                const bool failed = e.kind == ProgressEvent::Kind::Failed;
                m_finished.push_back(pad(row.name) + (failed ? "FAILED: " : "") + e.message + "  " +
                                     elapsed_text(e.at - row.started));
                m_rows.erase(found);
                break;
            }
        }
        m_now = std::max(m_now, e.at);
        draw();
    }
    void tick(Clock::time_point now) override {
        m_now = now;
        if (!m_rows.empty()) draw();
    }

private:
    struct Row {
        std::string name;
        std::string step;
        Clock::time_point started;
        std::uint64_t done, total;
    };

    std::string pad(const std::string& name) const {
        std::size_t width = 12;
        for (const auto& r : m_rows) width = std::max(width, r.name.size());
        return name + std::string(width + 2 - std::min(width, name.size()), ' ');
    }

    std::string row_text(const Row& row) const {
        std::string step = row.step;
        if (step.size() < 20) step.resize(20, ' ');
        std::string line = pad(row.name) + step + "  " + elapsed_text(m_now - row.started);
        if (row.total > 0) {
            const int pct = static_cast<int>(std::min<std::uint64_t>(100, row.done * 100 / row.total));
            const int filled = pct / 5;
            line += "  [" + std::string(static_cast<std::size_t>(filled), '#') +
                    std::string(static_cast<std::size_t>(20 - filled), '-') + "] " + std::to_string(pct) + "%";
        }
        return line;
    }

    /// Up over the lines drawn last time, finished lines (they stay), then the rows at work.
    void draw() {
        if (m_drawn > 0) m_out << "\x1b[" << m_drawn << "A";
        for (const auto& line : m_finished) m_out << "\r\x1b[2K" << line << "\n";
        m_finished.clear();
        for (const auto& row : m_rows) m_out << "\r\x1b[2K" << row_text(row) << "\n";
        m_out << "\x1b[J" << std::flush;
        m_drawn = m_rows.size();
    }

    std::ostream& m_out;
    std::vector<Row> m_rows;
    std::vector<std::string> m_finished;
    std::size_t m_drawn = 0;
    Clock::time_point m_now{};
};

class JsonRenderer final : public ProgressRenderer {
public:
    explicit JsonRenderer(std::ostream& out) : m_out(out) {}
    void event(const ProgressEvent& e) override { m_out << event_json(e).dump() << "\n" << std::flush; }

private:
    std::ostream& m_out;
};

}  // namespace

std::string utc_timestamp(Clock::time_point at) {
    const std::time_t t = Clock::to_time_t(at);
    std::tm tm{};
    gmtime_r(&t, &tm);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count() % 1000;
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return buf;
}

nlohmann::json event_json(const ProgressEvent& e) {
    static const char* const kinds[] = {"step", "fraction", "message", "done", "failed"};
    nlohmann::json j = {{"event", kinds[static_cast<int>(e.kind)]}, {"machine", e.machine},
                        {"time", utc_timestamp(e.at)}};
    if (!e.step.empty()) j["step"] = e.step;
    if (e.kind == ProgressEvent::Kind::Fraction) {
        j["done"] = e.done;
        j["total"] = e.total;
    }
    if (!e.message.empty()) j["message"] = e.message;
    return j;
}

std::unique_ptr<ProgressRenderer> make_plain_renderer(std::ostream& out, bool utc) {
    return std::make_unique<PlainRenderer>(out, utc);
}
std::unique_ptr<ProgressRenderer> make_tty_renderer(std::ostream& out) { return std::make_unique<TtyRenderer>(out); }
std::unique_ptr<ProgressRenderer> make_json_renderer(std::ostream& out) { return std::make_unique<JsonRenderer>(out); }

ProgressSink make_locked_sink(ProgressRenderer& renderer, std::mutex& mutex) {
    return [&renderer, &mutex](const ProgressEvent& e) {
        std::lock_guard lock(mutex);
        renderer.event(e);
    };
}

}  // namespace berth::cli
