#pragma once
/// JSON read the way dockerd's Go decoder reads it, so the plugin sees what dockerd will use:
/// Go matches object keys to struct fields case-insensitively (with the Unicode folds ſ→s and
/// K→k), and the last of two matching keys wins. The plugin refuses such ambiguity instead:
/// parse_go_json fails on two keys of one object that fold to the same name, and go_field finds
/// a key by its folded name.

#include <nlohmann/json.hpp>

#include <expected>
#include <string>
#include <string_view>

namespace berth::authz {

/// `name` folded as Go's encoding/json compares field names: ASCII lower case, U+017F (ſ) as
/// `s` and U+212A (Kelvin sign) as `k`; other bytes unchanged.
[[nodiscard]] std::string go_fold(std::string_view name);

/// One JSON value (nothing but whitespace after it), valid UTF-8, no object with two keys that
/// go_fold to the same name, nested at most 512 deep. Never throws; the error says why.
[[nodiscard]] std::expected<nlohmann::json, std::string> parse_go_json(std::string_view text);

/// The member of `object` whose key go_folds to go_fold(name), or nullptr when there is none, its
/// value is null (Go leaves the field unset) or `object` is not an object.
[[nodiscard]] const nlohmann::json* go_field(const nlohmann::json& object, std::string_view name);

}  // namespace berth::authz
