#include "test_gpg.h"

#include <berth/process/runner.h>

#include <catch2/catch.hpp>

#include <sstream>
#include <vector>

namespace berth::test {

std::string TestGpg::gpg(std::vector<std::string> args) {
    Command c;
    c.argv = {"gpg", "--homedir", m_home.path().string(), "--batch", "--no-tty", "--pinentry-mode", "loopback",
              "--passphrase", ""};
    c.argv.insert(c.argv.end(), args.begin(), args.end());
    c.timeout = std::chrono::seconds(60);
    ProcessRunner runner;
    auto r = runner.run(c);
    REQUIRE(r);
    INFO(format_argv(c.argv) << "\n" << r->err);
    REQUIRE(r->exit_status == 0);
    return r->out;
}

TestGpg::~TestGpg() {
    ProcessRunner runner;
    Command kill;
    kill.argv = {"gpgconf", "--homedir", m_home.path().string(), "--kill", "gpg-agent"};
    (void)runner.run(kill);
}

std::string TestGpg::make_key(const std::string& uid) {
    gpg({"--quick-generate-key", uid, "ed25519", "sign", "never"});
    std::istringstream lines(gpg({"--with-colons", "--list-keys", uid}));
    bool primary = false;
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("pub:")) primary = true;
        else if (primary && line.starts_with("fpr:")) {
            const auto end = line.rfind(':');
            const auto start = line.rfind(':', end - 1);
            return line.substr(start + 1, end - start - 1);
        }
    }
    FAIL("gpg listed no fingerprint for " << uid);
    return {};
}

void TestGpg::export_keys(const std::string& fingerprints, const std::filesystem::path& to, bool armor) {
    std::vector<std::string> args = {"--output", to.string()};
    if (armor) args.push_back("--armor");
    args.push_back("--export");
    std::istringstream words(fingerprints);
    for (std::string fpr; words >> fpr;) args.push_back(fpr);
    std::filesystem::remove(to);
    gpg(args);
}

void TestGpg::detach_sign(const std::string& fingerprint, const std::filesystem::path& file,
                          const std::filesystem::path& signature) {
    std::filesystem::remove(signature);
    gpg({"--local-user", fingerprint, "--output", signature.string(), "--detach-sign", file.string()});
}

}  // namespace berth::test
