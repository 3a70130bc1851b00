#pragma once
/// What `berth audit` reads on a host besides the facts (facts.h): one read-only command prints
/// the audit rules auditd holds, whether /var/lib/docker is a mount point, the docker group, the
/// mode and owner of Docker's files, daemon.json, the running dockerd's command line, and the
/// SUID/SGID files and files with capabilities inside the host directories containers bind-mount.
/// Its sections open with "@<nonce> <name>", a nonce the caller draws for each run, so nothing a
/// file name or daemon.json holds can start a section of its own.

#include <berth/core/error.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

struct AuditHost {
    struct Stat {
        unsigned mode = 0;
        std::string owner;  ///< "user:group"
    };

    bool auditctl = false;                     ///< auditctl is installed (its rules below)
    std::vector<std::string> audit_rules;      ///< `auditctl -l`, one rule a line
    std::optional<bool> docker_root_mounted;   ///< /var/lib/docker is a mount point
    bool docker_group = false;                 ///< the group docker exists
    std::vector<std::string> docker_group_members;
    std::map<std::string, Stat> files;         ///< path -> mode and owner, only paths that exist
    std::optional<std::string> daemon_json;    ///< its text, when it could be read
    std::vector<std::string> dockerd_args;     ///< the running dockerd's argv (/proc/PID/cmdline)
    std::string exec_start;                    ///< `systemctl show docker -p ExecStart --value`
    std::vector<std::string> suid_files;       ///< SUID/SGID files in the bind-mounted directories
    bool getcap = false;                       ///< getcap is installed (cap_files below)
    std::vector<std::string> cap_files;        ///< getcap's lines: "<path> <capabilities>"
};

/// Every path the audit command stats: Docker's files and directories (CIS 3.x), the TLS files,
/// the sockets and every audit candidate (host_paths.h); files under /etc/docker/certs.d are
/// found on the host.
[[nodiscard]] std::vector<std::string> audit_stat_paths();

/// The read-only command. `nonce` (letters and digits, drawn per run) marks its sections;
/// `bind_sources` are the absolute host paths containers bind-mount, searched for SUID/SGID
/// files and file capabilities (each shell_quote()d; none: nothing is searched).
[[nodiscard]] std::string audit_script(std::string_view nonce, const std::vector<std::string>& bind_sources);

/// Parses what audit_script printed; never throws. An Error only when the output was cut short
/// (no "@<nonce> end"); a line it cannot read (a mode that is not octal) is left out.
[[nodiscard]] Result<AuditHost> parse_audit_output(std::string_view output, std::string_view nonce);

}  // namespace berth
