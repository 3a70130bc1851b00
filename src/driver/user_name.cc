#include <berth/driver/user_name.h>

#include <berth/core/docker_url.h>

#include <algorithm>
#include <cctype>

namespace berth {
namespace {

bool is_dns_label(std::string_view label) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    return std::all_of(label.begin(), label.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
}

bool is_dns_name(std::string_view host) {
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    if (host.empty() || host.size() > 253) return false;
    while (true) {
        const auto dot = host.find('.');
        if (!is_dns_label(host.substr(0, dot))) return false;
        if (dot == std::string_view::npos) return true;
        host.remove_prefix(dot + 1);
    }
}

/// For messages: the value with control characters shown as '?', so an error is one line.
std::string printable(std::string_view value) {
    std::string out(value.substr(0, 80));
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return out;
}

}  // namespace

bool user_name_chars_valid(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
               c == '_' || c == '-';
    });
}

bool is_portable_user_name(std::string_view name) {
    return !name.empty() && name.size() <= 32 && name.front() != '-' &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
           });
}

bool is_user_name(std::string_view name) {
    return is_portable_user_name(name) && user_name_chars_valid(name) &&
           (std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_');
}

bool is_host_address(std::string_view host) { return is_ip_address(host) || is_dns_name(host); }

Result<void> validate_ssh_user(std::string_view user, std::string_view what) {
    if (is_portable_user_name(user)) return {};
    return fail_usage(std::string(what) + " must be a user name (1 to 32 letters, digits, '.', '_' or '-', not "
                                          "starting with '-'), not \"" + printable(user) + "\"",
                      "pass the login name of the host's user, e.g. root or docker");
}

Result<void> validate_ssh_host(std::string_view host, std::string_view what) {
    if (is_host_address(host)) return {};
    return fail_usage(std::string(what) + " must be an IP address or a DNS name, not \"" + printable(host) + "\"",
                      "pass e.g. 192.0.2.10, 2001:db8::10 or host.example.com");
}

Result<void> validate_ssh_endpoint(const SshEndpoint& endpoint, std::string_view machine) {
    const std::string m(machine);
    const std::string hint = "the record of \"" + m + "\" was changed by hand or is damaged: put the right value " +
                             "back in it, or remove the machine (`berth rm " + m + "`) and create it again";
    if (!is_portable_user_name(endpoint.user))
        return fail("machine \"" + m + "\" has SSH user \"" + printable(endpoint.user) +
                        "\", which is not a user name; berth will not pass it to ssh",
                    hint);
    if (!is_host_address(endpoint.host))
        return fail("machine \"" + m + "\" has SSH host \"" + printable(endpoint.host) +
                        "\", which is not an IP address or DNS name; berth will not connect to it",
                    hint);
    if (endpoint.port < 1 || endpoint.port > 65535)
        return fail("machine \"" + m + "\" has SSH port " + std::to_string(endpoint.port) + ", which is not a port",
                    hint);
    return {};
}

}  // namespace berth
