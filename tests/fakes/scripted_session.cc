#include "scripted_session.h"

#include <cstdio>

namespace berth::test {
namespace {

std::string first_line(std::string_view s) {
    auto nl = s.find('\n');
    return std::string(s.substr(0, nl));
}

std::string mode_text(unsigned mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", mode);
    return buf;
}

}  // namespace

std::string ScriptedSession::Expectation::describe() const {
    switch (kind) {
        case Kind::Run: {
            std::string s = "run containing";
            for (const auto& n : needles) s += " [" + n + "]";
            return s;
        }
        case Kind::Upload: return "upload " + path + " " + mode_text(mode) + " " + owner;
        case Kind::Read: return "read " + path;
    }
    return "?";
}

ScriptedSession& ScriptedSession::expect_run(std::vector<std::string> needles, RemoteResult result) {
    Expectation e{Expectation::Kind::Run, std::move(needles), std::move(result), "", "", 0, "", ""};
    m_expected.push_back(std::move(e));
    return *this;
}

ScriptedSession& ScriptedSession::expect_run_error(std::vector<std::string> needles, std::string message) {
    Expectation e{Expectation::Kind::Run, std::move(needles), {}, std::move(message), "", 0, "", ""};
    m_expected.push_back(std::move(e));
    return *this;
}

ScriptedSession& ScriptedSession::expect_upload(std::string path, unsigned mode, std::string owner) {
    m_expected.push_back({Expectation::Kind::Upload, {}, {}, "", std::move(path), mode, std::move(owner), ""});
    return *this;
}

ScriptedSession& ScriptedSession::expect_read(std::string path, std::string content) {
    m_expected.push_back({Expectation::Kind::Read, {}, {}, "", std::move(path), 0, "", std::move(content)});
    return *this;
}

Error ScriptedSession::unexpected(const std::string& call, const std::string& why) {
    m_failures.push_back(call + ": " + why);
    return Error{ErrorKind::Failed, "scripted session: unexpected " + call + " (" + why + ")", "", {}};
}

Result<RemoteResult> ScriptedSession::run(std::string_view script, std::chrono::seconds) {
    ++m_commands;
    const std::string call = "run: " + first_line(script);
    m_transcript.push_back(call);
    m_scripts.emplace_back(script);
    if (m_expected.empty()) return std::unexpected(unexpected(call, "no more calls were expected"));
    Expectation e = m_expected.front();
    if (e.kind != Expectation::Kind::Run) return std::unexpected(unexpected(call, "expected " + e.describe()));
    for (const auto& needle : e.needles)
        if (script.find(needle) == std::string_view::npos)
            return std::unexpected(unexpected(call, "expected " + e.describe() + "; missing [" + needle + "] in:\n" +
                                                        std::string(script)));
    m_expected.pop_front();
    if (!e.error.empty()) return std::unexpected(Error{ErrorKind::Failed, e.error, "", {}});
    return e.result;
}

Result<void> ScriptedSession::upload_all(const std::vector<FileUpload>& files) {
    if (files.empty()) return {};
    ++m_commands;
    for (std::size_t i = 0; i < files.size(); ++i) {
        const FileUpload& f = files[i];
        const std::string call = "upload: " + f.path + " " + mode_text(f.mode) + " " + f.owner;
        m_transcript.push_back(call);
        auto stop = [&](const std::string& why) {
            return std::unexpected(unexpected(call, why).with(k_files_written, std::to_string(i)));
        };
        if (m_expected.empty()) return stop("no more calls were expected");
        const Expectation& e = m_expected.front();
        if (e.kind != Expectation::Kind::Upload || e.path != f.path || e.mode != f.mode || e.owner != f.owner)
            return stop("expected " + e.describe());
        m_expected.pop_front();
        m_uploaded[f.path] = f.content;
        m_modes[f.path] = f.mode;
    }
    return {};
}

Result<std::string> ScriptedSession::read(const std::string& path) {
    ++m_commands;
    const std::string call = "read: " + path;
    m_transcript.push_back(call);
    if (m_expected.empty()) return std::unexpected(unexpected(call, "no more calls were expected"));
    Expectation e = m_expected.front();
    if (e.kind != Expectation::Kind::Read || e.path != path)
        return std::unexpected(unexpected(call, "expected " + e.describe()));
    m_expected.pop_front();
    return e.content;
}

std::vector<std::string> ScriptedSession::unused() const {
    std::vector<std::string> out;
    for (const auto& e : m_expected) out.push_back(e.describe());
    return out;
}

}  // namespace berth::test
