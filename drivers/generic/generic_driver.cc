#include <berth/drivers/generic/generic_driver.h>

#include <berth/core/escape.h>
#include <berth/driver/option_defaults.h>
#include <berth/driver/ports.h>
#include <berth/driver/settings.h>
#include <berth/driver/user_name.h>
#include <berth/store/atomic_file.h>
#include <berth/store/store.h>
#include <berth/transport/known_hosts.h>
#include <berth/transport/ssh_key.h>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <future>
#include <optional>

namespace berth {

bool tcp_reachable(const std::string& host, int port, std::chrono::milliseconds timeout) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return false;
    bool ok = false;
    for (addrinfo* a = res; a != nullptr && !ok; a = a->ai_next) {
        int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) ok = true;
        else if (errno == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
                int err = 0;
                socklen_t len = sizeof err;
                ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
                ok = err == 0;
            }
        }
        ::close(fd);
    }
    ::freeaddrinfo(res);
    return ok;
}

namespace {

constexpr const char* k_key_file = "ssh-key";

/// The options, with the driver's defaults: read by name wherever the driver needs one.
const std::vector<DriverOption>& generic_options() {
    static const std::vector<DriverOption> options = [] {
        auto opt = [](std::string name, std::string help, std::string def, OptionType type, bool required) {
            DriverOption o;
            o.name = std::move(name);
            o.help = std::move(help);
            o.default_value = std::move(def);
            o.type = type;
            o.required = required;
            return o;
        };
        return std::vector<DriverOption>{
            opt("ip-address", "IP address or DNS name of the host", "", OptionType::String, true),
            opt("ssh-user", "SSH user (root, or a user with passwordless sudo)", "root", OptionType::String, false),
            opt("ssh-key", "SSH private key (default: ~/.ssh/id_ed25519, id_ecdsa or id_rsa)", "", OptionType::String, false),
            opt("ssh-port", "SSH port", "22", OptionType::Int, false),
            opt("engine-port", "Port the Docker daemon listens on (TLS)", "2376", OptionType::Int, false),
            opt("host-key",
                "The host's SSH public key line (\"ssh-ed25519 AAAA...\", from its /etc/ssh/ssh_host_*_key.pub): "
                "pinned before the first connection, which is then verified (default: trust on first use and "
                "print the fingerprint)",
                "", OptionType::String, false)};
    }();
    return options;
}

/// Port option `name`: its default when not given, else a port number.
Result<int> port_option(const OptionValues& values, const std::string& name) {
    auto it = values.find(name);
    if (it == values.end() || it->second.empty()) return option_default_int(generic_options(), name);
    return parse_port(it->second.front(), "--generic-" + name);
}

std::string value_of(const OptionValues& values, const std::string& name) {
    auto it = values.find(name);
    return it == values.end() || it->second.empty() ? "" : it->second.front();
}

class GenericDriver final : public Driver {
public:
    explicit GenericDriver(DriverContext ctx) : m_ctx(std::move(ctx)) { settings().reset(*this); }

    std::string_view name() const override { return "generic"; }

    Result<void> configure(const OptionValues& values) override {
        m_ip = value_of(values, "ip-address");
        if (m_ip.empty()) return fail_usage("driver generic needs --generic-ip-address", "pass the host's address");
        m_user = value_of(values, "ssh-user");
        if (m_user.empty()) m_user = option_default(generic_options(), "ssh-user");
        if (auto ok = validate_ssh_host(m_ip, "--generic-ip-address"); !ok) return ok;
        if (auto ok = validate_ssh_user(m_user, "--generic-ssh-user"); !ok) return ok;
        auto ssh_port = port_option(values, "ssh-port");
        auto engine_port = port_option(values, "engine-port");
        if (!engine_port) return std::unexpected(engine_port.error());  // as before: the last bad one
        if (!ssh_port) return std::unexpected(ssh_port.error());
        m_ssh_port = *ssh_port;
        m_engine_port = *engine_port;
        std::string key = value_of(values, "ssh-key");
        if (key.empty()) {
            // docker-machine's default: the user's own key.
            const char* home = std::getenv("HOME");
            for (const char* name : {"id_ed25519", "id_ecdsa", "id_rsa"}) {
                std::filesystem::path candidate = std::filesystem::path(home ? home : "/") / ".ssh" / name;
                std::error_code ec;
                if (std::filesystem::exists(candidate, ec)) {
                    key = candidate.string();
                    break;
                }
            }
            if (key.empty())
                return fail_usage("driver generic needs an SSH key", "pass --generic-ssh-key PATH (no key was found in ~/.ssh)");
        }
        m_source_key = key;
        m_host_key.reset();
        if (const std::string line = value_of(values, "host-key"); !line.empty()) {
            auto parsed = parse_public_key_line(line);
            if (!parsed)
                return fail_usage("--generic-host-key: " + parsed.error().message, parsed.error().hint);
            m_host_key = *parsed;
        }
        return {};
    }

    Result<void> precreate_check() override {
        if (auto pub = public_key_line(m_source_key); !pub)
            return fail("cannot use the SSH key " + m_source_key.string() + ": " + pub.error().message, pub.error().hint);
        if (!tcp_reachable(m_ip, m_ssh_port, std::chrono::seconds(10)))
            return fail("nothing answers on " + m_ip + ":" + std::to_string(m_ssh_port),
                        "check --generic-ip-address and --generic-ssh-port, and that the host is up");
        return {};
    }

