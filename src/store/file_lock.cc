#include <berth/store/file_lock.h>

#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <thread>

namespace berth {

Result<FileLock> FileLock::try_acquire(const std::filesystem::path& path, std::string_view what) {
    for (int attempt = 0; attempt < 10; ++attempt) {
        int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) return fail("cannot open lock file " + path.string() + ": " + errno_text(errno));
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int err = errno;
            std::string holder;
            char buf[32] = {};
            ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
            if (n > 0) holder = std::string(buf, static_cast<size_t>(n));
            while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
            ::close(fd);
            if (err != EWOULDBLOCK)
                return fail("cannot lock " + path.string() + ": " + errno_text(err));
            return fail_kind(ErrorKind::Conflict,
                             std::string(what) + " is being changed by another berth process" +
                                 (holder.empty() ? "" : " (pid " + holder + ")"),
                             "wait for it to finish and try again");
        }
        // The holder before us may have unlinked the file (rm) after we opened it: then we hold
        // a lock on a file nobody else will see. Check the path still names our inode.
        struct stat by_fd{}, by_path{};
        if (::fstat(fd, &by_fd) == 0 && ::stat(path.c_str(), &by_path) == 0 &&
            by_fd.st_ino == by_path.st_ino && by_fd.st_dev == by_path.st_dev) {
            std::string pid = std::to_string(::getpid()) + "\n";
            if (::ftruncate(fd, 0) == 0) {
                ssize_t ignored = ::pwrite(fd, pid.data(), pid.size(), 0);
                (void)ignored;
            }
            return FileLock(fd, path);
        }
        ::close(fd);
    }
    return fail_kind(ErrorKind::Conflict, "cannot lock " + std::string(what) + ": the lock file keeps changing",
                     "another berth process is creating and removing it; try again");
}

Result<FileLock> FileLock::acquire(const std::filesystem::path& path, std::string_view what,
                                   std::chrono::milliseconds timeout,
                                   const std::function<void(const std::string& message)>& on_wait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool told = false;
    for (;;) {
        auto lock = try_acquire(path, what);
        if (lock || lock.error().kind != ErrorKind::Conflict) return lock;
        if (std::chrono::steady_clock::now() >= deadline) {
            Error e = lock.error();
            e.message += " (waited " + std::to_string(timeout.count() / 1000) + " s)";
            return std::unexpected(e);
        }
        if (!told && on_wait) on_wait(lock.error().message);
        told = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

FileLock::FileLock(FileLock&& other) noexcept : m_fd(other.m_fd), m_path(std::move(other.m_path)) {
    other.m_fd = -1;
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
    if (this != &other) {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = other.m_fd;
        m_path = std::move(other.m_path);
        other.m_fd = -1;
    }
    return *this;
}

FileLock::~FileLock() {
    if (m_fd >= 0) ::close(m_fd);
}

void FileLock::release_and_remove() {
    if (m_fd < 0) return;
    ::unlink(m_path.c_str());
    ::close(m_fd);
    m_fd = -1;
}

}  // namespace berth
