#include <berth/provision/engine_checks.h>

#include <berth/core/escape.h>
#include <berth/provision/host_paths.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace berth {
namespace {

constexpr std::size_t k_max_version = 128;
constexpr std::size_t k_max_url = 2048;
constexpr std::string_view k_proxy_example =
    "e.g. http://apt-cache.lan:3142 (apt-cacher-ng) or http://10.0.0.2:3128 (squid)";

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

/// What to call `c` in an error.
std::string char_name(char c) {
    if (c == ' ') return "a space";
    if (c == '\n' || c == '\r') return "a line break";
    if (c == '\t') return "a tab";
    if (has_control_character(std::string_view(&c, 1))) return "a control character";
    if (c == '"' || c == '\'' || c == '`') return std::string("a quote (") + c + ")";
    if (c == '\\') return "a backslash";
    return std::string("'") + c + "'";
}

bool ip_address(std::string_view text, int family) {
    unsigned char buf[16];
    return ::inet_pton(family, std::string(text).c_str(), buf) == 1;
}

/// A DNS name: dot-separated labels of 1-63 letters, digits and '-', not starting or ending
/// with '-'; at most 253 characters.
bool dns_name(std::string_view host) {
    if (host.empty() || host.size() > 253) return false;
    for (std::size_t start = 0;;) {
        const auto dot = host.find('.', start);
        const auto label = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
            !only(label, "-"))
            return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

/// The proxy URL's host[:port] (no userinfo: refused before).
Result<void> check_proxy_authority(std::string_view url, std::string_view authority) {
    std::string_view host = authority;
    std::optional<std::string_view> port;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        const auto after = close == std::string_view::npos ? "" : authority.substr(close + 1);
        host = close == std::string_view::npos ? authority.substr(1) : authority.substr(1, close - 1);
        if (close == std::string_view::npos || (!after.empty() && !after.starts_with(':')) ||
            !ip_address(host, AF_INET6))
            return fail_usage(
                json_string(url) + ": \"" + std::string(authority) + "\" is not an [IPv6] address",
                "write an IPv6 address in brackets, e.g. http://[fd00::2]:3142");
        if (!after.empty()) port = after.substr(1);
    } else if (std::count(authority.begin(), authority.end(), ':') > 1) {
        return fail_usage(json_string(url) + ": \"" + std::string(authority) + "\" is not host[:port]",
                          "an IPv6 address goes in brackets, e.g. http://[fd00::2]:3142");
    } else if (const auto colon = authority.find(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty())
        return fail_usage(json_string(url) + " has no host",
                          "give the proxy's URL, " + std::string(k_proxy_example));
    const bool numeric = host.find_first_not_of("0123456789.") == std::string_view::npos;
    if (!authority.starts_with('[') && (numeric ? !ip_address(host, AF_INET) : !dns_name(host)))
        return fail_usage(json_string(url) + ": \"" + std::string(host) +
                              "\" is not a DNS name, an IPv4 address or an [IPv6] address",
                          "a DNS name is labels of letters, digits and '-' between dots; an IPv6 address goes "
                          "in brackets, e.g. http://[fd00::2]:3142");
    if (!port) return {};
    int n = 0;
    auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), n);
    if (port->empty() || port->size() > 5 || ec != std::errc{} || end != port->data() + port->size() ||
        n < 1 || n > 65535)
        return fail_usage(
            json_string(url) + ": port \"" + std::string(*port) + "\" is not a number from 1 to 65535",
            "apt-cacher-ng listens on 3142, squid on 3128");
    return {};
}

/// The proxy URL's path ("" or from its first '/'): URL characters, '%' only as %XX.
Result<void> check_proxy_path(std::string_view url, std::string_view path) {
    for (std::size_t i = 0; i < path.size(); ++i) {
        const char c = path[i];
        if (c == '?' || c == '#')
            return fail_usage(json_string(url) + " has a query or fragment (" + std::string(1, c) + ")",
                              "a proxy URL is scheme://host[:port][/path], without ? or #");
        const bool hex2 = i + 2 < path.size() &&
                          std::isxdigit(static_cast<unsigned char>(path[i + 1])) != 0 &&
                          std::isxdigit(static_cast<unsigned char>(path[i + 2])) != 0;
        if (c == '%' && !hex2)
            return fail_usage(json_string(url) + " has a '%' that is not %XX", "write '%' as %25");
        if (!alnum(c) && std::string_view("-._~/%!$&()*+,=:@").find(c) == std::string_view::npos)
            return fail_usage(
                json_string(url) + " has " + char_name(c) + " in its path, which a URL may not hold",
                "percent-encode it (%XX)");
    }
    return {};
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

Result<void> check_apt_proxy_url(std::string_view url) {
    if (url.empty()) return {};
    const std::string example = "give the proxy's URL, " + std::string(k_proxy_example);
    if (url.size() > k_max_url) return fail_usage("the URL is longer than 2048 characters", example);
    // Userinfo first, before anything repeats the value: it may hold a password.
    const auto scheme_end = url.find("://");
    const std::string_view rest = scheme_end == std::string_view::npos ? url : url.substr(scheme_end + 3);
    const std::string_view authority = rest.substr(0, rest.find('/'));
    if (authority.find('@') != std::string_view::npos)
        return fail_usage("the URL has a user name or password (user:pass@ before the host), which berth would "
                          "write to a world-readable file on the host (" + std::string(k_apt_proxy) +
                              ") and to the machine's record (the value is not shown here)",
                          "give the URL without user:pass@ and let the proxy admit the machines by their address "
                          "instead (squid: an `acl NAME src NETWORK` rule; apt-cacher-ng asks for no password)");
    for (char c : url)
        if (c == ' ' || has_control_character(std::string_view(&c, 1)) ||
            std::string_view("\"'`\\;").find(c) != std::string_view::npos)
            return fail_usage(
                json_string(url) + " has " + char_name(c) + ", which a proxy URL may not hold",
                "give the URL without whitespace, quotes, backslashes, control characters or ';', " +
                    std::string(k_proxy_example));
    if (!url.starts_with("http://") && !url.starts_with("https://"))
        return fail_usage(json_string(url) + " is not an http:// or https:// URL", example);
    if (auto ok = check_proxy_authority(url, authority); !ok) return ok;
    return check_proxy_path(url, rest.substr(authority.size()));
}

Result<void> check_apt_proxy_host(const EngineConfig& engine, const OsInfo& os, std::string_view machine) {
    if (engine.apt_proxy.empty() || os.family == OsFamily::Debian) return {};
    const std::string m(machine);
    const std::string hint = "remove it: in a fleet spec, drop engine-apt-proxy for this machine and apply "
                             "again; for a single machine, `berth rm " + m +
                             "` and create it again without --engine-apt-proxy (a dnf proxy is a proxy= line "
                             "in /etc/dnf/dnf.conf, which berth does not write)";
    return fail_usage("--engine-apt-proxy is for apt hosts; " + m + " runs dnf (" + terminal_text(os.pretty_name) +
                          "): nothing was changed on it",
                      hint);
}

Result<void> check_engine_config(const EngineConfig& engine) {
    if (auto ok = check_engine_version(engine.version); !ok) return ok;
    if (auto ok = check_engine_env(engine.env); !ok) return ok;
    if (auto ok = check_apt_proxy_url(engine.apt_proxy); !ok) {
        Error e = ok.error();
        e.message = "--engine-apt-proxy: " + e.message;
        return std::unexpected(e);
    }
    return {};
}

}  // namespace berth
