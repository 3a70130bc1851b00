// The driver toolkit (include/berth/driver/): option defaults, saved settings, waits on a Clock,
// tool probes, ports and user names. Waits run on a FakeClock: a timeout takes no real time.

#include <berth/driver/option_defaults.h>
#include <berth/driver/ports.h>
#include <berth/driver/settings.h>
#include <berth/driver/tool_probe.h>
#include <berth/driver/user_name.h>
#include <berth/driver/wait.h>

#include "../fakes/fake_clock.h"
#include "../fakes/fake_runner.h"

#include <catch2/catch.hpp>

#include <stdexcept>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace berth;
using berth::test::FakeClock;
using berth::test::FakeRunner;
using namespace std::chrono_literals;

namespace {

std::vector<DriverOption> sample_options() {
    return {DriverOption{.name = "memory", .help = "", .default_value = "2048", .type = OptionType::Int},
            DriverOption{.name = "uri", .help = "", .default_value = "qemu:///system", .type = OptionType::String},
            DriverOption{.name = "share", .help = "", .default_value = "", .type = OptionType::String}};
}

/// A driver's settings, as a test owner of a SettingsSchema.
struct Sample {
    std::string uri;
    int memory = 0;
    bool hostonly = true;
    std::string domain = "berth-web1";
    std::string ip;

    static const SettingsSchema<Sample>& schema() {
        static const SettingsSchema<Sample> s = [] {
            SettingsSchema<Sample> out;
            out.field("uri", &Sample::uri, option_default(sample_options(), "uri"))
                .field("memory", &Sample::memory, option_default_int(sample_options(), "memory"))
                .field("hostonly", &Sample::hostonly, false)
                .custom([](const Sample& o, nlohmann::json& j) { j["names"] = {{"domain", o.domain}}; },
                        [](Sample& o, const nlohmann::json& j) {
                            if (j.contains("names")) o.domain = j.at("names").value("domain", o.domain);
                        })
                .custom([](const Sample&, nlohmann::json& j) { j["pool"] = "berth"; });
            return out;
        }();
        return s;
    }
};

}  // namespace

// --- option defaults -------------------------------------------------------------------------

TEST_CASE("toolkit: defaults are read from the option table by name", "[driver][toolkit]") {
    const auto options = sample_options();
    CHECK(option_default(options, "uri") == "qemu:///system");
    CHECK(option_default(options, "share").empty());
    CHECK(option_default_int(options, "memory") == 2048);
    CHECK_THROWS_AS(option_default(options, "cpus"), std::logic_error);
    CHECK_THROWS_AS(option_default_int(options, "uri"), std::logic_error);

    CHECK(option_or_default({}, options, "uri") == "qemu:///system");
    CHECK(option_or_default({{"uri", {"test:///default"}}}, options, "uri") == "test:///default");
    CHECK(option_or_default({{"uri", {""}}}, options, "uri") == "qemu:///system");

    auto memory = option_int_or_default({}, options, "libvirt", "memory", 256, 4096);
    REQUIRE(memory);
    CHECK(*memory == 2048);
    auto bad = option_int_or_default({{"memory", {"lots"}}}, options, "libvirt", "memory", 256, 4096, " (MiB)");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().kind == ErrorKind::Usage);
    CHECK(bad.error().message == "--libvirt-memory must be a whole number from 256 to 4096 (MiB), not \"lots\"");
}

// --- saved settings --------------------------------------------------------------------------

