#pragma once
/// The subset of Go's text/template that `ls --format` and `inspect --format` accept, as
/// docker-machine users write it: text with {{.Field}}, {{.A.B}}, {{.}}, {{json .X}} and
/// {{json .}}. Field names match JSON keys ignoring case and underscores, so {{.DriverName}}
/// finds "driver_name". Strings print raw; other values print as compact JSON.

#include <berth/core/error.h>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace berth {

class GoTemplate {
public:
    /// Parses the template; a Usage error points at the bad action.
    [[nodiscard]] static Result<GoTemplate> parse(std::string_view text);

    /// Renders against `data`; a field that does not exist is a Usage error naming the fields
    /// that do.
    [[nodiscard]] Result<std::string> render(const nlohmann::json& data) const;

private:
    struct Piece {
        bool is_action = false;
        bool as_json = false;
        std::string text;                 ///< literal text (when !is_action)
        std::vector<std::string> path;    ///< field path (when is_action); empty = "."
    };
    std::vector<Piece> m_pieces;
};

}  // namespace berth
