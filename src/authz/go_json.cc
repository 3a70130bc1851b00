#include <berth/authz/go_json.h>

#include <set>
#include <vector>

namespace berth::authz {

std::string go_fold(std::string_view name) {
    std::string out;
    out.reserve(name.size());
    for (std::size_t i = 0; i < name.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(name[i]);
        if (c >= 'A' && c <= 'Z') {
            out += static_cast<char>(c - 'A' + 'a');
        } else if (name.substr(i, 2) == "\xC5\xBF") {  // U+017F LATIN SMALL LETTER LONG S
            out += 's';
            i += 1;
        } else if (name.substr(i, 3) == "\xE2\x84\xAA") {  // U+212A KELVIN SIGN
            out += 'k';
            i += 2;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::expected<nlohmann::json, std::string> parse_go_json(std::string_view text) {
    constexpr int k_max_depth = 512;
    std::vector<std::set<std::string>> keys;  // the folded keys of each open object
    std::string problem;
    auto check = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        using E = nlohmann::json::parse_event_t;
        if (depth > k_max_depth && problem.empty()) problem = "nested deeper than 512";
        if (event == E::object_start) keys.emplace_back();
        if (event == E::object_end && !keys.empty()) keys.pop_back();
        if (event == E::key && !keys.empty() && parsed.is_string()) {
            const auto& key = parsed.get_ref<const std::string&>();
            if (!keys.back().insert(go_fold(key)).second && problem.empty())
                problem = "an object has the key \"" + key + "\" twice (keys compare ignoring case)";
        }
        return true;
    };
    try {
        auto value = nlohmann::json::parse(text.begin(), text.end(), check, true, false);
        if (!problem.empty()) return std::unexpected(problem);
        return value;
    } catch (const nlohmann::json::exception& e) {
        return std::unexpected(std::string("not JSON: ") + e.what());
    } catch (const std::exception& e) {
        return std::unexpected(std::string("cannot read the JSON: ") + e.what());
    }
}

const nlohmann::json* go_field(const nlohmann::json& object, std::string_view name) {
    if (!object.is_object()) return nullptr;
    const std::string folded = go_fold(name);
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (go_fold(it.key()) != folded) continue;
        return it.value().is_null() ? nullptr : &it.value();
    }
    return nullptr;
}

}  // namespace berth::authz
