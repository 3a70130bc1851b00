#pragma once
/// What applying the steps takes, gathered so that the remote commands stay batched whatever the
/// number of steps: the package install (its own command, after which the facts are read again),
/// one "preparing the host" script (host name, subordinate ids, directories), the uploads, then
/// one "applying the configuration" script of reloads and restarts. Steps add to it in plan
/// order; the script is put together in a fixed order of stages, so units are reloaded first
/// and docker restarts last, once, whichever steps asked for it.

#include <array>
#include <string>
#include <vector>

namespace berth {

/// The path berth writes each managed file to, by template name.
struct ManagedFile {
    std::string path;
    std::string content;
    unsigned mode = 0644;
    std::string owner = "root:root";
};

/// A file mode as four octal digits: "0644".
[[nodiscard]] std::string mode_text(unsigned mode);

/// The stages of the "applying the configuration" script, in the order they run. Authz comes
/// before Services and the docker restart: dockerd with "authorization-plugins" refuses every
/// request while the plugin's socket is not listening.
enum class Stage { Sshd, Firewall, Audit, Authz, Services };

class Changes {
public:
    std::string install_script;          ///< the package install, "" = nothing to install
    std::vector<std::string> installed;  ///< packages installed or upgraded (with their pins)
    std::string prepare;                 ///< the "preparing the host" script
    std::vector<ManagedFile> uploads;    ///< files that differ, in plan order
    std::vector<std::string> changed;    ///< files written (paths) and settings changed
    bool reload_units = false;           ///< systemctl daemon-reload before any stage
    bool restart_docker = false;         ///< (re)start docker after every stage
    /// Whether dockerd runs now (after any install): a docker that must restart and is not running
    /// is started, and reported as "docker (start)" - its first start, not a restart.
    bool docker_active = true;

    /// Enables `unit` for the next boots. Enabling does not start anything and, with --no-reload,
    /// needs no daemon-reload; on Debian it also runs update-rc.d for a unit with an init script
    /// (seconds under emulation), so all units are enabled in one command that runs in the
    /// background of the stages and is waited for at the end.
    void enable(const std::string& unit);

    /// Adds `script` (whole lines) to `stage`; `restarted` names what it reloads or restarts.
    void activate(Stage stage, const std::string& script, const std::string& restarted = "");
    /// The "applying the configuration" script, "" when there is nothing to reload or start.
    [[nodiscard]] std::string apply_script() const;
    /// What apply_script reloads or restarts, in order ("docker" last).
    [[nodiscard]] std::vector<std::string> restarted() const;

private:
    static constexpr size_t k_stages = 5;
    std::array<std::string, k_stages> m_scripts;
    std::array<std::vector<std::string>, k_stages> m_restarted;
    std::vector<std::string> m_enable;
};

}  // namespace berth
