#include <berth/store/file_lock.h>

#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <optional>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

using namespace berth;
using berth::test::TempDir;

TEST_CASE("a second process cannot take a held machine lock - and is told who holds it", "[lock]") {
    TempDir dir;
    const auto path = dir / "n1.lock";
    int to_parent[2], to_child[2];
    REQUIRE(::pipe(to_parent) == 0);
    REQUIRE(::pipe(to_child) == 0);

    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        auto lock = FileLock::try_acquire(path, "machine \"n1\"");
        char c = lock ? 'L' : 'E';
        (void)::write(to_parent[1], &c, 1);
        (void)::read(to_child[0], &c, 1);  // hold until the parent says so
        ::_exit(0);
    }
    char c = 0;
    REQUIRE(::read(to_parent[0], &c, 1) == 1);
    REQUIRE(c == 'L');

    auto second = FileLock::try_acquire(path, "machine \"n1\"");
    REQUIRE_FALSE(second);
    CHECK(second.error().kind == ErrorKind::Conflict);
    CHECK(second.error().message.find("machine \"n1\" is being changed by another berth process") !=
          std::string::npos);
    CHECK(second.error().message.find("pid " + std::to_string(child)) != std::string::npos);

    (void)::write(to_child[1], "x", 1);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);

    auto third = FileLock::try_acquire(path, "machine \"n1\"");
    CHECK(third);
    for (int fd : {to_parent[0], to_parent[1], to_child[0], to_child[1]}) ::close(fd);
}

TEST_CASE("release_and_remove leaves no lock file - and the lock can be taken again", "[lock]") {
    TempDir dir;
    const auto path = dir / "n1.lock";
    {
        auto lock = FileLock::try_acquire(path, "machine \"n1\"");
        REQUIRE(lock);
        CHECK(std::filesystem::exists(path));
        lock->release_and_remove();
        CHECK_FALSE(std::filesystem::exists(path));
    }
    auto again = FileLock::try_acquire(path, "machine \"n1\"");
    CHECK(again);
}

TEST_CASE("within one process a lock is released when its object goes", "[lock]") {
    TempDir dir;
    const auto path = dir / "x.lock";
    {
        auto lock = FileLock::try_acquire(path, "x");
        REQUIRE(lock);
        // flock locks belong to the open file description: a second open in the same process
        // conflicts too, which is what keeps two threads of a fleet create apart.
        auto same_process = FileLock::try_acquire(path, "x");
        CHECK_FALSE(same_process);
    }
    CHECK(FileLock::try_acquire(path, "x"));
}

TEST_CASE("acquire waits for the holder - and gives up after its timeout naming the holder", "[lock]") {
    TempDir dir;
    const auto path = dir / "shared-base.lock";
    std::optional<FileLock> held;
    {
        auto first = FileLock::try_acquire(path, "the base image");
        REQUIRE(first);
        held.emplace(std::move(*first));
    }
    std::string waited_on;
    auto timed_out = FileLock::acquire(path, "the base image", std::chrono::milliseconds(300),
                                       [&](const std::string& message) { waited_on = message; });
    REQUIRE_FALSE(timed_out);
    CHECK(timed_out.error().kind == ErrorKind::Conflict);
    CHECK(timed_out.error().message.find("pid " + std::to_string(::getpid())) != std::string::npos);
    CHECK(timed_out.error().message.find("waited") != std::string::npos);
    CHECK(waited_on.find("the base image is being changed") != std::string::npos);

    // Released while another thread waits: that thread gets it.
    std::atomic<bool> waiting{false};
    std::thread waiter([&] {
        auto got = FileLock::acquire(path, "the base image", std::chrono::minutes(5),
                                     [&](const std::string&) { waiting = true; });
        CHECK(got);
    });
    while (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    held.reset();
    waiter.join();
}
