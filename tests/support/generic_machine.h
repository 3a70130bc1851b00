#pragma once
// A ready generic machine in a store whose SSH endpoint is an SshdFixture on 127.0.0.1, for the
// integration tests of ssh, scp and ssh-config. The record is written directly (create -d generic
// would provision this very host) and the server's host key pinned by one libssh connection.
// Header-only: it is used by test targets that link berth_service.

#include <berth/store/store.h>
#include <berth/transport/libssh_session.h>

#include "sshd_fixture.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

namespace berth::test {

/// Gives machine `name` of `store` the loopback sshd's client key (0600) and pins the sshd's host
/// key for it, as create would have.
inline void pin_loopback_sshd(const Store& store, const SshdFixture& sshd, const std::string& name) {
    std::filesystem::copy_file(sshd.client_key(), store.machine_file(name, "ssh-key"));
    std::filesystem::permissions(store.machine_file(name, "ssh-key"),
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    SshTarget t;
    t.host = "127.0.0.1";
    t.port = sshd.port();
    t.key = store.machine_file(name, "ssh-key");
    t.known_hosts = store.machine_file(name, "known_hosts");
    t.machine = name;
    SshOptions o;
    o.host_key = HostKeyPolicy::PinOnFirstUse;
    REQUIRE(LibsshSession::connect(t, o));
}

inline void make_generic_machine(const std::filesystem::path& store_root, const SshdFixture& sshd,
                                 const std::string& name) {
    Store store(store_root);
    REQUIRE(store.ensure_layout());
    MachineRecord r;
    r.name = name;
    r.driver_name = "generic";
    r.status = MachineStatus::Ready;
    r.created_at = now_rfc3339();
    r.driver = {{"ip_address", "127.0.0.1"}, {"ssh_user", "root"}, {"ssh_port", sshd.port()}, {"engine_port", 2376}};
    REQUIRE(store.save(r));
    pin_loopback_sshd(store, sshd, name);
}

}  // namespace berth::test
