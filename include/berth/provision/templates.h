#pragma once
/// The templates of every file berth writes on a host (templates/*.mustache, embedded at build
/// time). A directory given with --templates-dir replaces any of them by name: an ops team can
/// review and pin exactly what lands on its hosts. Rendering does no HTML escaping.

#include <berth/core/error.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

struct EmbeddedTemplate {
    std::string_view name;     ///< "daemon.json" for templates/daemon.json.mustache
    std::string_view content;
};

/// The templates compiled into the binary (generated source).
[[nodiscard]] std::span<const EmbeddedTemplate> embedded_templates();

class TemplateSet {
public:
    /// The embedded templates, each replaced by DIR/<name>.mustache where that file exists.
    /// A file in DIR that matches no template is an error (a typo would silently do nothing),
    /// and so is a template that does not parse.
    [[nodiscard]] static Result<TemplateSet> load(const std::optional<std::filesystem::path>& override_dir = {});

    /// Renders `name` with `context` (JSON objects, arrays, strings, numbers, booleans).
    [[nodiscard]] Result<std::string> render(std::string_view name, const nlohmann::json& context) const;

    [[nodiscard]] std::vector<std::string> names() const;
    /// Where a template came from: "embedded" or the override file's path.
    [[nodiscard]] std::string origin(std::string_view name) const;

private:
    std::map<std::string, std::string, std::less<>> m_text;
    std::map<std::string, std::string, std::less<>> m_origin;
};

}  // namespace berth
