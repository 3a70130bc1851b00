#include <berth/drivers/none/none_driver.h>

#include <catch2/catch.hpp>

using namespace berth;

namespace {

std::unique_ptr<Driver> make() {
    DriverContext ctx;
    ctx.machine = "n1";
    ctx.machine_dir = "/nonexistent";
    return none_driver_info().make(ctx);
}

}  // namespace

TEST_CASE("none: --url is its only option - unprefixed and required", "[none]") {
    auto info = none_driver_info();
    REQUIRE(info.options.size() == 1);
    CHECK(option_flag(info.name, info.options[0]) == "--url");
    CHECK(info.options[0].required);
}

TEST_CASE("none: configure takes tcp://HOST:PORT and refuses anything else", "[none]") {
    auto d = make();
    REQUIRE(d->configure({{"url", {"tcp://docker.example.com:2376"}}}));
    CHECK(d->docker_url().value() == "tcp://docker.example.com:2376");
    CHECK(d->ip().value() == "docker.example.com");
    CHECK(d->cert_sans() == std::vector<std::string>{"docker.example.com"});
    auto bad = make()->configure({{"url", {"10.1.2.3:2376"}}});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().kind == ErrorKind::Usage);
    CHECK_FALSE(make()->configure({}));
}

TEST_CASE("none: settings survive save and load", "[none]") {
    auto d = make();
    REQUIRE(d->configure({{"url", {"tcp://10.1.2.3:2376"}}}));
    auto saved = d->save();
    auto e = make();
    REQUIRE(e->load(saved));
    CHECK(e->docker_url().value() == "tcp://10.1.2.3:2376");
    CHECK_FALSE(make()->load(nlohmann::json::object()));
}

TEST_CASE("none: lifecycle verbs say the driver cannot do them - remove succeeds", "[none]") {
    auto d = make();
    REQUIRE(d->configure({{"url", {"tcp://10.1.2.3:2376"}}}));
    for (auto call : {&Driver::start, &Driver::stop, &Driver::restart, &Driver::kill}) {
        auto r = ((*d).*call)();
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("none driver") != std::string::npos);
    }
    CHECK(d->remove());
    CHECK_FALSE(d->ssh_endpoint());
    CHECK(d->state().value() == MachineState::Running);
}
