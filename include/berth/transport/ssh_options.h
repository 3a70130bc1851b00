#pragma once
/// Where an SSH connection goes and how it treats the host key: what a service hands to whatever
/// opens sessions (LibsshSession in production, a scripted one in tests).

#include <chrono>
#include <filesystem>
#include <string>

namespace berth {

struct SshTarget {
    std::string host;
    int port = 22;
    std::string user = "root";
    std::filesystem::path key;          ///< private key file
    std::filesystem::path known_hosts;  ///< the machine's own host key(s), pinned as "berth-<machine>"
    std::string machine;                ///< names its pinned keys (known_hosts.h), messages, log prefixes
};

enum class HostKeyPolicy {
    PinOnFirstUse,  ///< no key pinned: accept and pin the offered one (generic create); a pinned key must match
    RequirePinned,  ///< a key must be pinned already and match (every later connection; VMs berth seeds)
    ReplacePinned,  ///< a pinned key matches, else pin the offered key if its fingerprint is expected_fingerprint
};

struct SshOptions {
    std::chrono::seconds connect_timeout{120};  ///< total time to keep retrying the connection
    std::chrono::seconds command_timeout{900};  ///< default per-command timeout
    std::chrono::seconds keepalive{30};         ///< an SSH ignore message this often while waiting
    HostKeyPolicy host_key = HostKeyPolicy::RequirePinned;
    std::string expected_fingerprint;  ///< "SHA256:..." the user gave with --replace-host-key (ReplacePinned)
};

}  // namespace berth
