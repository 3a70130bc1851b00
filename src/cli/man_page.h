#pragma once
/// berth(1), the man page, generated from the CLI11 tree itself (as `berth completion` is), so it
/// cannot drift from the verbs: the global options, then one subsection per verb and nested verb
/// (`berth image pull`) with its synopsis, help and every option (names, value, default,
/// environment variable, group), plus the sections the tree does not hold (ENVIRONMENT, FILES,
/// EXIT STATUS, SEE ALSO, in mdoc(7)'s conventional order; kept true to docs/cli.md). Every text
/// from the tree goes through roff_escape (roff.h). Hidden verbs (an empty CLI11 group, as
/// `berth man` itself) are left out. Pure: no I/O.

#include <CLI/CLI.hpp>

#include <string>

namespace berth::cli {

/// What the page's title line carries besides the tree.
struct ManPageInfo {
    std::string version;  ///< "0.1.0"
    std::string date;     ///< YYYY-MM-DD as it is; anything else (or "") is escaped as text
};

/// The whole page, man(7) source.
[[nodiscard]] std::string man_page(const CLI::App& root, const ManPageInfo& info);

}  // namespace berth::cli
