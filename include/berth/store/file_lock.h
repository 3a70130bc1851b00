#pragma once
/// An exclusive advisory lock (flock) on a lock file, held for the object's lifetime. Two berth
/// processes never change the same machine at once: the second one is told who holds the lock.

#include <berth/core/error.h>

#include <chrono>
#include <filesystem>
#include <functional>

namespace berth {

class FileLock {
public:
    /// Takes the lock without waiting. Conflict if another process holds it; the message names
    /// `what` and the holder's pid (written into the lock file by the holder).
    [[nodiscard]] static Result<FileLock> try_acquire(const std::filesystem::path& path,
                                                      std::string_view what);

    /// Takes the lock, waiting (polling) while another process holds it, up to `timeout`; then a
    /// Conflict naming the holder. `on_wait` is called once, with the message that names the
    /// holder, when it has to wait.
    [[nodiscard]] static Result<FileLock> acquire(const std::filesystem::path& path, std::string_view what,
                                                  std::chrono::milliseconds timeout,
                                                  const std::function<void(const std::string& message)>& on_wait = {});

    FileLock(FileLock&& other) noexcept;
    FileLock& operator=(FileLock&& other) noexcept;
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;
    ~FileLock();

    /// Unlinks the lock file, then releases the lock (for `rm`: nothing is left behind). Safe
    /// against a racing process: try_acquire re-checks that the file it locked is still the one
    /// at the path.
    void release_and_remove();

private:
    FileLock(int fd, std::filesystem::path path) : m_fd(fd), m_path(std::move(path)) {}
    int m_fd = -1;
    std::filesystem::path m_path;
};

}  // namespace berth
