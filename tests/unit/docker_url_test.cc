#include <berth/core/docker_url.h>

#include <catch2/catch.hpp>

using namespace berth;

TEST_CASE("Docker URLs parse and print back", "[url]") {
    auto u = parse_docker_url("tcp://10.1.2.3:2376");
    REQUIRE(u);
    CHECK(u->host == "10.1.2.3");
    CHECK(u->port == 2376);
    CHECK(u->str() == "tcp://10.1.2.3:2376");

    auto named = parse_docker_url("tcp://docker.example.com:12376");
    REQUIRE(named);
    CHECK(named->host == "docker.example.com");

    auto v6 = parse_docker_url("tcp://[fd00::5]:2376");
    REQUIRE(v6);
    CHECK(v6->host == "fd00::5");
    CHECK(v6->str() == "tcp://[fd00::5]:2376");
}

TEST_CASE("bad Docker URLs are usage errors that show the expected form", "[url]") {
    for (const char* bad : {"10.1.2.3:2376", "http://10.1.2.3:2376", "tcp://10.1.2.3", "tcp://:2376",
                            "tcp://10.1.2.3:0", "tcp://10.1.2.3:70000", "tcp://10.1.2.3:x",
                            "tcp://fd00::5:2376", "tcp://a b:1", "tcp://[zz]:1"}) {
        CAPTURE(bad);
        auto u = parse_docker_url(bad);
        REQUIRE_FALSE(u);
        CHECK(u.error().kind == ErrorKind::Usage);
    }
    CHECK(parse_docker_url("10.1.2.3:2376").error().hint.find("tcp://HOST:PORT") != std::string::npos);
}

TEST_CASE("IP address detection", "[url]") {
    CHECK(is_ip_address("10.0.0.1"));
    CHECK(is_ip_address("::1"));
    CHECK_FALSE(is_ip_address("localhost"));
    CHECK_FALSE(is_ip_address("10.0.0"));
}
