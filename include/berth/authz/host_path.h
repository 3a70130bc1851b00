#pragma once
/// Where a bind mount's source really is on this host. dockerd hands the path to the kernel,
/// which follows every symlink in it; the plugin must judge that place, not the text.

#include <optional>
#include <string>
#include <string_view>

namespace berth::authz {

/// `path` (absolute) resolved as the kernel resolves it on this host: symlinks of the part that
/// exists followed one component at a time (a `..` after a symlink goes up from its target), and
/// the part that does not exist yet (dockerd creates it) appended lexically with `.` and `..`
/// handled. Nothing for a relative path, a NUL byte, more than 40 symlinks, or a component that
/// cannot be examined (permission denied, I/O error).
[[nodiscard]] std::optional<std::string> resolve_host_path(std::string_view path);

/// `path` cleaned lexically, like Go's path.Clean: `//`, `.` and `..` removed ("/a/b/../c" ->
/// "/a/c"; `..` above the root stays at the root).
[[nodiscard]] std::string clean_path(std::string_view path);

/// Whether the absolute clean path `path` is `dir` or below it ("/srv/berth2" is not below
/// "/srv/berth"; everything is below "/").
[[nodiscard]] bool path_within(std::string_view path, std::string_view dir);

}  // namespace berth::authz
