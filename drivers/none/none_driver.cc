#include <berth/drivers/none/none_driver.h>

#include <berth/core/docker_url.h>

namespace berth {
namespace {

class NoneDriver final : public Driver {
public:
    explicit NoneDriver(std::string machine) : m_machine(std::move(machine)) {}

    std::string_view name() const override { return "none"; }

    Result<void> configure(const OptionValues& values) override {
        auto it = values.find("url");
        if (it == values.end() || it->second.empty())
            return fail_usage("driver none needs --url", "pass --url tcp://HOST:PORT");
        auto url = parse_docker_url(it->second.front());
        if (!url) return std::unexpected(url.error());
        m_url = *url;
        return {};
    }

    Result<void> precreate_check() override { return {}; }
    Result<void> create() override { return {}; }

    Result<void> start() override { return unsupported("started"); }
    Result<void> stop() override { return unsupported("stopped"); }
    Result<void> restart() override { return unsupported("restarted"); }
    Result<void> kill() override { return unsupported("killed"); }
    // Nothing was made, so there is nothing to remove: the record is all berth had.
    Result<void> remove() override { return {}; }
    std::string removal_note() const override { return "the host " + m_url.host + " was not touched"; }

    // berth does not manage the host: like docker-machine's none driver it is taken as running.
    Result<MachineState> state() override { return MachineState::Running; }
    Result<std::string> ip() override { return m_url.host; }
    Result<std::string> docker_url() override { return m_url.str(); }
    Result<SshEndpoint> ssh_endpoint() override {
        return fail("machine \"" + m_machine + "\" uses the none driver, which has no SSH access",
                    "use a host made with -d generic or another driver");
    }
    std::vector<std::string> cert_sans() override { return {m_url.host}; }

    nlohmann::json save() const override { return {{"url", m_url.str()}}; }
    Result<void> load(const nlohmann::json& saved) override {
        if (!saved.is_object() || !saved.contains("url") || !saved["url"].is_string())
            return fail("the none driver's settings of \"" + m_machine + "\" have no url");
        auto url = parse_docker_url(saved["url"].get<std::string>());
        if (!url) return std::unexpected(url.error());
        m_url = *url;
        return {};
    }

private:
    Result<void> unsupported(const std::string& verb) const {
        return fail("machine \"" + m_machine + "\" uses the none driver and cannot be " + verb +
                    " by berth");
    }

    std::string m_machine;
    DockerUrl m_url;
};

}  // namespace

DriverInfo none_driver_info() {
    return DriverInfo{
        .name = "none",
        .description = "a Docker host berth does not manage, known by its URL",
        .options = {DriverOption{.name = "url",
                                 .help = "URL of the host's Docker daemon, tcp://HOST:PORT",
                                 .default_value = "",
                                 .type = OptionType::String,
                                 .required = true,
                                 .unprefixed = true}},
        .make = [](const DriverContext& ctx) -> std::unique_ptr<Driver> {
            return std::make_unique<NoneDriver>(ctx.machine);
        },
        .states = {},
        .provisions = false,
    };
}

}  // namespace berth
