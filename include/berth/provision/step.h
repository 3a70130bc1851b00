#pragma once
/// One part of the hardening (the packages, the host name, the TLS files, daemon.json, ...): it
/// knows what the host should hold and how to tell and put right what differs. `check` compares
/// the facts with the desired state and names every difference in words, which is all a
/// check-only run (berth audit) does; `apply` adds what putting them right takes to the batch of
/// changes, and nothing when `check` finds nothing. Neither touches the host: the Provisioner
/// runs the batch (changes.h).

#include <berth/provision/changes.h>
#include <berth/provision/facts.h>

#include <string>
#include <vector>

namespace berth {

/// What differs between a host and what berth wants there, one human-readable item each
/// ("/etc/docker/daemon.json differs (digest)", "package auditd is not installed").
using Drift = std::vector<std::string>;

class Step {
public:
    virtual ~Step() = default;
    /// A short name for reports ("daemon.json", "firewall").
    [[nodiscard]] virtual std::string name() const = 0;
    /// Every difference between `facts` and the desired state; empty when the host matches.
    [[nodiscard]] virtual Drift check(const Facts& facts) const = 0;
    /// Adds to `changes` what puts right what `check` finds on `facts`.
    virtual void apply(const Facts& facts, Changes& changes) const = 0;
};

}  // namespace berth
