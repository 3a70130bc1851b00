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
    std::filesystem::path known_hosts;  ///< the machine's own pinned host key(s)
    std::string machine;                ///< for messages and log prefixes
};

enum class HostKeyPolicy {
    PinOnFirstUse,  ///< an empty known_hosts accepts and pins the key (create); a pinned key must match
    RequirePinned,  ///< a key must be pinned already and match (every later connection)
    ReplacePinned,  ///< accept a changed key and pin it (the user asked for it explicitly)
};

struct SshOptions {
    std::chrono::seconds connect_timeout{120};  ///< total time to keep retrying the connection
    std::chrono::seconds command_timeout{900};  ///< default per-command timeout
    std::chrono::seconds keepalive{30};         ///< an SSH ignore message this often while waiting
    HostKeyPolicy host_key = HostKeyPolicy::RequirePinned;
};

}  // namespace berth
