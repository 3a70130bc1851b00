#pragma once
/// Whole-file writes that never leave a half-written file: write a temp file beside the target
/// (same directory, mode set at creation), fsync it, rename it over the target, fsync the
/// directory. A crash at any point leaves either the old file or the new one, never a mix.

#include <berth/core/error.h>

#include <filesystem>
#include <functional>
#include <string_view>

namespace berth {

struct AtomicWriteHooks {
    /// Called after the temp file is written and synced, before the rename. Tests use it to
    /// kill the process at the worst moment.
    std::function<void(const std::filesystem::path& temp)> before_rename;
};

/// Temp files are named ".<target>.tmp.<pid>"; is_temp_file() recognises them so listings can
/// skip (and later writes can sweep) what a crash left behind.
[[nodiscard]] Result<void> write_file_atomic(const std::filesystem::path& target,
                                             std::string_view content, unsigned mode,
                                             const AtomicWriteHooks& hooks = {});

[[nodiscard]] bool is_temp_file(const std::filesystem::path& path);

/// fsyncs the directory itself, so that a rename or unlink in it survives a crash.
[[nodiscard]] Result<void> fsync_dir(const std::filesystem::path& dir);

/// Reads a whole file; NotFound when it does not exist.
[[nodiscard]] Result<std::string> read_file(const std::filesystem::path& path);

/// Creates `dir` (and parents) if needed and sets it to mode 0700.
[[nodiscard]] Result<void> ensure_private_dir(const std::filesystem::path& dir);

}  // namespace berth
