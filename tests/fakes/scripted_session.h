#pragma once
// A Session that replays an expected, ordered transcript: each call must match the next
// expectation (a run whose script contains given text, an upload of a given path, mode and owner -
// each file of an upload_all is one, a read of a given path). An unexpected call fails the call and is recorded; expectations left
// unused are reported by unused(). Tests check both, so a plan that does more or less than
// expected fails.

#include <berth/transport/session.h>

#include <deque>
#include <map>
#include <string>
#include <vector>

namespace berth::test {

class ScriptedSession final : public Session {
public:
    /// Expects a run() whose script contains every one of `needles`; answers `result`.
    ScriptedSession& expect_run(std::vector<std::string> needles, RemoteResult result = {0, "", ""});
    /// Expects a run() that fails as a lost connection would.
    ScriptedSession& expect_run_error(std::vector<std::string> needles, std::string message);
    ScriptedSession& expect_upload(std::string path, unsigned mode, std::string owner = "root:root");
    ScriptedSession& expect_read(std::string path, std::string content);

    Result<RemoteResult> run(std::string_view script, std::chrono::seconds timeout) override;
    /// Matches each file with the next expect_upload, in order, and stops at the first that does
    /// not (its error has k_files_written, as LibsshSession's); the whole batch counts one command.
    Result<void> upload_all(const std::vector<FileUpload>& files) override;
    Result<std::string> read(const std::string& path) override;
    /// Runs, upload_alls (one each, whatever the number of files) and reads made so far, as
    /// LibsshSession counts its channels.
    int channels_opened() const override { return m_commands; }
    std::string host_key_fingerprint() const override { return m_fingerprint; }
    ScriptedSession& set_host_key_fingerprint(std::string fp) {
        m_fingerprint = std::move(fp);
        return *this;
    }

    [[nodiscard]] const std::vector<std::string>& failures() const { return m_failures; }
    [[nodiscard]] std::vector<std::string> unused() const;
    /// Every call made, one line each ("run: <first line>", "upload: <path> 0644 root:root" for
    /// each file of an upload_all).
    [[nodiscard]] const std::vector<std::string>& transcript() const { return m_transcript; }
    /// What was uploaded, by path (the last upload wins).
    [[nodiscard]] const std::map<std::string, std::string>& uploaded() const { return m_uploaded; }
    [[nodiscard]] std::map<std::string, unsigned> uploaded_modes() const { return m_modes; }
    /// The scripts run, in order.
    [[nodiscard]] const std::vector<std::string>& scripts() const { return m_scripts; }

private:
    struct Expectation {
        enum class Kind { Run, Upload, Read } kind;
        std::vector<std::string> needles;
        RemoteResult result;
        std::string error;
        std::string path;
        unsigned mode = 0;
        std::string owner;
        std::string content;
        [[nodiscard]] std::string describe() const;
    };
    Error unexpected(const std::string& call, const std::string& why);

    std::deque<Expectation> m_expected;
    std::vector<std::string> m_failures;
    std::vector<std::string> m_transcript;
    std::vector<std::string> m_scripts;
    std::map<std::string, std::string> m_uploaded;
    std::map<std::string, unsigned> m_modes;
    std::string m_fingerprint = "SHA256:scripted-host-key";
    int m_commands = 0;
};

}  // namespace berth::test
