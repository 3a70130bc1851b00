#pragma once
/// CSV as RFC 4180 writes it, for the users file of a fleet spec (docs/fleet.md): fields split
/// by ',', a field in double quotes may hold ',', a line break and "" (one quote). Lines end in
/// LF or CRLF; a UTF-8 byte-order mark at the start is skipped; empty lines are skipped. Every
/// row keeps the line it starts on, so errors name FILE:LINE. (Debian's libcsv does not report
/// lines, hence this small reader; tests/fuzz/fuzz_csv.cc fuzzes it.)

#include <berth/core/error.h>

#include <string>
#include <string_view>
#include <vector>

namespace berth {

struct CsvRow {
    int line = 0;                     ///< 1-based line the row starts on
    std::vector<std::string> fields;
};

/// The rows of `text`; a Usage error "ORIGIN:LINE: ..." for a stray or unclosed quote.
[[nodiscard]] Result<std::vector<CsvRow>> parse_csv(std::string_view text, std::string_view origin);

}  // namespace berth
