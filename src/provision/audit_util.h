#pragma once
// Helpers of the audit's checks (audit_checks.cc, audit_daemon.cc, audit_runtime.cc).

#include <berth/provision/audit_checks.h>

#include <string>
#include <string_view>
#include <vector>

namespace berth::audit_detail {

inline constexpr const char* k_fix = "run `berth audit --fix NAME` (berth provision restores berth's settings)";

inline AuditResult result(std::string id, bool scored, std::string title, bool pass, std::string detail,
                   std::string remediation) {
    return {std::move(id), pass ? AuditStatus::Pass : AuditStatus::Warn, scored, std::move(title),
            std::move(detail), pass ? std::string() : std::move(remediation)};
}

/// What the host printed, safe to show on one line: control characters as '?', at most 200 bytes.
inline std::string shown(std::string_view text) {
    std::string out(text.substr(0, 200));
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return text.size() > 200 ? out + "..." : out;
}

/// At most `max` items, then "and N more".
inline std::string listed(const std::vector<std::string>& items, size_t max = 8) {
    std::string out;
    for (size_t i = 0; i < items.size() && i < max; ++i) out += (i ? ", " : "") + shown(items[i]);
    if (items.size() > max) out += " and " + std::to_string(items.size() - max) + " more";
    return out;
}

inline std::string octal(unsigned mode) {
    std::string out;
    do {
        out.insert(out.begin(), static_cast<char>('0' + (mode & 7)));
        mode >>= 3;
    } while (mode);
    while (out.size() < 4) out.insert(out.begin(), '0');
    return out;
}

}  // namespace berth::audit_detail
