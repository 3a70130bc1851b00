#include <berth/core/csv.h>

namespace berth {
namespace {

struct CsvReader {
    std::string_view text;
    std::string_view origin;
    std::size_t pos = 0;
    int line = 1;

    [[nodiscard]] bool at_end() const { return pos >= text.size(); }
    [[nodiscard]] bool at_line_end() const {
        return at_end() || text[pos] == '\n' || (text[pos] == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n');
    }
    void skip_line_end() {
        if (at_end()) return;
        pos += text[pos] == '\r' ? 2 : 1;
        ++line;
    }
    std::unexpected<Error> error(int at, const std::string& what) const {
        return fail_usage(std::string(origin) + ":" + std::to_string(at) + ": " + what,
                          "write the file as RFC 4180 CSV: a field holding a quote, comma or line break is "
                          "written in double quotes, with each quote in it doubled");
    }

    /// A field in quotes, from the opening quote to the ',' or line end after the closing one.
    Result<std::string> quoted() {
        const int start = line;
        std::string field;
        ++pos;
        for (;;) {
            if (at_end()) return error(start, "a quoted field is not closed");
            const char c = text[pos++];
            if (c == '"') {
                if (!at_end() && text[pos] == '"') {
                    field += '"';
                    ++pos;
                    continue;
                }
                if (!at_end() && text[pos] != ',' && !at_line_end())
                    return error(line, "text after the closing quote of a field");
                return field;
            }
            if (c == '\n') ++line;
            field += c;
        }
    }

    Result<std::string> plain() {
        std::string field;
        while (!at_end() && text[pos] != ',' && !at_line_end()) {
            if (text[pos] == '"') return error(line, "a quote inside a field that does not start with one");
            field += text[pos++];
        }
        return field;
    }

    Result<CsvRow> row() {
        CsvRow out{line, {}};
        for (;;) {
            auto field = (!at_end() && text[pos] == '"') ? quoted() : plain();
            if (!field) return std::unexpected(field.error());
            out.fields.push_back(std::move(*field));
            if (!at_end() && text[pos] == ',') {
                ++pos;
                continue;
            }
            skip_line_end();
            return out;
        }
    }
};

}  // namespace

Result<std::vector<CsvRow>> parse_csv(std::string_view text, std::string_view origin) {
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
    CsvReader reader{text, origin};
    std::vector<CsvRow> rows;
    while (!reader.at_end()) {
        if (reader.at_line_end()) {
            reader.skip_line_end();
            continue;
        }
        auto row = reader.row();
        if (!row) return std::unexpected(row.error());
        rows.push_back(std::move(*row));
    }
    return rows;
}

}  // namespace berth
