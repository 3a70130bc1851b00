// MachineLogScope: every line logged inside it names its machine, once, per thread.

#include <berth/core/log.h>

#include <catch2/catch.hpp>

#include <string>
#include <thread>

using namespace berth;

TEST_CASE("lines inside a machine's scope carry its name once", "[log]") {
    CHECK(with_machine_prefix("Starting domain...") == "Starting domain...");
    {
        MachineLogScope scope("web1");
        CHECK(with_machine_prefix("Starting domain...") == "[web1] Starting domain...");
        CHECK(with_machine_prefix("[web1] Reading the host's state...") == "[web1] Reading the host's state...");
        CHECK(with_machine_prefix("web1: removing its local files anyway") == "web1: removing its local files anyway");
        CHECK(with_machine_prefix("[web10] other") == "[web1] [web10] other");
        {
            MachineLogScope inner("db");
            CHECK(with_machine_prefix("x") == "[db] x");
        }
        CHECK(with_machine_prefix("x") == "[web1] x");
    }
    CHECK(with_machine_prefix("x") == "x");
}

TEST_CASE("each thread has its own machine scope", "[log]") {
    MachineLogScope scope("main");
    std::string seen_a, seen_b, seen_bare;
    std::thread a([&] {
        MachineLogScope s("t1");
        seen_a = with_machine_prefix("line");
    });
    std::thread b([&] {
        MachineLogScope s("t2");
        seen_b = with_machine_prefix("line");
    });
    std::thread c([&] { seen_bare = with_machine_prefix("line"); });
    a.join();
    b.join();
    c.join();
    CHECK(seen_a == "[t1] line");
    CHECK(seen_b == "[t2] line");
    CHECK(seen_bare == "line");
    CHECK(with_machine_prefix("line") == "[main] line");
}
