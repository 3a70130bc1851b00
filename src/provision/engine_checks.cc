#include <berth/provision/engine_checks.h>

#include <berth/core/escape.h>

#include <cctype>

namespace berth {
namespace {

constexpr std::size_t k_max_version = 128;

bool alnum(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

bool only(std::string_view text, std::string_view extra) {
    for (char c : text)
        if (!alnum(c) && extra.find(c) == std::string_view::npos) return false;
    return true;
}

// "[digits:]rest" -> rest, or nullopt for a bad epoch.
std::optional<std::string_view> without_epoch(std::string_view version) {
    const auto colon = version.find(':');
    if (colon == std::string_view::npos) return version;
    const std::string_view epoch = version.substr(0, colon);
    if (epoch.empty() || epoch.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    return version.substr(colon + 1);
}

}  // namespace

bool is_debian_version(std::string_view version) {
    if (version.size() > k_max_version) return false;
    auto rest = without_epoch(version);
    if (!rest || rest->empty()) return false;
    std::string_view upstream = *rest;
    std::string_view revision;
    if (const auto dash = rest->rfind('-'); dash != std::string_view::npos) {
        upstream = rest->substr(0, dash);
        revision = rest->substr(dash + 1);
        if (revision.empty() || !only(revision, "+.~")) return false;
    }
    return !upstream.empty() && std::isdigit(static_cast<unsigned char>(upstream.front())) != 0 &&
           only(upstream, ".+~-");
}

bool is_rpm_version(std::string_view version) {
    if (version.size() > k_max_version) return false;
    auto rest = without_epoch(version);
    if (!rest || rest->empty()) return false;
    std::string_view ver = *rest;
    std::string_view release = "0";
    if (const auto dash = rest->find('-'); dash != std::string_view::npos) {
        ver = rest->substr(0, dash);
        release = rest->substr(dash + 1);
    }
    auto part = [](std::string_view p) { return !p.empty() && alnum(p.front()) && only(p, "._+~^"); };
    return part(ver) && part(release);
}

Result<void> check_engine_version(std::string_view version, std::optional<OsFamily> family) {
    if (version.empty()) return {};
    const bool deb = is_debian_version(version);
    const bool rpm = is_rpm_version(version);
    const bool ok = !family ? deb || rpm : *family == OsFamily::Debian ? deb : rpm;
    if (ok) return {};
    std::string rule;
    if (!family || *family == OsFamily::Debian)
        rule = "a Debian version is [epoch:]upstream[-revision] (deb-version(7)): digits for the epoch, the upstream "
               "part starting with a digit, only letters, digits and . + ~ - (e.g. 20.10.24+dfsg1-1+deb12u1)";
    if (!family) rule += "; ";
    if (!family || *family == OsFamily::Rhel)
        rule += "an RPM version is [epoch:]version[-release] of letters, digits and . _ + ~ ^ (e.g. 27.3.1-1.fc40)";
    return fail_usage("--engine-version " + json_string(version) + " is not a package version", rule);
}

Result<void> check_engine_env(const std::vector<std::string>& env) {
    for (const auto& entry : env) {
        const auto eq = entry.find('=');
        const std::string name = entry.substr(0, eq);
        const bool name_ok = !name.empty() && !std::isdigit(static_cast<unsigned char>(name.front())) &&
                             only(name, "_");
        if (eq == std::string::npos || !name_ok)
            return fail_usage("--engine-env " + json_string(name) + " does not start with an environment variable name",
                              "write it as NAME=VALUE, NAME of letters, digits and '_' not starting with a digit "
                              "(e.g. HTTP_PROXY=http://proxy:3128)");
        if (has_control_character(std::string_view(entry).substr(eq + 1)))
            return fail_usage("--engine-env " + name + " has a control character (newline, tab, ...) in its value",
                              "give the value on one line without control characters");
    }
    return {};
}

Result<void> check_engine_config(const EngineConfig& engine) {
    if (auto ok = check_engine_version(engine.version); !ok) return ok;
    return check_engine_env(engine.env);
}

}  // namespace berth
