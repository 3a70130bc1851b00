#include <berth/transport/session.h>

namespace berth {

std::string tail_lines(std::string_view text, int lines) {
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    size_t pos = text.size();
    for (int i = 0; i < lines && pos != std::string_view::npos && pos > 0; ++i) {
        pos = text.rfind('\n', pos - 1);
    }
    if (pos == std::string_view::npos) return std::string(text);
    return std::string(text.substr(pos == 0 && text.front() != '\n' ? 0 : pos + 1));
}

}  // namespace berth
