#include <berth/provision/changes.h>

#include <berth/core/escape.h>

#include <algorithm>
#include <cstdio>

namespace berth {

std::string mode_text(unsigned mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", mode);
    return buf;
}

void Changes::activate(Stage stage, const std::string& script, const std::string& restarted) {
    const auto i = static_cast<size_t>(stage);
    m_scripts[i] += script;
    if (!restarted.empty()) m_restarted[i].push_back(restarted);
}

void Changes::enable(const std::string& unit) {
    if (std::find(m_enable.begin(), m_enable.end(), unit) == m_enable.end()) m_enable.push_back(unit);
}

std::string Changes::apply_script() const {
    std::string out = reload_units ? "systemctl daemon-reload\n" : "";
    std::string units;
    for (const auto& u : m_enable) units += " " + shell_quote(u);
    if (!units.empty()) out += "systemctl --no-reload enable" + units + " >/dev/null 2>&1 &\nberth_enabling=$!\n";
    for (const auto& s : m_scripts) out += s;
    if (restart_docker) out += docker_active ? "systemctl restart docker\n" : "systemctl start docker\n";
    if (!units.empty())
        out += "wait \"$berth_enabling\" || { echo 'berth: systemctl enable failed for:'" + units + " >&2; exit 1; }\n";
    return out;
}

std::vector<std::string> Changes::restarted() const {
    std::vector<std::string> out;
    for (const auto& r : m_restarted) out.insert(out.end(), r.begin(), r.end());
    if (restart_docker) out.push_back(docker_active ? "docker" : "docker (start)");
    return out;
}

}  // namespace berth