TEST_CASE("toolkit: settings save every field and load them back", "[driver][toolkit]") {
    Sample a;
    Sample::schema().reset(a);
    CHECK(a.uri == "qemu:///system");
    CHECK(a.memory == 2048);
    CHECK_FALSE(a.hostonly);
    CHECK(a.domain == "berth-web1");  // custom fields have no default to reset to
    a.memory = 4096;
    a.domain = "berth-db";
    const nlohmann::json saved = Sample::schema().save(a);
    CHECK(saved.dump() ==
          R"({"hostonly":false,"memory":4096,"names":{"domain":"berth-db"},"pool":"berth","uri":"qemu:///system"})");

    Sample b;
    REQUIRE(Sample::schema().load(b, saved, "damaged: "));
    CHECK(b.memory == 4096);
    CHECK(b.uri == "qemu:///system");
    CHECK(b.domain == "berth-db");
    CHECK(Sample::schema().save(b).dump() == saved.dump());
}

TEST_CASE("toolkit: an older record loads with defaults, a damaged one is an error", "[driver][toolkit]") {
    Sample old;
    REQUIRE(Sample::schema().load(old, nlohmann::json::parse(R"({"uri":"qemu+ssh://h/system"})"), "damaged: "));
    CHECK(old.uri == "qemu+ssh://h/system");
    CHECK(old.memory == 2048);
    CHECK_FALSE(old.hostonly);
    CHECK(old.domain == "berth-web1");

    Sample bad;
    auto r = Sample::schema().load(bad, nlohmann::json::parse(R"({"memory":"lots"})"), "the settings are damaged: ");
    REQUIRE_FALSE(r);
    CHECK(r.error().message.starts_with("the settings are damaged: [json.exception.type_error"));
}

TEST_CASE("toolkit: a required setting must be in the record", "[driver][toolkit]") {
    struct Host {
        std::string ip;
        int port = 0;
    };
    SettingsSchema<Host> schema;
    schema.required("ip_address", &Host::ip).field("ssh_port", &Host::port, 22);
    Host h;
    REQUIRE(schema.load(h, nlohmann::json::parse(R"({"ip_address":"10.0.0.5"})"), "x: "));
    CHECK(h.ip == "10.0.0.5");
    CHECK(h.port == 22);
    auto missing = schema.load(h, nlohmann::json::parse(R"({"ssh_port":2222})"), "x: ");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("ip_address") != std::string::npos);
}

// --- waits -----------------------------------------------------------------------------------

TEST_CASE("toolkit: wait_until polls on the clock until done", "[driver][toolkit]") {
    FakeClock clock;
    int looks = 0;
    auto r = wait_until(
        clock, clock.now() + 10s, 1s, [&]() -> Result<WaitStep> { return ++looks == 3 ? WaitStep::Done : WaitStep::NotYet; },
        "the thing");
    REQUIRE(r);
    CHECK(looks == 3);
    CHECK(clock.sleeps() == std::vector<Clock::Duration>{1s, 1s});
}

TEST_CASE("toolkit: wait_until times out at the deadline, taking no real time", "[driver][toolkit]") {
    FakeClock clock;
    int looks = 0;
    const auto real_start = std::chrono::steady_clock::now();
    auto r = wait_until(
        clock, clock.now() + 180s, 1s, [&]() -> Result<WaitStep> { ++looks; return WaitStep::NotYet; },
        [&] { return fail("no address after " + std::to_string(looks) + " looks", "check the guest").error(); });
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "no address after 181 looks");
    CHECK(r.error().hint == "check the guest");
    CHECK(clock.sleeps().size() == 180);
    CHECK(std::chrono::steady_clock::now() - real_start < 5s);

    FakeClock other;
    auto plain = wait_until(other, other.now() + 30s, 10s, []() -> Result<WaitStep> { return WaitStep::NotYet; },
                            "SSH on 127.0.0.1:41000");
    REQUIRE_FALSE(plain);
    CHECK(plain.error().message == "timed out after 30 s waiting for SSH on 127.0.0.1:41000");
}

TEST_CASE("toolkit: wait_until returns the error a look fails with", "[driver][toolkit]") {
    FakeClock clock;
    auto r = wait_until(clock, clock.now() + 10s, 1s, []() -> Result<WaitStep> { return fail("connection lost"); },
                        "the domain");
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "connection lost");
    CHECK(clock.sleeps().empty());
    CHECK(whole_seconds(std::chrono::milliseconds(120500)) == "120 s");
}

TEST_CASE("toolkit: a driver's clock is the context's, else the system clock", "[driver][toolkit]") {
    DriverContext ctx;
    CHECK(&driver_clock(ctx) == &system_clock());
    FakeClock clock;
    ctx.clock = &clock;
    CHECK(&driver_clock(ctx) == &clock);
}

// --- tool probes -----------------------------------------------------------------------------

TEST_CASE("toolkit: versions are read from --version output", "[driver][toolkit]") {
    auto v = parse_tool_version("genisoimage 1.1.11 (Linux)\n");
    REQUIRE(v);
    CHECK(v->numbers == std::vector<int>{1, 1, 11});
    CHECK(v->text == "1.1.11");
    auto q = parse_tool_version("qemu-img version 7.2.9 (Debian 1:7.2+dfsg-7+deb12u6)\nCopyright (c) 2003-2022\n");
    REQUIRE(q);
    CHECK(q->text == "7.2.9");
    CHECK(parse_tool_version("7.0.20r163906")->numbers == std::vector<int>{7, 0, 20});
    CHECK_FALSE(parse_tool_version("no version here, 42 only"));
    CHECK(q->at_least({7, 2}));
    CHECK(q->at_least({7, 2, 9}));
    CHECK_FALSE(q->at_least({7, 10}));
    CHECK_FALSE(q->at_least({8}));
    CHECK(ToolVersion{{6, 1}, "6.1"}.at_least({6, 1, 0}));
}

TEST_CASE("toolkit: a tool probe runs the version flag and names the package when missing", "[driver][toolkit]") {
    FakeRunner runner;
    runner.on({"qemu-img", "--version"}, 0, "qemu-img version 7.2.9\n");
    runner.on({"genisoimage"}, 127, "", "genisoimage: not found");
    auto qemu = probe_tool(runner, {.program = "qemu-img", .version_args = {"--version"}, .missing = {}, .hint = {},
                                    .package = "qemu-utils", .minimum = {7, 0}});
    REQUIRE(qemu);
    REQUIRE(*qemu);
    CHECK((*qemu)->text == "7.2.9");

    auto iso = probe_tool(runner, {.program = "genisoimage", .version_args = {"-version"}, .missing = {}, .hint = {},
                                   .package = "genisoimage", .minimum = {}});
    REQUIRE_FALSE(iso);
    CHECK(iso.error().kind == ErrorKind::PrecreateCheck);
    CHECK(iso.error().message == "genisoimage is missing");
    CHECK(iso.error().hint == "install the Debian package genisoimage");

    // A program that cannot be started at all (here: no answer scripted) is missing too.
    auto absent = probe_tool(runner, {.program = "VBoxManage", .version_args = {"--version"},
                                      .missing = "VBoxManage is missing (VirtualBox)", .hint = "install VirtualBox",
                                      .package = {}, .minimum = {}});
    REQUIRE_FALSE(absent);
    CHECK(absent.error().message == "VBoxManage is missing (VirtualBox)");
    CHECK(absent.error().hint == "install VirtualBox");

    CHECK(runner.calls() == std::vector<std::vector<std::string>>{
                                {"qemu-img", "--version"}, {"genisoimage", "-version"}, {"VBoxManage", "--version"}});
    CHECK(runner.unexpected() == std::vector<std::vector<std::string>>{{"VBoxManage", "--version"}});
}

TEST_CASE("toolkit: a tool older than the minimum is a precreate error", "[driver][toolkit]") {
    FakeRunner runner;
    runner.on({"qemu-img"}, 0, "qemu-img version 5.2.0\n");
    runner.on({"qemu-img", "--help"}, 0, "usage\n");  // the longer prefix wins where it matches
    auto old = probe_tool(runner, {.program = "qemu-img", .version_args = {"--version"}, .missing = {}, .hint = {},
                                   .package = "qemu-utils", .minimum = {7, 0}});
    REQUIRE_FALSE(old);
    CHECK(old.error().kind == ErrorKind::PrecreateCheck);
    CHECK(old.error().message == "qemu-img 5.2.0 is too old: berth needs 7.0 or later");
    CHECK(old.error().hint == "install the Debian package qemu-utils");
    auto unreadable = probe_tool(runner, {.program = "qemu-img", .version_args = {"--help"}, .missing = {}, .hint = {},
                                          .package = "qemu-utils", .minimum = {7, 0}});
    REQUIRE_FALSE(unreadable);
    CHECK(unreadable.error().message == "qemu-img printed no version berth can read (it needs 7.0 or later)");
}

// --- ports and user names --------------------------------------------------------------------

TEST_CASE("toolkit: port numbers from 1 to 65535", "[driver][toolkit]") {
    CHECK(parse_port("22", "--generic-ssh-port") == 22);
    CHECK(parse_port("65535", "--generic-ssh-port") == 65535);
    for (const std::string bad : {"0", "65536", "22x", "", "ssh"}) {
        auto r = parse_port(bad, "--generic-ssh-port");
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::Usage);
        CHECK(r.error().message == "--generic-ssh-port must be a port number from 1 to 65535, not \"" + bad + "\"");
    }
}

TEST_CASE("toolkit: a free loopback port, and a taken one seen as taken", "[driver][toolkit]") {
    auto first = free_loopback_port({});
    REQUIRE(first);
    CHECK(*first > 0);
    auto second = free_loopback_port({*first});
    REQUIRE(second);
    CHECK(*second != *first);

    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    const int taken = ntohs(a.sin_port);
    CHECK_FALSE(loopback_port_free(taken));
    ::close(fd);
    CHECK(loopback_port_free(taken));
}

TEST_CASE("toolkit: user names", "[driver][toolkit]") {
    CHECK(is_user_name("docker"));
    CHECK(is_user_name("_svc-2"));
    CHECK_FALSE(is_user_name(""));
    CHECK_FALSE(is_user_name("Docker"));
    CHECK_FALSE(is_user_name("2docker"));
    CHECK_FALSE(is_user_name("-docker"));
    CHECK_FALSE(is_user_name("doc ker"));
    CHECK_FALSE(is_user_name(std::string(33, 'a')));
    CHECK(is_user_name(std::string(32, 'a')));
    CHECK(user_name_chars_valid("2docker"));
    CHECK_FALSE(user_name_chars_valid(""));
    CHECK_FALSE(user_name_chars_valid("doc:ker"));
}
