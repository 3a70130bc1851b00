#include <berth/provision/changes.h>

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

std::string Changes::apply_script() const {
    std::string out = reload_units ? "systemctl daemon-reload\n" : "";
    for (const auto& s : m_scripts) out += s;
    if (restart_docker) out += "systemctl restart docker\n";
    return out;
}

std::vector<std::string> Changes::restarted() const {
    std::vector<std::string> out;
    for (const auto& r : m_restarted) out.insert(out.end(), r.begin(), r.end());
    if (restart_docker) out.push_back("docker");
    return out;
}

}  // namespace berth
