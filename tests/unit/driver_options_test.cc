#include <berth/driver/driver.h>
#include <berth/service/driver_table.h>

#include <catch2/catch.hpp>

#include <map>

using namespace berth;

namespace {

DriverInfo sample_info() {
    return DriverInfo{
        .name = "libvirt",
        .description = "",
        .options = {DriverOption{.name = "memory", .help = "", .default_value = "2048", .type = OptionType::Int},
                    DriverOption{.name = "uri", .help = "", .default_value = "", .type = OptionType::String,
                                 .required = true},
                    DriverOption{.name = "share-folder", .help = "", .default_value = "",
                                 .type = OptionType::StringList}},
        .make = {},
        .states = {},
    };
}

std::function<std::optional<std::string>(const std::string&)> env_of(std::map<std::string, std::string> vars) {
    return [vars](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

}  // namespace

TEST_CASE("driver options map to --<driver>-<option> flags and BERTH_ variables", "[driver]") {
    auto info = sample_info();
    CHECK(option_flag("libvirt", info.options[0]) == "--libvirt-memory");
    CHECK(option_env_var("libvirt", info.options[2]) == "BERTH_LIBVIRT_SHARE_FOLDER");
    DriverOption url;
    url.name = "url";
    url.unprefixed = true;
    CHECK(option_flag("none", url) == "--url");
    CHECK(option_env_var("none", url) == "BERTH_NONE_URL");
}

TEST_CASE("option values: flag - then environment - then default", "[driver]") {
    auto info = sample_info();
    auto r = resolve_options(info, {{"uri", {"qemu:///system"}}},
                             env_of({{"BERTH_LIBVIRT_MEMORY", "4096"}, {"BERTH_LIBVIRT_SHARE_FOLDER", "a,b"}}));
    REQUIRE(r);
    CHECK(r->at("memory") == std::vector<std::string>{"4096"});
    CHECK(r->at("uri") == std::vector<std::string>{"qemu:///system"});
    CHECK(r->at("share-folder") == std::vector<std::string>{"a", "b"});

    auto flag_wins = resolve_options(info, {{"uri", {"x"}}, {"memory", {"1024"}}},
                                     env_of({{"BERTH_LIBVIRT_MEMORY", "4096"}}));
    REQUIRE(flag_wins);
    CHECK(flag_wins->at("memory") == std::vector<std::string>{"1024"});

    auto defaulted = resolve_options(info, {}, env_of({{"BERTH_LIBVIRT_URI", "test:///default"}}));
    REQUIRE(defaulted);
    CHECK(defaulted->at("memory") == std::vector<std::string>{"2048"});
    CHECK(defaulted->at("uri") == std::vector<std::string>{"test:///default"});
}

TEST_CASE("a required option with no value names its flag and variable", "[driver]") {
    auto r = resolve_options(sample_info(), {}, env_of({}));
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::Usage);
    CHECK(r.error().message.find("--libvirt-uri") != std::string::npos);
    CHECK(r.error().hint.find("BERTH_LIBVIRT_URI") != std::string::npos);
}

TEST_CASE("the driver table knows none and refuses unknown drivers", "[driver]") {
    auto none = find_driver("none");
    REQUIRE(none);
    CHECK((*none)->name == "none");
    auto bad = find_driver("hyperv");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().kind == ErrorKind::Usage);
    CHECK(bad.error().hint.find("none") != std::string::npos);
}

TEST_CASE("driver_names are the table's drivers, each found by find_driver", "[driver]") {
    auto names = berth::driver_names();
    REQUIRE(names == std::vector<std::string>{"libvirt", "virtualbox", "generic", "none"});
    for (const auto& name : names) CHECK(berth::find_driver(name).has_value());
}
