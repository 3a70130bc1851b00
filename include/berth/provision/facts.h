#pragma once
/// What one remote command tells about a host: its OS, the packages berth needs, the digest, mode
/// and owner of every file berth manages (host_paths.h), which of Docker's paths exist, the state
/// of the units berth runs, sshd's ports, the subordinate id files, where dockerd and nft are, the
/// machine's architecture and berth's directories (managed_dirs()).
/// The plan decides everything from these facts, so a host that matches costs one command.

#include <berth/core/error.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace berth {

struct Facts {
    struct FileState {
        std::string digest;  ///< sha256, hex
        unsigned mode = 0;
        std::string owner;  ///< "user:group"
    };

    std::string os_release;
    std::string hostname;
    std::map<std::string, std::string> packages;  ///< name -> version ("" = not installed)
    std::map<std::string, FileState> files;       ///< only files that exist
    std::set<std::string> existing;               ///< audit candidates that exist
    std::map<std::string, std::pair<std::string, std::string>> units;  ///< unit -> (active, enabled)
    std::vector<int> sshd_ports;
    bool subuid = false, subgid = false;
    std::string dockerd;  ///< dockerd's path, "" if not installed
    std::string selinux;  ///< getenforce's answer, "" without SELinux
    std::string nft;      ///< nft's path, "" if not installed
    /// How many audit rules keyed "docker" the kernel holds (auditctl -l); none without auditctl.
    std::optional<int> audit_rules_loaded;
    std::string arch;     ///< uname -m ("x86_64", "aarch64")
    std::map<std::string, FileState> dirs;  ///< managed_dirs() that exist as directories (digest "")

    /// The installed version of `package`, "" if it is not installed.
    [[nodiscard]] std::string package_version(const std::string& package) const;
    /// systemctl is-active of `unit` == "active".
    [[nodiscard]] bool unit_active(const std::string& unit) const;
    /// systemctl is-enabled of `unit` == "enabled".
    [[nodiscard]] bool unit_enabled(const std::string& unit) const;
};

/// The one shell command that reports the facts, asking after `packages`. Its output is sections
/// of lines, each opened by "@name" and the whole closed by "@end".
[[nodiscard]] std::string facts_script(const std::vector<std::string>& packages);

/// Parses what facts_script printed; an Error if the output was cut short (no "@end").
[[nodiscard]] Result<Facts> parse_facts(const std::string& output);

}  // namespace berth
