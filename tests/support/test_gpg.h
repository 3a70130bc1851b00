#pragma once
// OpenPGP keys made at test time with the gpg tool in a throw-away GNUPGHOME (no key is committed):
// for the tests of signed checksum files and of the docker-ce repository key check.

#include "temp_dir.h"

#include <filesystem>
#include <string>
#include <vector>

namespace berth::test {

class TestGpg {
public:
    TestGpg() = default;
    /// Stops the gpg-agent that gpg started for this home.
    ~TestGpg();
    TestGpg(const TestGpg&) = delete;
    TestGpg& operator=(const TestGpg&) = delete;

    /// A new ed25519 signing key for `uid`, without a passphrase; returns its fingerprint.
    std::string make_key(const std::string& uid);
    /// The public key(s) `fingerprints` (space-separated), exported to `to`: binary (a keyring
    /// gpgv reads) or ASCII-armored.
    void export_keys(const std::string& fingerprints, const std::filesystem::path& to, bool armor);
    /// A detached binary signature of `file` by `fingerprint`, written to `signature`.
    void detach_sign(const std::string& fingerprint, const std::filesystem::path& file,
                     const std::filesystem::path& signature);

private:
    std::string gpg(std::vector<std::string> args);
    TempDir m_home;
};

}  // namespace berth::test
