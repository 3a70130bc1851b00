#include <berth/core/go_template.h>

#include <cctype>

namespace berth {
namespace {

std::string normalize(std::string_view key) {
    std::string out;
    for (char c : key)
        if (c != '_' && c != '-') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

Result<std::vector<std::string>> parse_path(std::string_view expr, std::string_view action) {
    auto bad = [&] {
        return fail_usage("template: cannot read {{" + std::string(action) + "}}",
                          "use {{.Field}}, {{.Field.Sub}}, {{.}} or {{json .Field}}");
    };
    if (expr.empty() || expr.front() != '.') return bad();
    std::vector<std::string> path;
    if (expr == ".") return path;
    expr.remove_prefix(1);
    while (!expr.empty()) {
        auto dot = expr.find('.');
        std::string_view part = expr.substr(0, dot);
        if (part.empty()) return bad();
        for (char c : part)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return bad();
        path.emplace_back(part);
        if (dot == std::string_view::npos) break;
        expr.remove_prefix(dot + 1);
        if (expr.empty()) return bad();
    }
    return path;
}

}  // namespace

Result<GoTemplate> GoTemplate::parse(std::string_view text) {
    GoTemplate t;
    while (!text.empty()) {
        auto open = text.find("{{");
        if (open == std::string_view::npos) {
            t.m_pieces.push_back({false, false, std::string(text), {}});
            break;
        }
        if (open > 0) t.m_pieces.push_back({false, false, std::string(text.substr(0, open)), {}});
        auto close = text.find("}}", open + 2);
        if (close == std::string_view::npos)
            return fail_usage("template: unclosed action in \"" + std::string(text) + "\"",
                              "every {{ needs a }}");
        std::string_view action = text.substr(open + 2, close - open - 2);
        std::string_view expr = trim(action);
        Piece piece{true, false, {}, {}};
        if (expr.starts_with("json ") || expr.starts_with("json\t")) {
            piece.as_json = true;
            expr = trim(expr.substr(4));
        }
        auto path = parse_path(expr, action);
        if (!path) return std::unexpected(path.error());
        piece.path = std::move(*path);
        t.m_pieces.push_back(std::move(piece));
        text.remove_prefix(close + 2);
    }
    return t;
}

Result<std::string> GoTemplate::render(const nlohmann::json& data) const {
    std::string out;
    for (const auto& piece : m_pieces) {
        if (!piece.is_action) {
            out += piece.text;
            continue;
        }
        const nlohmann::json* node = &data;
        std::string walked;
        for (const auto& field : piece.path) {
            const nlohmann::json* next = nullptr;
            if (node->is_object()) {
                const std::string want = normalize(field);
                for (auto it = node->begin(); it != node->end(); ++it)
                    if (normalize(it.key()) == want) next = &it.value();
            }
            if (next == nullptr) {
                std::string fields;
                if (node->is_object())
                    for (auto it = node->begin(); it != node->end(); ++it)
                        fields += (fields.empty() ? "" : ", ") + it.key();
                return fail_usage("template: no field \"" + field + "\" in ." + walked,
                                  fields.empty() ? "it has no fields" : "fields there: " + fields);
            }
            walked += (walked.empty() ? "" : ".") + field;
            node = next;
        }
        if (piece.as_json) out += node->dump();
        else if (node->is_string()) out += node->get<std::string>();
        else if (node->is_null()) out += "<no value>";
        else out += node->dump();
    }
    return out;
}

}  // namespace berth
