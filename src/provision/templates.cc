#include <berth/provision/templates.h>

#include <berth/store/atomic_file.h>

#include <kainjow/mustache.hpp>

namespace berth {
namespace {

using kainjow::mustache::data;
using kainjow::mustache::mustache;

data to_data(const nlohmann::json& j) {
    switch (j.type()) {
        case nlohmann::json::value_t::object: {
            data d{data::type::object};
            for (auto it = j.begin(); it != j.end(); ++it) d.set(it.key(), to_data(it.value()));
            return d;
        }
        case nlohmann::json::value_t::array: {
            data d{data::type::list};
            for (const auto& item : j) d.push_back(to_data(item));
            return d;
        }
        case nlohmann::json::value_t::string: return data{j.get<std::string>()};
        case nlohmann::json::value_t::boolean: return j.get<bool>() ? data{data::type::bool_true} : data{data::type::bool_false};
        case nlohmann::json::value_t::null: return data{data::type::bool_false};
        default: return data{j.dump()};
    }
}

}  // namespace

Result<TemplateSet> TemplateSet::load(const std::optional<std::filesystem::path>& override_dir) {
    TemplateSet set;
    for (const auto& t : embedded_templates()) {
        set.m_text.emplace(std::string(t.name), std::string(t.content));
        set.m_origin.emplace(std::string(t.name), "embedded");
    }
    if (override_dir) {
        std::error_code ec;
        if (!std::filesystem::is_directory(*override_dir, ec))
            return fail_usage("--templates-dir " + override_dir->string() + " is not a directory");
        for (std::filesystem::directory_iterator it(*override_dir, ec), end; !ec && it != end; it.increment(ec)) {
            const auto& entry = *it;
            const std::string file = entry.path().filename().string();
            std::error_code type_ec;
            if (!entry.is_regular_file(type_ec) || !file.ends_with(".mustache")) continue;
            const std::string name = file.substr(0, file.size() - std::string(".mustache").size());
            if (!set.m_text.contains(name)) {
                std::string known;
                for (const auto& [n, _] : set.m_text) known += (known.empty() ? "" : ", ") + n + ".mustache";
                return fail_usage("--templates-dir has " + file + ", which is not a berth template",
                                  "the templates are: " + known);
            }
            auto text = read_file(entry.path());
            if (!text) return std::unexpected(text.error());
            set.m_text[name] = *text;
            set.m_origin[name] = entry.path().string();
        }
        if (ec) return fail_usage("cannot list --templates-dir " + override_dir->string() + ": " + ec.message());
    }
    for (const auto& [name, text] : set.m_text) {
        mustache m{text};
        if (!m.is_valid())
            return fail("template " + name + " (" + set.m_origin[name] + ") does not parse: " + m.error_message());
    }
    return set;
}

Result<std::string> TemplateSet::render(std::string_view name, const nlohmann::json& context) const {
    auto it = m_text.find(name);
    if (it == m_text.end()) return fail("internal error: no template named " + std::string(name));
    mustache m{it->second};
    m.set_custom_escape([](const std::string& s) { return s; });
    std::string out = m.render(to_data(context));
    if (!m.is_valid()) return fail("cannot render template " + std::string(name) + ": " + m.error_message());
    return out;
}

std::vector<std::string> TemplateSet::names() const {
    std::vector<std::string> out;
    for (const auto& [name, _] : m_text) out.push_back(name);
    return out;
}

std::string TemplateSet::origin(std::string_view name) const {
    auto it = m_origin.find(name);
    return it == m_origin.end() ? "" : it->second;
}

}  // namespace berth
