#pragma once
/// Who and where berth logs in over SSH: the user names and host addresses that drivers take from
/// flags and that every use of a machine's record checks again (a record edited by hand must not
/// turn a user into an ssh option or a host into an ssh_config line). One rule for all callers.

#include <berth/core/error.h>
#include <berth/driver/driver.h>

#include <string_view>

namespace berth {

/// Non-empty and only lower-case letters, digits, '_' and '-'.
[[nodiscard]] bool user_name_chars_valid(std::string_view name);

/// A POSIX portable user name: 1 to 32 of letters, digits, '.', '_' and '-', not starting with
/// '-' (so never an option of ssh). Any existing login of a generic host.
[[nodiscard]] bool is_portable_user_name(std::string_view name);

/// A user name cloud-init can make (useradd's rule): is_portable_user_name, only lower-case
/// letters, digits, '_' and '-', starting with a lower-case letter or '_'.
[[nodiscard]] bool is_user_name(std::string_view name);

/// An IPv4 or IPv6 address, or a DNS name: dot-separated labels of letters, digits, '-' and '_'
/// (not starting or ending with '-'), each at most 63 characters, at most 253 in all, an optional
/// final dot. Never starts with '-', never holds a space, quote or control character.
[[nodiscard]] bool is_host_address(std::string_view host);

/// Ok, or a Usage error naming `what` (e.g. "--generic-ssh-user") and the rule.
[[nodiscard]] Result<void> validate_ssh_user(std::string_view user, std::string_view what);
[[nodiscard]] Result<void> validate_ssh_host(std::string_view host, std::string_view what);

/// The endpoint a driver answered from a machine's record, checked before berth uses it (ssh,
/// scp, provision): an Error that says the record is not valid and what to do.
[[nodiscard]] Result<void> validate_ssh_endpoint(const SshEndpoint& endpoint, std::string_view machine);

}  // namespace berth
