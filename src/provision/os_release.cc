#include <berth/provision/os_release.h>

#include <charconv>
#include <sstream>

namespace berth {
namespace {

std::string unquote(std::string value) {
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
        value = value.substr(1, value.size() - 2);
        std::string out;
        for (size_t i = 0; i < value.size(); ++i) {
            if (value[i] == '\\' && i + 1 < value.size()) ++i;
            out += value[i];
        }
        return out;
    }
    return value;
}

/// The leading number of "12.4" (12); 0 when there is none or it does not fit an int.
int major_of(const std::string& version) {
    int major = 0;
    auto [ptr, ec] = std::from_chars(version.data(), version.data() + version.size(), major);
    return ec == std::errc() ? major : 0;
}

}  // namespace

Result<OsInfo> parse_os_release(std::string_view text) {
    OsInfo os;
    std::istringstream in{std::string(text)};
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line.front() == '#') continue;
        auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        const std::string key = line.substr(0, eq);
        const std::string value = unquote(line.substr(eq + 1));
        if (key == "ID") os.id = value;
        else if (key == "VERSION_ID") os.version_id = value;
        else if (key == "VERSION_CODENAME") os.codename = value;
        else if (key == "PRETTY_NAME") os.pretty_name = value;
        else if (key == "ID_LIKE") {
            std::istringstream words(value);
            for (std::string w; words >> w;) os.id_like.push_back(w);
        }
    }
    if (os.id.empty()) return fail("cannot tell the host's OS: /etc/os-release has no ID");
    const bool rhel = os.id == "fedora" || os.id == "rocky" || os.id == "almalinux" || os.id == "rhel" ||
                      os.id == "centos";
    os.family = rhel ? OsFamily::Rhel : OsFamily::Debian;
    return os;
}

Result<void> check_supported(const OsInfo& os) {
    const int major = major_of(os.version_id);
    bool ok = (os.id == "debian" && (major == 11 || major == 12)) ||
              (os.id == "ubuntu" && (os.version_id == "22.04" || os.version_id == "24.04")) ||
              (os.id == "fedora" && major >= 39) ||
              ((os.id == "rocky" || os.id == "almalinux") && (major == 8 || major == 9));
    if (ok) return {};
    const std::string name = os.pretty_name.empty() ? os.id + " " + os.version_id : os.pretty_name;
    return fail("berth cannot provision " + name + ": it is not a supported OS",
                "supported: Debian 11 and 12, Ubuntu 22.04 and 24.04, Fedora 39 and later, "
                "Rocky Linux and AlmaLinux 8 and 9");
}

}  // namespace berth
