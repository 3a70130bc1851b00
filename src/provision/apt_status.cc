#include <berth/provision/apt_status.h>

#include <berth/core/progress.h>

#include <charconv>

namespace berth {

void AptStatusReader::feed(std::string_view chunk) {
    m_partial.append(chunk);
    std::size_t start = 0;
    for (std::size_t nl = m_partial.find('\n'); nl != std::string::npos; nl = m_partial.find('\n', start)) {
        line(std::string_view(m_partial).substr(start, nl - start));
        start = nl + 1;
    }
    m_partial.erase(0, start);
    // A line apt never ends is not a status line: keep memory bounded.
    if (m_partial.size() > 4096) m_partial.clear();
}

void AptStatusReader::line(std::string_view text) {
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    std::string_view step;
    if (text.starts_with("dlstatus:")) step = "packages (download)";
    else if (text.starts_with("pmstatus:")) step = "packages";
    else return;
    // KIND:ID:PERCENT:TEXT; ID is a number or a package name (no ':' in either).
    const auto first = text.find(':');
    const auto second = text.find(':', first + 1);
    if (second == std::string_view::npos) return;
    const auto third = text.find(':', second + 1);
    const std::string_view figure = text.substr(second + 1, third == std::string_view::npos ? std::string_view::npos
                                                                                            : third - second - 1);
    double percent = 0;
    const auto [end, ec] = std::from_chars(figure.data(), figure.data() + figure.size(), percent);
    if (ec != std::errc() || end != figure.data() + figure.size() || !(percent >= 0 && percent <= 100)) return;
    const int whole = static_cast<int>(percent);
    if (step == m_step && whole == m_percent) return;
    m_step = step;
    m_percent = whole;
    progress_fraction(step, static_cast<std::uint64_t>(percent * 10), 1000);
}

}  // namespace berth
