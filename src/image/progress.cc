#include <berth/image/progress.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <memory>

namespace berth {
namespace {

constexpr int k_bar_width = 30;
constexpr std::uint64_t k_plain_step_unknown = 64ULL * 1024 * 1024;

std::string fixed1(double value) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", value);
    return buf;
}

std::string rate_text(double rate) { return human_bytes(static_cast<std::uint64_t>(std::llround(rate))) + "/s"; }

int percent_of(const TransferProgress& p) {
    if (p.total == 0) return 0;
    return static_cast<int>(std::min<std::uint64_t>(100, p.done * 100 / p.total));
}

struct PrinterState {
    std::string label;
    std::FILE* out = nullptr;
    bool terminal = false;
    int last_step = -1;            ///< plain form: the last 10% step printed
    std::uint64_t last_bytes = 0;  ///< plain form, unknown size: bytes at the last line
    bool line_open = false;        ///< terminal form: a bar is on the current line
};

void print_terminal(PrinterState& s, const TransferProgress& p) {
    std::string line = "\r" + s.label + "  ";
    if (p.total > 0) {
        const int percent = percent_of(p);
        const int filled = percent * k_bar_width / 100;
        line += "[" + std::string(static_cast<std::size_t>(filled), '=') +
                (filled < k_bar_width ? ">" : "") +
                std::string(static_cast<std::size_t>(std::max(0, k_bar_width - filled - 1)), ' ') + "] ";
        char pct[8];
        std::snprintf(pct, sizeof pct, "%3d%%", percent);
        line += std::string(pct) + "  " + human_bytes(p.done) + " / " + human_bytes(p.total);
    } else {
        line += human_bytes(p.done);
    }
    line += "  " + rate_text(p.rate) + "\x1b[K";
    if (p.finished) line += "\n";
    std::fputs(line.c_str(), s.out);
    std::fflush(s.out);
    s.line_open = !p.finished;
}

void print_plain(PrinterState& s, const TransferProgress& p) {
    std::string line;
    if (p.total > 0) {
        const int step = percent_of(p) / 10;
        if (s.last_step < 0) s.last_step = static_cast<int>(p.resumed_from * 10 / p.total);
        if (step > s.last_step || (p.finished && p.done < p.total)) {
            s.last_step = step;
            line = s.label + ": " + std::to_string(percent_of(p)) + "% (" + human_bytes(p.done) + " of " +
                   human_bytes(p.total) + ", " + rate_text(p.rate) + ")" +
                   (p.finished && p.done < p.total ? ", stopped" : "");
        }
    } else if (p.finished || p.done >= s.last_bytes + k_plain_step_unknown) {
        s.last_bytes = p.done;
        line = s.label + ": " + human_bytes(p.done) + " (" + rate_text(p.rate) + ")";
    }
    if (line.empty()) return;
    line += "\n";
    std::fputs(line.c_str(), s.out);
    std::fflush(s.out);
}

}  // namespace

std::string human_bytes(std::uint64_t bytes) {
    static constexpr const char* k_units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) return std::to_string(bytes) + " B";
    double value = static_cast<double>(bytes) / 1024;
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(k_units)) {
        value /= 1024;
        ++unit;
    }
    return fixed1(value) + " " + k_units[unit];
}

ProgressFn make_progress_printer(std::string label) {
    return make_progress_printer(std::move(label), stderr, ::isatty(STDERR_FILENO) == 1);
}

ProgressFn make_progress_printer(std::string label, std::FILE* out, bool terminal) {
    auto state = std::make_shared<PrinterState>();
    state->label = std::move(label);
    state->out = out;
    state->terminal = terminal;
    return [state](const TransferProgress& p) {
        if (state->terminal) print_terminal(*state, p);
        else print_plain(*state, p);
        if (p.finished) {
            // A new transfer (a restart) starts its own count.
            state->last_step = -1;
            state->last_bytes = 0;
        }
    };
}

}  // namespace berth
