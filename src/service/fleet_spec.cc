// The fleet spec (docs/fleet.md): YAML through yaml-cpp into one CreateRequest per machine.
// Settings are kept as strings with the place they were written until the machine's three levels
// (defaults, group, machine) are merged; then each goes through create's own key table
// (create_keys.h) or the driver table, and the whole request through create's validator.

#include <berth/service/fleet_spec.h>

#include <berth/core/csv.h>
#include <berth/core/machine_name.h>
#include <berth/service/create_keys.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

namespace berth {

std::string SpecMark::str() const {
    if (line <= 0) return file;
    if (column <= 0) return file + ":" + std::to_string(line);
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

namespace {

/// Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i)
        for (std::size_t j = 1; j <= b.size(); ++j) {
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}

}  // namespace

std::string did_you_mean(std::string_view word, std::span<const std::string> candidates) {
    std::string best;
    std::size_t best_distance = std::max<std::size_t>(1, std::min<std::size_t>(3, word.size() / 3)) + 1;
    for (const auto& c : candidates) {
        const std::size_t d = edit_distance(word, c);
        if (d < best_distance) {
            best = c;
            best_distance = d;
        }
    }
    if (!best.empty() || word.size() < 3) return best;
    // "cpu-count" for "libvirt-cpu-count": a driver's option written without its driver.
    for (const auto& c : candidates)
        if (c.size() > word.size() && c.ends_with(word) && c[c.size() - word.size() - 1] == '-') return c;
    return {};
}

namespace {

namespace fs = std::filesystem;

/// One setting as written: its values (one unless a list) and where.
struct Setting {
    std::vector<std::string> values;
    SpecMark mark;
};
using Settings = std::map<std::string, Setting>;

/// A machine a group names, before its settings are merged.
struct Named {
    std::string name;
    SpecMark mark;
    std::map<std::string, std::string> fields;
};

const std::vector<std::string> k_top_keys = {"version", "fleet", "parallel", "package-parallel", "bundles-dir",
                                              "defaults", "groups", "swarm"};
const std::vector<std::string> k_group_keys = {"name",       "names",     "count",     "pattern",
                                               "users",      "user-field", "user-role", "machines"};

struct DriverKey {
    const DriverInfo* driver = nullptr;
    const DriverOption* option = nullptr;
};

class SpecParser {
public:
    SpecParser(const fs::path& origin, std::span<const DriverInfo> drivers, const CreateValidator& validate)
        : m_file(origin.string()), m_validate(validate) {
        std::error_code ec;
        m_base = fs::absolute(origin, ec).parent_path();
        m_setting_keys = {"driver", "context"};
        for (const auto& key : create_keys()) m_setting_keys.push_back(key.name);
        for (const auto& info : drivers) m_provisions[info.name] = info.provisions;
        for (const auto& info : drivers)
            for (const auto& option : info.options) {
                std::string key = option_flag(info.name, option).substr(2);
                m_driver_keys.emplace(key, DriverKey{&info, &option});
                m_setting_keys.push_back(std::move(key));
            }
    }

    Result<FleetSpec> parse(std::string_view text);

private:
    SpecMark mark(const YAML::Node& node, const SpecMark& fallback = {}) const {
        const YAML::Mark m = node.Mark();
        if (m.line < 0) return fallback.file.empty() ? SpecMark{m_file, 0, 0} : fallback;
        return SpecMark{m_file, m.line + 1, m.column + 1};
    }
    static std::unexpected<Error> at(const SpecMark& where, const std::string& what, std::string hint = {}) {
        return fail_usage(where.str() + ": " + what, std::move(hint));
    }
    static std::unexpected<Error> at(const SpecMark& where, Error e) {
        e.message = where.str() + ": " + e.message;
        return std::unexpected(std::move(e));
    }
    std::unexpected<Error> unknown_key(const YAML::Node& key, std::span<const std::string> known) const {
        const std::string word = key.Scalar();
        const std::string near = did_you_mean(word, known);
        return at(mark(key), "unknown key \"" + word + "\"" + (near.empty() ? "" : " (did you mean \"" + near + "\"?)"),
                  "docs/fleet.md lists every key");
    }
    fs::path resolve(const std::string& path) const { return path.empty() ? fs::path() : (m_base / path).lexically_normal(); }

    Result<std::string> scalar(const YAML::Node& node, const std::string& key, const SpecMark& place) const;
    Result<int> whole(const YAML::Node& node, const std::string& key, const SpecMark& place, int min) const;
    Result<Setting> setting(const std::string& key, const YAML::Node& value, const SpecMark& place) const;
    Result<Settings> settings_map(const YAML::Node& node, const SpecMark& place,
                                  std::span<const std::string> extra_keys) const;
    Result<void> top_level(const YAML::Node& root, FleetSpec& spec, Settings& defaults, YAML::Node& groups,
                           YAML::Node& swarm, SpecMark& swarm_place) const;
    Result<void> swarm_section(const YAML::Node& node, const SpecMark& place, FleetSpec& spec) const;
    Result<std::vector<Named>> names_of(const YAML::Node& group, const SpecMark& place) const;
    Result<std::vector<Named>> from_names(const YAML::Node& names, const SpecMark& place) const;
    Result<std::vector<Named>> from_pattern(const YAML::Node& group, const SpecMark& place) const;
    Result<std::vector<Named>> from_users(const YAML::Node& group, const SpecMark& place) const;
    Result<void> group(const YAML::Node& node, const Settings& defaults, FleetSpec& spec);
    Result<FleetMachineSpec> machine(const Named& named, const std::string& group, const Settings& merged) const;
    Result<void> apply_setting(FleetMachineSpec& out, const std::string& key, const Setting& setting,
                               const Named& named) const;

    std::string m_file;
    fs::path m_base;
    const CreateValidator& m_validate;
    std::vector<std::string> m_setting_keys;
    std::map<std::string, DriverKey> m_driver_keys;
    std::map<std::string, SpecMark> m_seen;  ///< machine name -> where first named
    std::map<std::string, bool> m_provisions;  ///< driver -> berth provisions its machines
    std::set<std::string> m_groups;
};

Result<std::string> SpecParser::scalar(const YAML::Node& node, const std::string& key, const SpecMark& place) const {
    if (node.IsNull()) return at(mark(node, place), key + ": needs a value");
    if (!node.IsScalar()) return at(mark(node, place), key + ": needs a single value, not a list or a map");
    return node.Scalar();
}

Result<int> SpecParser::whole(const YAML::Node& node, const std::string& key, const SpecMark& place, int min) const {
    auto text = scalar(node, key, place);
    if (!text) return std::unexpected(text.error());
    int n = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
    if (ec != std::errc{} || end != text->data() + text->size() || n < min)
        return at(mark(node, place), key + ": \"" + *text + "\" is not a whole number of at least " + std::to_string(min));
    return n;
}

/// One setting's value, checked against its key's type.
Result<Setting> SpecParser::setting(const std::string& key, const YAML::Node& value, const SpecMark& place) const {
    OptionType type = OptionType::String;
    if (key == "context") type = OptionType::Bool;
    if (const CreateKey* k = find_create_key(key)) type = k->type;
    if (auto it = m_driver_keys.find(key); it != m_driver_keys.end()) type = it->second.option->type;
    Setting out{{}, mark(value, place)};
    if (type == OptionType::StringList) {
        if (value.IsSequence()) {
            for (const auto& item : value) {
                auto text = scalar(item, key, out.mark);
                if (!text) return std::unexpected(text.error());
                out.values.push_back(*text);
            }
            return out;
        }
        // A single value is a list of one (docs/fleet.md).
    }
    if (type == OptionType::Int) {
        auto n = whole(value, key, place, 0);
        if (!n) return std::unexpected(n.error());
        out.values = {std::to_string(*n)};
        return out;
    }
    auto text = scalar(value, key, place);
    if (!text) return std::unexpected(text.error());
    if (type == OptionType::Bool) {
        bool b = false;
        if (!YAML::convert<bool>::decode(value, b))
            return at(out.mark, key + ": \"" + *text + "\" is not true or false");
        out.values = {b ? "true" : "false"};
        return out;
    }
    out.values = {*text};
    return out;
}

/// The settings of a map (defaults, a group, a machine), skipping `extra_keys` (a group's own).
Result<Settings> SpecParser::settings_map(const YAML::Node& node, const SpecMark& place,
                                          std::span<const std::string> extra_keys) const {
    if (node.IsNull()) return Settings{};
    if (!node.IsMap()) return at(mark(node, place), "needs a map of settings (key: value)");
    std::vector<std::string> known = m_setting_keys;
    known.insert(known.end(), extra_keys.begin(), extra_keys.end());
    Settings out;
    for (const auto& kv : node) {
        const std::string key = kv.first.Scalar();
        if (std::find(extra_keys.begin(), extra_keys.end(), key) != extra_keys.end()) continue;
        if (std::find(m_setting_keys.begin(), m_setting_keys.end(), key) == m_setting_keys.end())
            return unknown_key(kv.first, known);
        auto value = setting(key, kv.second, mark(kv.first));
        if (!value) return std::unexpected(value.error());
        out[key] = std::move(*value);
    }
    return out;
}

Result<void> SpecParser::top_level(const YAML::Node& root, FleetSpec& spec, Settings& defaults,
                                   YAML::Node& groups, YAML::Node& swarm, SpecMark& swarm_place) const {
    const SpecMark top{m_file, 1, 1};
    bool has_version = false;
    for (const auto& kv : root) {
        const std::string key = kv.first.Scalar();
        const SpecMark place = mark(kv.first);
        if (std::find(k_top_keys.begin(), k_top_keys.end(), key) == k_top_keys.end()) return unknown_key(kv.first, k_top_keys);
        if (key == "version") {
            auto v = whole(kv.second, key, place, 0);
            if (!v) return std::unexpected(v.error());
            if (*v != 1) return at(mark(kv.second, place), "version " + std::to_string(*v) + " is not known",
                                   "this berth reads version: 1");
            has_version = true;
        } else if (key == "fleet") {
            auto v = scalar(kv.second, key, place);
            if (!v) return std::unexpected(v.error());
            if (auto ok = validate_machine_name(*v); !ok) return at(mark(kv.second, place), "fleet: " + ok.error().message,
                                                                   ok.error().hint);
            spec.fleet = *v;
        } else if (key == "parallel" || key == "package-parallel") {
            auto v = whole(kv.second, key, place, 1);
            if (!v) return std::unexpected(v.error());
            (key == "parallel" ? spec.parallel : spec.package_parallel) = *v;
        } else if (key == "bundles-dir") {
            auto v = scalar(kv.second, key, place);
            if (!v) return std::unexpected(v.error());
            spec.bundles_dir = resolve(*v);
        } else if (key == "defaults") {
            auto s = settings_map(kv.second, place, {});
            if (!s) return std::unexpected(s.error());
            defaults = std::move(*s);
        } else if (key == "swarm") {
            swarm = kv.second;
            swarm_place = place;
        } else {
            groups = kv.second;
        }
    }
    if (!has_version) return at(top, "no version key", "start the spec with version: 1");
    if (spec.fleet.empty()) return at(top, "no fleet key", "name the fleet: fleet: my-fleet (a machine name's syntax)");
    if (!groups || !groups.IsSequence() || groups.size() == 0)
        return at(groups ? mark(groups, top) : top, "groups: needs a list of at least one group");
    return {};
}

Result<std::vector<Named>> SpecParser::names_of(const YAML::Node& group, const SpecMark& place) const {
    const bool names = bool(group["names"]);
    const bool users = bool(group["users"]);
    const bool pattern = bool(group["pattern"]) || bool(group["count"]);
    if (int(names) + int(users) + int(pattern && !users) != 1)
        return at(place, "a group names its machines by exactly one of names:, count:/pattern: or users:",
                  "see \"Naming machines\" in docs/fleet.md");
    if (names) return from_names(group["names"], place);
    if (users) {
        if (group["count"]) return at(mark(group["count"], place), "count: does not go with users: (one machine per row)");
        return from_users(group, place);
    }
    return from_pattern(group, place);
}

Result<std::vector<Named>> SpecParser::from_names(const YAML::Node& names, const SpecMark& place) const {
    if (!names.IsSequence() || names.size() == 0) return at(mark(names, place), "names: needs a list of machine names");
    std::vector<Named> out;
    for (const auto& item : names) {
        auto name = scalar(item, "names", place);
        if (!name) return std::unexpected(name.error());
        const SpecMark where = mark(item, place);
        if (auto ok = validate_machine_name(*name); !ok) return at(where, ok.error());
        out.push_back({*name, where, {}});
    }
    return out;
}

/// Replaces each {field} of `text` with the field's value; "{{" and "}}" are literal braces.
Result<std::string> substitute(std::string_view text, const std::map<std::string, std::string>& fields) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
            out += c;
            ++i;
            continue;
        }
        if (c == '}') return fail_usage("\"" + std::string(text) + "\": a '}' without its '{'", "write }} for a brace");
        if (c != '{') {
            out += c;
            continue;
        }
        const auto close = text.find('}', i);
        if (close == std::string_view::npos)
            return fail_usage("\"" + std::string(text) + "\": a '{' without its '}'", "write {{ for a brace");
        const std::string field(text.substr(i + 1, close - i - 1));
        auto it = fields.find(field);
        if (it == fields.end()) {
            std::string known;
            for (const auto& [k, v] : fields) known += (known.empty() ? "" : ", ") + ("{" + k + "}");
            return fail_usage("\"" + std::string(text) + "\": no field {" + field + "}",
                              known.empty() ? "placeholders need a users: CSV (or write {{ for a brace)"
                                            : "the fields are " + known);
        }
        out += it->second;
        i = close;
    }
    return out;
}

