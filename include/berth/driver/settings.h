#pragma once
/// A driver's saved settings declared once: each field's JSON key, the member it lives in and
/// its default. save() writes every field; load() reads every field back, taking the default for
/// a key an older record lacks; reset() puts the defaults in place (a driver's starting values).
/// The JSON is a plain object (nlohmann orders its keys), so a record written before a driver used
/// this loads, and saves again byte for byte.

#include <berth/core/error.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace berth {

template <class Owner>
class SettingsSchema {
public:
    /// A field kept in `member`, `fallback` when the record has no `key`.
    template <class T>
    SettingsSchema& field(std::string key, T Owner::*member, std::type_identity_t<T> fallback) {
        m_fields.push_back({[key, member](const Owner& o, nlohmann::json& out) { out[key] = o.*member; },
                            [key, member, fallback](Owner& o, const nlohmann::json& in) {
                                o.*member = in.value(key, fallback);
                            },
                            [member, fallback](Owner& o) { o.*member = fallback; }});
        return *this;
    }

    /// A field the record must have (load fails without it); reset() leaves the member alone.
    template <class T>
    SettingsSchema& required(std::string key, T Owner::*member) {
        m_fields.push_back({[key, member](const Owner& o, nlohmann::json& out) { out[key] = o.*member; },
                            [key, member](Owner& o, const nlohmann::json& in) { o.*member = in.at(key).template get<T>(); },
                            [](Owner&) {}});
        return *this;
    }

    /// A field that is not one member: a computed value saved (a constant, a nested object) and
    /// how to read it back (nothing, for one only saved).
    SettingsSchema& custom(std::function<void(const Owner&, nlohmann::json&)> save,
                           std::function<void(Owner&, const nlohmann::json&)> load = {}) {
        m_fields.push_back({std::move(save), load ? std::move(load) : [](Owner&, const nlohmann::json&) {},
                            [](Owner&) {}});
        return *this;
    }

    [[nodiscard]] nlohmann::json save(const Owner& owner) const {
        nlohmann::json out = nlohmann::json::object();
        for (const auto& f : m_fields) f.save(owner, out);
        return out;
    }

    /// Reads every field from `saved`; a field of the wrong type (or a missing required one) is an
    /// error whose message is `damaged` followed by what is wrong.
    [[nodiscard]] Result<void> load(Owner& owner, const nlohmann::json& saved, const std::string& damaged) const {
        try {
            for (const auto& f : m_fields) f.load(owner, saved);
        } catch (const nlohmann::json::exception& e) {
            return fail(damaged + e.what());
        }
        return {};
    }

    /// Every field's default into its member.
    void reset(Owner& owner) const {
        for (const auto& f : m_fields) f.reset(owner);
    }

private:
    struct Field {
        std::function<void(const Owner&, nlohmann::json&)> save;
        std::function<void(Owner&, const nlohmann::json&)> load;
        std::function<void(Owner&)> reset;
    };
    std::vector<Field> m_fields;
};

}  // namespace berth
