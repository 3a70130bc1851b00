#include "output.h"

#include <iostream>
#include <set>
#include <sstream>

namespace berth::cli {
namespace {

/// "\t" and "\n" as typed in a template (a shell passes them as two characters) become a tab
/// and a newline.
std::string unescape_template(std::string format) {
    for (auto [from, to] : {std::pair{"\\t", "\t"}, std::pair{"\\n", "\n"}})
        for (size_t p; (p = format.find(from)) != std::string::npos;) format.replace(p, 2, to);
    return format;
}

std::string upper(std::string text) {
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

}  // namespace

void add_output_flags(CLI::App* sub, OutputFlags& flags, const std::string& json_help, const std::string& format_help) {
    sub->add_flag("--json", flags.json, json_help);
    sub->add_option("-f,--format", flags.format, format_help);
}

void add_quiet_flag(CLI::App* sub, OutputFlags& flags, const std::string& help) {
    sub->add_flag("-q,--quiet", flags.quiet, help);
}

Result<Output> Output::choose(const OutputFlags& flags, OutputOptions options) {
    if (flags.json && !flags.format.empty()) return fail_usage("--json and --format cannot be used together");
    if (flags.quiet && (flags.json || !flags.format.empty()))
        return fail_usage(std::string("-q and ") + (flags.json ? "--json" : "--format") + " cannot be used together");
    Output out;
    out.m_options = std::move(options);
    std::string format = flags.format;
    if (flags.quiet) out.m_mode = Mode::Quiet;
    else if (flags.json || (format.empty() && out.m_options.json_by_default)) out.m_mode = Mode::Json;
    else if (!format.empty() || !out.m_options.default_format.empty()) {
        out.m_mode = Mode::Template;
        if (format.empty()) format = out.m_options.default_format;
    }
    if (out.m_mode != Mode::Template) return out;
    if (!out.m_options.fields.empty() && format.starts_with("table")) {
        out.m_table = true;
        format = format.substr(5);
        while (!format.empty() && format.front() == ' ') format.erase(0, 1);
        while (!format.empty() && format.back() == ' ') format.pop_back();
    }
    auto tmpl = GoTemplate::parse(unescape_template(format) + "\n");
    if (!tmpl) return std::unexpected(tmpl.error());
    out.m_template = std::move(*tmpl);
    return out;
}

std::string Output::json_text(const nlohmann::json& value) const {
    return value.dump(m_options.indent, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<std::string> Output::render(const nlohmann::json& item) const {
    if (!m_template) return std::string();
    return m_template->render(item);
}

Result<void> Output::print_list(const nlohmann::json& items) const {
    std::string out;
    switch (m_mode) {
        case Mode::Plain: return {};
        case Mode::Json: out = json_text(items); break;
        case Mode::Quiet: {  // each name once (a user with a revoked and a new certificate)
            std::set<std::string> seen;
            for (const auto& item : items)
                if (auto name = item.find(m_options.name_key); name != item.end() && name->is_string())
                    if (seen.insert(name->get<std::string>()).second) out += name->get<std::string>() + "\n";
            break;
        }
        case Mode::Template: {
            if (m_table) {
                nlohmann::json headers = nlohmann::json::object();
                for (const auto& field : m_options.fields) {
                    auto given = m_options.headers.find(field);
                    headers[field] = given != m_options.headers.end() ? given->second : upper(field);
                }
                auto line = render(headers);
                if (!line) return std::unexpected(line.error());
                out += *line;
            }
            for (const auto& item : items) {
                auto line = render(item);
                if (!line) return std::unexpected(line.error());
                out += *line;
            }
            if (m_table) out = align_columns(out);
            break;
        }
    }
    std::cout << out;
    return {};
}

Result<void> Output::print_one(const nlohmann::json& item) const {
    if (m_mode != Mode::Json) return print_list(nlohmann::json::array({item}));
    std::cout << json_text(item);
    return {};
}

std::string align_columns(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string> cells;
        size_t start = 0;
        for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
            cells.push_back(line.substr(start, tab - start));
        cells.push_back(line.substr(start));
        rows.push_back(std::move(cells));
    }
    std::vector<size_t> width;
    for (const auto& row : rows)
        for (size_t i = 0; i + 1 < row.size(); ++i) {
            if (width.size() <= i) width.resize(i + 1, 0);
            width[i] = std::max(width[i], std::max<size_t>(row[i].size() + 3, 5));
        }
    std::string out;
    for (const auto& row : rows) {
        for (size_t i = 0; i < row.size(); ++i) {
            out += row[i];
            if (i + 1 < row.size()) out += std::string(width[i] - row[i].size(), ' ');
        }
        out += '\n';
    }
    return out;
}

}  // namespace berth::cli