    // The host exists already: berth only takes a private copy of the key, so the machine keeps
    // working if the user's key file moves.
    Result<void> create() override {
        auto key = read_file(m_source_key);
        if (!key) return std::unexpected(key.error());
        if (m_host_key) {
            // Pinned before the first connection: that connection is verified, not trusted.
            if (auto ok = pin_host_key(m_ctx.machine_dir / k_known_hosts_file, host_key_alias(m_ctx.machine),
                                       *m_host_key, true);
                !ok)
                return ok;
        }
        return write_file_atomic(m_ctx.machine_dir / k_key_file, *key, 0600);
    }

    // docker-machine's host: the key it used, copied like create's; the host key is pinned at
    // berth's first contact (the provision), as for a create without --generic-host-key.
    Result<void> adopt(const AdoptedMachine& machine) override {
        m_source_key = machine.ssh_key;
        m_host_key.reset();
        return create();
    }

    Result<void> start() override {
        return fail("the generic driver cannot start " + m_ctx.machine + ": berth does not control its power",
                    "start the host yourself");
    }
    Result<void> stop() override { return shutdown("-h", "stopping"); }
    Result<void> restart() override { return shutdown("-r", "restarting"); }
    Result<void> kill() override {
        return fail("the generic driver cannot kill " + m_ctx.machine + ": berth does not control its power",
                    "use `berth stop " + m_ctx.machine + "` for a clean shutdown");
    }
    // The host is not berth's to delete: rm forgets it and leaves it running.
    Result<void> remove() override { return {}; }
    std::string removal_note() const override {
        return "the host " + m_ip + " was left running, hardened; berth only forgot it";
    }
    bool owns_host() const override { return false; }

    Result<MachineState> state() override {
        return tcp_reachable(m_ip, m_ssh_port, std::chrono::seconds(2)) ? MachineState::Running : MachineState::Stopped;
    }
    Result<std::string> ip() override { return m_ip; }
    Result<std::string> docker_url() override {
        const bool v6 = m_ip.find(':') != std::string::npos;
        return "tcp://" + (v6 ? "[" + m_ip + "]" : m_ip) + ":" + std::to_string(m_engine_port);
    }
    Result<SshEndpoint> ssh_endpoint() override {
        return SshEndpoint{m_ip, m_ssh_port, m_user, m_ctx.machine_dir / k_key_file};
    }
    std::vector<std::string> cert_sans() override { return {m_ip}; }

    nlohmann::json save() const override { return settings().save(*this); }
    Result<void> load(const nlohmann::json& saved) override {
        return settings().load(*this, saved, "the generic driver's settings of \"" + m_ctx.machine + "\" are damaged: ");
    }

private:
    /// The record's "driver" object: every setting once, with its default for older records.
    static const SettingsSchema<GenericDriver>& settings() {
        static const SettingsSchema<GenericDriver> schema = [] {
            const auto& options = generic_options();
            SettingsSchema<GenericDriver> s;
            s.required("ip_address", &GenericDriver::m_ip)
                .field("ssh_user", &GenericDriver::m_user, option_default(options, "ssh-user"))
                .field("ssh_port", &GenericDriver::m_ssh_port, option_default_int(options, "ssh-port"))
                .field("engine_port", &GenericDriver::m_engine_port, option_default_int(options, "engine-port"));
            return s;
        }();
        return schema;
    }

    Result<void> shutdown(const std::string& flag, const std::string& doing) {
        if (!m_ctx.ssh) return fail("internal error: no SSH for the generic driver");
        auto endpoint = ssh_endpoint();
        if (!endpoint) return std::unexpected(endpoint.error());
        auto session = m_ctx.ssh(*endpoint);
        if (!session) return std::unexpected(session.error());
        // The connection may drop before the command reports back: that is the command working.
        auto r = (*session)->run("nohup sh -c " + shell_quote("sleep 1; shutdown " + flag + " now") + " >/dev/null 2>&1 &",
                                 std::chrono::seconds(30));
        if (!r) return std::unexpected(r.error());
        if (r->exit_status != 0)
            return fail(doing + " " + m_ctx.machine + " failed: " + tail_lines(r->err, 3));
        return {};
    }

    DriverContext m_ctx;
    // The settings (settings() gives their defaults, from the option table).
    std::string m_ip;
    std::string m_user;
    int m_ssh_port = 0;
    int m_engine_port = 0;
    std::filesystem::path m_source_key;
    std::optional<PinnedKey> m_host_key;  ///< --generic-host-key (create only; the pin is in known_hosts)
};

}  // namespace

DriverInfo generic_driver_info() {
    return DriverInfo{
        .name = "generic",
        .description = "an existing host reachable over SSH",
        .options = generic_options(),
        .make = [](const DriverContext& ctx) -> std::unique_ptr<Driver> { return std::make_unique<GenericDriver>(ctx); },
        // Hosts are probed in parallel, so `ls` of many waits about one timeout, not one each.
        .states = [](const std::vector<Driver*>& drivers) {
            std::vector<std::future<Result<MachineState>>> futures;
            for (Driver* d : drivers) futures.push_back(std::async(std::launch::async, [d] { return d->state(); }));
            std::vector<Result<MachineState>> out;
            for (auto& f : futures) out.push_back(f.get());
            return out;
        },
    };
}

}  // namespace berth
