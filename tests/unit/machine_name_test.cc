#include <berth/core/machine_name.h>

#include <catch2/catch.hpp>

using namespace berth;

TEST_CASE("machine names follow docker-machines rule", "[name]") {
    for (const char* good : {"n1", "web-1", "a", "Web.example", "0abc"}) {
        CAPTURE(good);
        CHECK(validate_machine_name(good));
    }
    for (const char* bad : {"", "-x", ".x", "a_b", "a b", "a/b", "é", "n1;rm"}) {
        CAPTURE(bad);
        auto r = validate_machine_name(bad);
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::Usage);
    }
    CHECK(validate_machine_name(std::string(63, 'a')));
    CHECK_FALSE(validate_machine_name(std::string(64, 'a')));
}
