#include <berth/driver/user_name.h>

#include <algorithm>
#include <cctype>

namespace berth {

bool user_name_chars_valid(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
               c == '_' || c == '-';
    });
}

bool is_user_name(std::string_view name) {
    return user_name_chars_valid(name) && name.size() <= 32 &&
           (std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_');
}

}  // namespace berth
