#pragma once
/// roff, the language of man pages (man(7), groff(7)): text from the CLI definition (a verb's help,
/// an option's name) as roff source that groff and mandoc print as exactly that text. Pure.

#include <string>
#include <string_view>

namespace berth::cli {

/// `text` as one line of roff, safe both as a text line and inside a double-quoted macro argument
/// (`.SS "…"`, `.TP` items): `\` becomes `\e`, `-` `\-` (a minus, so options copy as typed), `'`
/// `\(aq`, `` ` `` `\(ga` and `"` `\(dq` (printed as the ASCII characters, never as curly quotes,
/// and never ending an argument); a newline or tab becomes a space (roff fills text anyway), any
/// other control character a visible `\xNN`; a leading `.` or space is preceded by `\&`, so the
/// line is never read as a request or as a break. Other bytes (UTF-8) pass as they are.
[[nodiscard]] std::string roff_escape(std::string_view text);

}  // namespace berth::cli