struct Range {
    std::size_t at = 0, length = 0;  ///< of "{A..B}" in the pattern
    long first = 0, last = 0;
    std::size_t width = 0;           ///< digits of A as written: "01" pads to 2
};

std::optional<Range> find_range(std::string_view pattern) {
    for (std::size_t open = pattern.find('{'); open != std::string_view::npos; open = pattern.find('{', open + 1)) {
        const auto close = pattern.find('}', open);
        const auto dots = pattern.find("..", open);
        if (close == std::string_view::npos || dots == std::string_view::npos || dots > close) continue;
        const std::string_view a = pattern.substr(open + 1, dots - open - 1);
        const std::string_view b = pattern.substr(dots + 2, close - dots - 2);
        Range r{open, close - open + 1, 0, 0, a.size()};
        auto [ea, eca] = std::from_chars(a.data(), a.data() + a.size(), r.first);
        auto [eb, ecb] = std::from_chars(b.data(), b.data() + b.size(), r.last);
        if (a.empty() || b.empty() || eca != std::errc{} || ecb != std::errc{} || ea != a.data() + a.size() ||
            eb != b.data() + b.size() || a.front() == '-' || b.front() == '-')
            continue;
        return r;
    }
    return std::nullopt;
}

Result<std::vector<Named>> SpecParser::from_pattern(const YAML::Node& group, const SpecMark& place) const {
    if (!group["pattern"]) return at(place, "count: needs a pattern: with a range, e.g. pattern: \"node-{1..3}\"");
    const SpecMark where = mark(group["pattern"], place);
    auto pattern = scalar(group["pattern"], "pattern", place);
    if (!pattern) return std::unexpected(pattern.error());
    auto range = find_range(*pattern);
    if (!range || range->last < range->first || range->last - range->first >= 10000)
        return at(where, "pattern \"" + *pattern + "\" needs one range {FIRST..LAST} (FIRST <= LAST, at most 10000)",
                  "e.g. pattern: \"student-{01..30}\" (zero-padded as FIRST is written)");
    const long size = range->last - range->first + 1;
    if (group["count"]) {
        auto count = whole(group["count"], "count", place, 1);
        if (!count) return std::unexpected(count.error());
        if (*count != size)
            return at(mark(group["count"], place), "count: " + std::to_string(*count) + " but the pattern's range " +
                                                       pattern->substr(range->at, range->length) + " makes " +
                                                       std::to_string(size),
                      "make them agree (count: is a check of the range; it may be left out)");
    }
    const std::string_view text = *pattern;
    auto prefix = substitute(text.substr(0, range->at), {});
    auto suffix = substitute(text.substr(range->at + range->length), {});
    if (!prefix || !suffix) return at(where, (prefix ? suffix : prefix).error());
    std::vector<Named> out;
    for (long i = range->first; i <= range->last; ++i) {
        std::string number = std::to_string(i);
        if (number.size() < range->width) number.insert(0, range->width - number.size(), '0');
        std::string name = *prefix + number + *suffix;
        if (auto ok = validate_machine_name(name); !ok) return at(where, ok.error());
        out.push_back({std::move(name), where, {}});
    }
    return out;
}

