#pragma once
/// Download progress for people: on a terminal one line redrawn in place (bar, percent, bytes,
/// rate); when stderr is a pipe or a file, a plain line every 10% (every 64 MiB when the size
/// is unknown), so that logs stay readable.

#include <berth/image/download.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace berth {

/// Progress of `label` on stderr, in the terminal form when isatty(stderr).
[[nodiscard]] ProgressFn make_progress_printer(std::string label);

/// The same on `out`, in the terminal form when `terminal` (for tests).
[[nodiscard]] ProgressFn make_progress_printer(std::string label, std::FILE* out, bool terminal);

/// "322.5 MiB", "812 B": sizes as berth shows them (IEC units, one decimal above KiB).
[[nodiscard]] std::string human_bytes(std::uint64_t bytes);

}  // namespace berth
