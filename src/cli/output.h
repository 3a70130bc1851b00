#pragma once
/// How a verb prints what it found, the same way in every verb that has the flags: its own plain
/// text by default, `--json` (the items as JSON: an array for a verb that lists, the one object
/// for a verb about one machine), `-f/--format TEMPLATE` (a Go-style template, core/go_template.h,
/// per item, each followed by a newline; `\t` and `\n` in it are a tab and a newline; where the
/// verb names its fields, `table ` in front aligns the columns under a header row), or `-q` (a
/// list's names, each once, one a line). `--json` with `--format`, and `-q` with either, are usage
/// errors (exit 2), found before the verb does any work. A verb builds each item as a JSON object
/// and hands it here.

#include <berth/core/error.h>
#include <berth/core/go_template.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::cli {

/// What the user asked for on the command line.
struct OutputFlags {
    bool json = false;
    std::string format;
    bool quiet = false;
};

/// Adds `--json` and `-f,--format TEMPLATE` to `sub` with these help texts.
void add_output_flags(CLI::App* sub, OutputFlags& flags, const std::string& json_help, const std::string& format_help);
/// Adds `-q,--quiet` (a list verb's names only).
void add_quiet_flag(CLI::App* sub, OutputFlags& flags, const std::string& help);

/// What a verb prints with neither flag, and how its items are named.
struct OutputOptions {
    std::string default_format;            ///< a template to use with neither flag (ls's table); "" = the verb's own text
    bool json_by_default = false;          ///< neither flag prints JSON (inspect)
    int indent = 2;                        ///< spaces per level of the JSON
    std::string name_key = "Name";         ///< the field `-q` prints
    std::vector<std::string> fields;       ///< an item's fields: a `table ` template's header row (none: no tables)
    std::map<std::string, std::string> headers;  ///< a column's header where it is not its field in capitals
};

/// The form chosen for one run: checked and its template parsed up front.
class Output {
public:
    /// Fails with a usage error for `--json` with `--format`, `-q` with either, or a bad template.
    [[nodiscard]] static Result<Output> choose(const OutputFlags& flags, OutputOptions options = {});

    /// Neither flag nor a default: the verb prints its own text.
    [[nodiscard]] bool plain() const { return m_mode == Mode::Plain; }
    /// The template over one item, with its newline (template mode only; else empty).
    [[nodiscard]] Result<std::string> render(const nlohmann::json& item) const;
    /// A list: the JSON array, the template per item (a table: aligned, under its header row), or
    /// the names; written to stdout.
    [[nodiscard]] Result<void> print_list(const nlohmann::json& items) const;
    /// One item: the JSON object or the template once; written to stdout.
    [[nodiscard]] Result<void> print_one(const nlohmann::json& item) const;

private:
    enum class Mode { Plain, Json, Template, Quiet };
    Mode m_mode = Mode::Plain;
    OutputOptions m_options;
    std::optional<GoTemplate> m_template;
    bool m_table = false;

    [[nodiscard]] std::string json_text(const nlohmann::json& value) const;
};

/// Go's text/tabwriter as docker-machine uses it (minwidth 5, padding 3): tab-ended cells are
/// aligned in columns; a line's last cell is not padded.
[[nodiscard]] std::string align_columns(const std::string& text);

}  // namespace berth::cli