Result<std::string> read_text(const fs::path& file, const std::string& what) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail_kind(ErrorKind::NotFound, "cannot read " + what + " " + file.string(), "check the path");
    std::ostringstream buf;
    buf << in.rdbuf();
    return buf.str();
}

/// A CSV value may not hold control characters (it may end up in a name, a label, a file name).
bool printable(std::string_view value) {
    return std::none_of(value.begin(), value.end(),
                        [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

Result<std::vector<Named>> SpecParser::from_users(const YAML::Node& group, const SpecMark& place) const {
    auto users = scalar(group["users"], "users", place);
    if (!users) return std::unexpected(users.error());
    const SpecMark users_at = mark(group["users"], place);
    std::string field = "user";
    if (group["user-field"]) {
        auto f = scalar(group["user-field"], "user-field", place);
        if (!f) return std::unexpected(f.error());
        field = *f;
    }
    std::string pattern = "{" + field + "}";
    if (group["pattern"]) {
        auto p = scalar(group["pattern"], "pattern", place);
        if (!p) return std::unexpected(p.error());
        pattern = *p;
    }
    const std::string csv_name = (fs::path(m_file).parent_path() / *users).string();
    auto text = read_text(resolve(*users), "the users file");
    if (!text) return at(users_at, text.error());
    auto rows = parse_csv(*text, csv_name);
    if (!rows) return std::unexpected(rows.error());
    if (rows->empty()) return at(users_at, csv_name + " is empty", "its first row names the fields, e.g. user,email");
    const auto& header = rows->front().fields;
    if (std::find(header.begin(), header.end(), field) == header.end())
        return at(users_at, csv_name + " has no column \"" + field + "\"",
                  "its first row names the fields; set user-field: to the column that holds the user");
    std::vector<Named> out;
    for (std::size_t r = 1; r < rows->size(); ++r) {
        const CsvRow& row = (*rows)[r];
        const SpecMark where{csv_name, row.line, 0};
        if (row.fields.size() != header.size())
            return at(where, "the row has " + std::to_string(row.fields.size()) + " fields, the header " +
                                 std::to_string(header.size()));
        Named named{"", where, {}};
        for (std::size_t i = 0; i < header.size(); ++i) {
            if (!printable(row.fields[i])) return at(where, "column \"" + header[i] + "\" holds a control character");
            named.fields[header[i]] = row.fields[i];
        }
        if (auto ok = validate_machine_name(named.fields[field]); !ok)
            return at(where, "user \"" + named.fields[field] + "\" (column " + field + ") is not a valid name",
                      "a user becomes a certificate's CN and a bundle's file name: letters, digits, '.' and '-'");
        auto name = substitute(pattern, named.fields);
        if (!name) return at(mark(group["pattern"], users_at), name.error());
        if (auto ok = validate_machine_name(*name); !ok) return at(where, ok.error());
        named.name = std::move(*name);
        out.push_back(std::move(named));
    }
    if (out.empty()) return at(users_at, csv_name + " has a header but no rows");
    return out;
}

Result<void> SpecParser::apply_setting(FleetMachineSpec& out, const std::string& key, const Setting& setting,
                                       const Named& named) const {
    CreateRequest& request = out.request;
    if (key == "driver") return {};
    if (key == "context") {
        out.context = setting.values.at(0) == "true";
        return {};
    }
    if (const CreateKey* k = find_create_key(key)) {
        std::vector<std::string> values = setting.values;
        for (auto& v : values) {
            if (key != "engine-label") continue;
            auto fields = named.fields;
            fields.emplace("name", out.name);
            auto s = substitute(v, fields);
            if (!s) return at(setting.mark, s.error());
            v = std::move(*s);
        }
        if (k->path && !(key == "authz-policy" && values.at(0) == "default")) values.at(0) = resolve(values.at(0)).string();
        if (auto ok = k->set(request, values); !ok) return at(setting.mark, key + ": " + ok.error().message, ok.error().hint);
        return {};
    }
    const DriverKey& dk = m_driver_keys.at(key);
    if (dk.driver->name != request.driver)
        return at(setting.mark, key + " belongs to driver " + dk.driver->name + ", but machine \"" + out.name +
                                    "\" has driver " + request.driver,
                  "drop the key or set driver: " + dk.driver->name);
    request.driver_flags[dk.option->name] = setting.values;
    return {};
}

Result<FleetMachineSpec> SpecParser::machine(const Named& named, const std::string& group,
                                             const Settings& merged) const {
    FleetMachineSpec out;
    out.name = named.name;
    out.group = group;
    out.fields = named.fields;
    out.mark = named.mark;
    out.request.name = named.name;
    auto driver = merged.find("driver");
    if (driver == merged.end())
        return at(named.mark, "machine \"" + named.name + "\" has no driver",
                  "set driver: in defaults:, in its group or for the machine");
    out.request.driver = driver->second.values.at(0);
    for (const auto& [key, setting] : merged)
        if (auto ok = apply_setting(out, key, setting, named); !ok) return std::unexpected(ok.error());
    if (m_validate)
        if (auto ok = m_validate(out.request); !ok)
            return at(named.mark, [&] {
                Error e = ok.error();
                e.message = "machine \"" + named.name + "\": " + e.message;
                return e;
            }());
    return out;
}

Result<void> SpecParser::group(const YAML::Node& node, const Settings& defaults, FleetSpec& spec) {
    const SpecMark place = mark(node);
    if (!node.IsMap()) return at(place, "a group is a map (name:, names: or count:/pattern: or users:, settings)");
    if (!node["name"]) return at(place, "a group needs a name:");
    auto name = scalar(node["name"], "name", place);
    if (!name) return std::unexpected(name.error());
    if (auto ok = validate_machine_name(*name); !ok) return at(mark(node["name"], place), "group name: " + ok.error().message);
    if (!m_groups.insert(*name).second) return at(mark(node["name"], place), "a second group named \"" + *name + "\"");
    auto settings = settings_map(node, place, k_group_keys);
    if (!settings) return std::unexpected(settings.error());
    std::string role = "restricted";
    if (node["user-role"]) {
        auto r = scalar(node["user-role"], "user-role", place);
        if (!r) return std::unexpected(r.error());
        if (*r != "restricted" && *r != "admin")
            return at(mark(node["user-role"], place), "user-role \"" + *r + "\" is not restricted or admin");
        role = *r;
    }
    auto named = names_of(node, place);
    if (!named) return std::unexpected(named.error());
    std::map<std::string, Settings> overrides;
    if (const YAML::Node machines = node["machines"]; machines) {
        if (!machines.IsMap()) return at(mark(machines, place), "machines: needs a map of machine name to settings");
        std::vector<std::string> names;
        for (const auto& n : *named) names.push_back(n.name);
        for (const auto& kv : machines) {
            const std::string m = kv.first.Scalar();
            if (std::find(names.begin(), names.end(), m) == names.end()) {
                const std::string near = did_you_mean(m, names);
                return at(mark(kv.first), "machines: \"" + m + "\" is not a machine of group " + *name +
                                              (near.empty() ? "" : " (did you mean \"" + near + "\"?)"));
            }
            auto s = settings_map(kv.second, mark(kv.first), {});
            if (!s) return std::unexpected(s.error());
            overrides[m] = std::move(*s);
        }
    }
    for (const auto& n : *named) {
        if (auto [it, fresh] = m_seen.emplace(n.name, n.mark); !fresh)
            return at(n.mark, "machine \"" + n.name + "\" is named twice (first at " + it->second.str() + ")",
                      "each machine is named once in a spec");
        Settings merged = defaults;
        for (const auto& [k, v] : *settings) merged[k] = v;
        for (const auto& [k, v] : overrides[n.name]) merged[k] = v;
        auto m = machine(n, *name, merged);
        if (!m) return std::unexpected(m.error());
        if (node["users"]) m->user = n.fields.at(node["user-field"] ? node["user-field"].Scalar() : "user");
        m->user_role = role;
        spec.machines.push_back(std::move(*m));
    }
    return {};
}

/// `swarm:` (no value or `true`: the first machine manages), `swarm: false`, or a map with
/// `managers:`, a list of the spec's machines. Read after the groups: it names their machines.
Result<void> SpecParser::swarm_section(const YAML::Node& node, const SpecMark& place, FleetSpec& spec) const {
    FleetSwarmSpec swarm;
    swarm.mark = place;
    if (node.IsScalar()) {
        bool on = false;
        if (!YAML::convert<bool>::decode(node, on))
            return at(mark(node, place), "swarm: needs true, false or a map (managers:)", "see \"Swarm\" in docs/fleet.md");
        if (!on) return {};
    } else if (node.IsMap()) {
        static const std::vector<std::string> keys = {"managers"};
        for (const auto& kv : node)
            if (kv.first.Scalar() != "managers") return unknown_key(kv.first, keys);
        if (const YAML::Node managers = node["managers"]; managers) {
            if (!managers.IsSequence() || managers.size() == 0)
                return at(mark(managers, place), "swarm: managers: needs a list of the spec's machines");
            std::vector<std::string> names;
            for (const auto& m : spec.machines) names.push_back(m.name);
            for (const auto& item : managers) {
                auto name = scalar(item, "managers", place);
                if (!name) return std::unexpected(name.error());
                if (std::find(names.begin(), names.end(), *name) == names.end()) {
                    const std::string near = did_you_mean(*name, names);
                    return at(mark(item, place), "swarm: managers: \"" + *name + "\" is not a machine of this spec" +
                                                     (near.empty() ? "" : " (did you mean \"" + near + "\"?)"));
                }
                if (std::find(swarm.managers.begin(), swarm.managers.end(), *name) != swarm.managers.end())
                    return at(mark(item, place), "swarm: managers: \"" + *name + "\" is listed twice");
                swarm.managers.push_back(*name);
            }
        }
    } else if (!node.IsNull()) {
        return at(mark(node, place), "swarm: needs true, false or a map (managers:)", "see \"Swarm\" in docs/fleet.md");
    }
    // A swarm node's firewall and policy are written by berth's provision: a driver that only
    // knows a URL (none) cannot be one.
    for (const auto& m : spec.machines) {
        auto it = m_provisions.find(m.request.driver);
        if (it != m_provisions.end() && !it->second)
            return at(m.mark, "machine \"" + m.name + "\" uses driver " + m.request.driver +
                                  ", which berth does not provision, so it cannot be a swarm node",
                      "swarm: needs machines berth provisions over SSH (generic, libvirt, virtualbox)");
    }
    if (swarm.managers.empty()) swarm.managers.push_back(spec.machines.front().name);
    spec.swarm = std::move(swarm);
    return {};
}

Result<FleetSpec> SpecParser::parse(std::string_view text) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        return at(SpecMark{m_file, e.mark.line + 1, e.mark.column + 1}, "not valid YAML: " + e.msg);
    }
    if (!root.IsMap()) return at(SpecMark{m_file, 1, 1}, "a fleet spec is a map (version: 1, fleet:, groups:)");
    FleetSpec spec;
    Settings defaults;
    YAML::Node groups;
    YAML::Node swarm;
    SpecMark swarm_place;
    try {
        if (auto ok = top_level(root, spec, defaults, groups, swarm, swarm_place); !ok) return std::unexpected(ok.error());
        for (const auto& g : groups)
            if (auto ok = group(g, defaults, spec); !ok) return std::unexpected(ok.error());
        if (!swarm_place.file.empty())
            if (auto ok = swarm_section(swarm, swarm_place, spec); !ok) return std::unexpected(ok.error());
    } catch (const YAML::Exception& e) {
        return at(SpecMark{m_file, e.mark.line + 1, e.mark.column + 1}, e.msg);
    }
    return spec;
}

}  // namespace

const FleetMachineSpec* FleetSpec::find(std::string_view name) const {
    auto it = std::find_if(machines.begin(), machines.end(), [&](const FleetMachineSpec& m) { return m.name == name; });
    return it == machines.end() ? nullptr : &*it;
}

std::string FleetSpec::swarm_role(std::string_view name) const {
    if (!swarm || !find(name)) return {};
    const auto& managers = swarm->managers;
    return std::find(managers.begin(), managers.end(), name) != managers.end() ? "manager" : "worker";
}

Result<FleetSpec> parse_fleet_spec(std::string_view text, const std::filesystem::path& origin,
                                   std::span<const DriverInfo> drivers, const CreateValidator& validate) {
    SpecParser parser(origin, drivers, validate);
    auto spec = parser.parse(text);
    if (spec) spec->file = origin;
    return spec;
}

Result<FleetSpec> load_fleet_spec(const std::filesystem::path& file, std::span<const DriverInfo> drivers,
                                  const CreateValidator& validate) {
    auto text = read_text(file, "the fleet spec");
    if (!text) return std::unexpected(text.error());
    return parse_fleet_spec(*text, file, drivers, validate);
}

}  // namespace berth
