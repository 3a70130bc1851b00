#pragma once
/// The login name a driver has cloud-init make for berth (--<driver>-ssh-user).

#include <string_view>

namespace berth {

/// Non-empty and only lower-case letters, digits, '_' and '-'.
[[nodiscard]] bool user_name_chars_valid(std::string_view name);

/// A portable Linux user name (useradd's rule): user_name_chars_valid, at most 32 characters,
/// starting with a lower-case letter or '_'.
[[nodiscard]] bool is_user_name(std::string_view name);

}  // namespace berth
