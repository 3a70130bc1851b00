#pragma once
/// Machine names: ^[a-zA-Z0-9][a-zA-Z0-9.-]*$ (docker-machine's rule), at most 63 characters
/// because the name becomes the guest's hostname.

#include <berth/core/error.h>

#include <string_view>

namespace berth {

inline constexpr std::size_t k_max_machine_name = 63;

/// Ok, or a Usage error that quotes the name and says what is allowed.
[[nodiscard]] Result<void> validate_machine_name(std::string_view name);

}  // namespace berth
