#pragma once
/// What /etc/os-release says, and whether berth can provision it. Debian 11/12 and Ubuntu
/// 22.04/24.04 go through apt with AppArmor; Fedora, Rocky and AlmaLinux through dnf with SELinux.

#include <berth/core/error.h>

#include <string>
#include <string_view>
#include <vector>

namespace berth {

enum class OsFamily { Debian, Rhel };

struct OsInfo {
    std::string id;                 ///< "debian", "ubuntu", "fedora", "rocky", "almalinux"
    std::string version_id;         ///< "12", "24.04", "40", "9.4"
    std::string codename;           ///< VERSION_CODENAME, "" if none
    std::string pretty_name;
    std::vector<std::string> id_like;
    OsFamily family = OsFamily::Debian;
};

/// Parses os-release text (KEY=value lines, values optionally quoted). An Error if ID is missing.
[[nodiscard]] Result<OsInfo> parse_os_release(std::string_view text);

/// Ok for a supported OS; otherwise an Error that names it and lists the supported ones.
[[nodiscard]] Result<void> check_supported(const OsInfo& os);

}  // namespace berth
