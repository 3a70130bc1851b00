#include <berth/authz/host_path.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <vector>

namespace berth::authz {
namespace {

std::deque<std::string> components(std::string_view path) {
    std::deque<std::string> out;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        if (end > start) out.emplace_back(path.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

// "" stands for the root while building; "/a/b" -> "/a".
void pop_component(std::string& path) {
    const auto slash = path.rfind('/');
    path.erase(slash == std::string::npos ? 0 : slash);
}

std::optional<std::string> read_link(const std::string& path) {
    std::vector<char> buf(4096);
    const ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
    if (n <= 0 || static_cast<std::size_t>(n) >= buf.size()) return std::nullopt;
    return std::string(buf.data(), static_cast<std::size_t>(n));
}

}  // namespace

std::string clean_path(std::string_view path) {
    std::string out;
    for (const auto& c : components(path)) {
        if (c == ".") continue;
        if (c == "..") pop_component(out);
        else out += "/" + c;
    }
    return out.empty() ? "/" : out;
}

std::optional<std::string> resolve_host_path(std::string_view path) {
    if (!path.starts_with('/') || path.find('\0') != std::string_view::npos) return std::nullopt;
    std::deque<std::string> todo = components(path);
    std::string resolved;  // "" is the root
    bool exists = true;
    int links = 0;
    while (!todo.empty()) {
        std::string c = std::move(todo.front());
        todo.pop_front();
        if (c == ".") continue;
        if (c == "..") {
            pop_component(resolved);
            continue;
        }
        const std::string candidate = resolved + "/" + c;
        if (exists) {
            struct stat st {};
            if (::lstat(candidate.c_str(), &st) != 0) {
                if (errno != ENOENT && errno != ENOTDIR) return std::nullopt;
                exists = false;
            } else if (S_ISLNK(st.st_mode)) {
                auto target = read_link(candidate);
                if (!target || ++links > 40) return std::nullopt;
                auto more = components(*target);
                todo.insert(todo.begin(), more.begin(), more.end());
                if (target->starts_with('/')) resolved.clear();
                continue;
            } else if (!S_ISDIR(st.st_mode) && !todo.empty()) {
                exists = false;  // a file with more after it: the kernel fails, dockerd's mkdir too
            }
        }
        resolved = candidate;
    }
    return resolved.empty() ? "/" : resolved;
}

bool path_within(std::string_view path, std::string_view dir) {
    if (dir == "/") return true;
    return path == dir || (path.starts_with(dir) && path.size() > dir.size() && path[dir.size()] == '/');
}

}  // namespace berth::authz
