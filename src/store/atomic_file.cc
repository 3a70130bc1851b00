#include <berth/store/atomic_file.h>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace berth {
namespace fs = std::filesystem;

namespace {

// Removes temp files of this target left by earlier crashed writers (whose pid is gone).
void sweep_stale_temps(const fs::path& target) {
    std::error_code ec;
    const std::string prefix = "." + target.filename().string() + ".tmp.";
    for (fs::directory_iterator it(target.parent_path(), ec), end; !ec && it != end; it.increment(ec)) {
        const fs::directory_entry& entry = *it;
        const std::string name = entry.path().filename().string();
        if (!name.starts_with(prefix)) continue;
        const std::string pid_text = name.substr(prefix.size());
        pid_t pid = static_cast<pid_t>(std::strtol(pid_text.c_str(), nullptr, 10));
        std::error_code remove_ec;  // a temp file that will not go stays; the next write tries again
        if (pid > 0 && pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH)
            fs::remove(entry.path(), remove_ec);
    }
}

}  // namespace

Result<void> fsync_dir(const fs::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail("cannot open directory " + dir.string() + ": " + errno_text(errno));
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return fail("cannot sync directory " + dir.string() + ": " + errno_text(err));
    return {};
}

bool is_temp_file(const fs::path& path) {
    const std::string name = path.filename().string();
    return name.starts_with(".") && name.find(".tmp.") != std::string::npos;
}

Result<void> write_file_atomic(const fs::path& target, std::string_view content, unsigned mode,
                               const AtomicWriteHooks& hooks) {
    const fs::path dir = target.parent_path();
    const fs::path temp = dir / ("." + target.filename().string() + ".tmp." + std::to_string(::getpid()));
    sweep_stale_temps(target);

    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) return fail("cannot write " + target.string() + ": " + errno_text(errno));
    auto abandon = [&](const std::string& what, int err) -> Result<void> {
        ::close(fd);
        ::unlink(temp.c_str());
        return fail("cannot write " + target.string() + ": " + what + ": " + errno_text(err),
                    err == ENOSPC ? "free some disk space and try again" : "");
    };
    // The umask may have narrowed the mode given to open(); set it exactly.
    if (::fchmod(fd, mode) != 0) return abandon("chmod", errno);
    size_t off = 0;
    while (off < content.size()) {
        ssize_t n = ::write(fd, content.data() + off, content.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return abandon("write", errno);
        }
        off += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) return abandon("fsync", errno);
    if (::close(fd) != 0) {
        int err = errno;
        ::unlink(temp.c_str());
        return fail("cannot write " + target.string() + ": close: " + errno_text(err));
    }
    if (hooks.before_rename) hooks.before_rename(temp);
    if (::rename(temp.c_str(), target.c_str()) != 0) {
        int err = errno;
        ::unlink(temp.c_str());
        return fail("cannot replace " + target.string() + ": " + errno_text(err));
    }
    return fsync_dir(dir);
}

Result<std::string> read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        int err = errno;
        if (err == ENOENT) return fail_kind(ErrorKind::NotFound, path.string() + " does not exist");
        return fail("cannot read " + path.string() + ": " + errno_text(err));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return fail("cannot read " + path.string());
    return ss.str();
}

Result<void> ensure_private_dir(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return fail("cannot create directory " + dir.string() + ": " + ec.message());
    if (::chmod(dir.c_str(), 0700) != 0)
        return fail("cannot set mode 0700 on " + dir.string() + ": " + errno_text(errno));
    return {};
}

}  // namespace berth
