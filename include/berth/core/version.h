#pragma once
/// berth's release version and the git revision the binary was built from ("unknown" outside git).

#include <string_view>

namespace berth {
std::string_view version();
std::string_view git_revision();
}  // namespace berth
