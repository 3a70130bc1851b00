#include "roff.h"

#include <cstdio>

namespace berth::cli {

std::string roff_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 8);
    for (char c : text) {
        switch (c) {
            case '\\': out += "\\e"; break;
            case '-': out += "\\-"; break;
            case '\'': out += "\\(aq"; break;
            case '`': out += "\\(ga"; break;
            case '"': out += "\\(dq"; break;
            case '\n':
            case '\t': out += ' '; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
                    char hex[8];
                    std::snprintf(hex, sizeof hex, "\\ex%02X", static_cast<unsigned>(static_cast<unsigned char>(c)));
                    out += hex;
                } else {
                    out += c;
                }
        }
    }
    if (!out.empty() && (out.front() == '.' || out.front() == ' ')) out.insert(0, "\\&");
    return out;
}

}  // namespace berth::cli
