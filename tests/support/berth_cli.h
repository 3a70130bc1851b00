#pragma once
// The real berth binary run as a user runs it, for the integration tests: its own temp
// directory and store (BERTH_STORAGE_PATH), PATH starting with the binary's directory, a bash
// SHELL, and none of the user's Docker variables. Header-only: BERTH_BINARY is the including
// test target's definition.

#include <berth/process/runner.h>

#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::test {

struct BerthCli {
    TempDir dir;
    std::map<std::string, std::string> env;
    std::filesystem::path store_path;
    std::optional<std::filesystem::path> cwd;  ///< where berth runs; the test's own cwd if unset
    std::chrono::seconds timeout{60};

    explicit BerthCli(const std::string& store_name = "store") : store_path(dir / store_name) {
        const std::filesystem::path bin(BERTH_BINARY);
        const char* path = std::getenv("PATH");
        env["PATH"] = bin.parent_path().string() + ":" + (path ? path : "/usr/bin:/bin");
        env["BERTH_STORAGE_PATH"] = store_path.string();
        env["SHELL"] = "/bin/bash";
    }
    [[nodiscard]] const std::filesystem::path& store() const { return store_path; }

    /// `berth ARGS…` with `input` on stdin; its exit status and output.
    CommandResult run(std::vector<std::string> args, std::optional<std::string> input = std::nullopt) {
        Command c;
        c.argv = {"berth"};
        c.argv.insert(c.argv.end(), args.begin(), args.end());
        c.env_set = env;
        c.env_unset = {"DOCKER_HOST", "NO_PROXY", "no_proxy", "DOCKER_CERT_PATH"};
        if (cwd) c.cwd = cwd->string();
        c.stdin_data = std::move(input);
        c.timeout = timeout;
        ProcessRunner runner;
        auto r = runner.run(c);
        REQUIRE(r);
        return *r;
    }
};

}  // namespace berth::test
