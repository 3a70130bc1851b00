#pragma once
// A fresh directory under $TMPDIR (or /tmp) for one test, removed with everything in it.

#include <filesystem>
#include <string>

namespace berth::test {

class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const { return m_path; }
    [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

private:
    std::filesystem::path m_path;
};

/// Writes `content` to `path` (creating parents), for test inputs.
void write_text(const std::filesystem::path& path, const std::string& content);
/// The file's mode bits (e.g. 0600).
[[nodiscard]] unsigned file_mode(const std::filesystem::path& path);

}  // namespace berth::test
