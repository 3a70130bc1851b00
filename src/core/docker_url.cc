#include <berth/core/docker_url.h>

#include <arpa/inet.h>

#include <charconv>

namespace berth {

bool is_ip_address(std::string_view host) {
    std::string h(host);
    unsigned char buf[16];
    return ::inet_pton(AF_INET, h.c_str(), buf) == 1 || ::inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

std::string DockerUrl::str() const {
    const bool v6 = host.find(':') != std::string::npos;
    return "tcp://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<DockerUrl> parse_docker_url(std::string_view url) {
    const std::string shown(url);
    const std::string form = "expected tcp://HOST:PORT, e.g. tcp://10.1.2.3:2376";
    constexpr std::string_view scheme = "tcp://";
    if (!url.starts_with(scheme)) return fail_usage("invalid Docker URL \"" + shown + "\"", form);
    std::string_view rest = url.substr(scheme.size());
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);

    DockerUrl out;
    std::string_view port_text;
    if (rest.starts_with("[")) {
        auto close = rest.find(']');
        if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
            return fail_usage("invalid Docker URL \"" + shown + "\"", form);
        out.host = std::string(rest.substr(1, close - 1));
        port_text = rest.substr(close + 2);
        if (!is_ip_address(out.host))
            return fail_usage("invalid IPv6 address in Docker URL \"" + shown + "\"", form);
    } else {
        auto colon = rest.rfind(':');
        if (colon == std::string_view::npos)
            return fail_usage("Docker URL \"" + shown + "\" has no port", form);
        out.host = std::string(rest.substr(0, colon));
        port_text = rest.substr(colon + 1);
        if (out.host.find(':') != std::string::npos)
            return fail_usage("invalid Docker URL \"" + shown + "\"",
                              "put an IPv6 address in brackets: tcp://[::1]:2376");
    }
    if (out.host.empty()) return fail_usage("Docker URL \"" + shown + "\" has no host", form);
    for (char c : out.host) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':'))
            return fail_usage("invalid host \"" + out.host + "\" in Docker URL \"" + shown + "\"", form);
    }
    int port = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 1 || port > 65535)
        return fail_usage("invalid port \"" + std::string(port_text) + "\" in Docker URL \"" + shown + "\"",
                          "a port is a number from 1 to 65535");
    out.port = port;
    return out;
}

}  // namespace berth
