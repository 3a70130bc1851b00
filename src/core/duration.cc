#include <berth/core/duration.h>

namespace berth {
namespace {

std::unexpected<Error> bad_duration(std::string_view text, const std::string& why) {
    std::string shown(text.substr(0, 40));
    for (char& c : shown)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return fail_usage("\"" + shown + "\" is not a duration: " + why,
                      "write a number of days or hours: 30d, 12h (a plain number is days)");
}

}  // namespace

Result<std::chrono::seconds> parse_duration(std::string_view text) {
    if (text.empty()) return bad_duration(text, "it is empty");
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0) return bad_duration(text, "it does not start with a number");
    const std::string_view unit = text.substr(digits);
    std::chrono::seconds per_unit{0};
    if (unit.empty() || unit == "d") per_unit = std::chrono::hours(24);
    else if (unit == "h") per_unit = std::chrono::hours(1);
    else return bad_duration(text, "its unit is not d (days) or h (hours)");
    // Digits beyond what k_max_duration needs cannot be within it (and cannot overflow below).
    if (digits > 7) return bad_duration(text, "it is longer than 36500 days");
    long long count = 0;
    for (std::size_t i = 0; i < digits; ++i) count = count * 10 + (text[i] - '0');
    const std::chrono::seconds total = per_unit * count;
    if (total > k_max_duration) return bad_duration(text, "it is longer than 36500 days");
    return total;
}

std::string describe_duration(std::chrono::seconds duration) {
    const long long hours = std::chrono::duration_cast<std::chrono::hours>(duration).count();
    if (hours % 24 == 0) return std::to_string(hours / 24) + (hours == 24 ? " day" : " days");
    return std::to_string(hours) + (hours == 1 ? " hour" : " hours");
}

}  // namespace berth
