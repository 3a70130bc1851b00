// berth audit through the real binary: a generic machine on this host (a real sshd on loopback,
// the audit's commands run here as root and read only) with a TLS fake dockerd holding the
// machine's certificates. This host is no hardened Docker host, so the audit fails (exit 1) and
// prints what failed; an unreachable machine is an error.

#include <berth/pki/pki.h>
#include <berth/process/runner.h>
#include <berth/store/store.h>
#include <berth/transport/libssh_session.h>

#include "berth_cli.h"
#include "port_server.h"
#include "sshd_fixture.h"
#include "generic_machine.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <optional>

using namespace berth;
using berth::test::TempDir;

namespace {

struct Berth : test::BerthCli {
    Berth() { timeout = std::chrono::seconds(120); }
};

/// A generic machine at 127.0.0.1: its SSH key and pinned host key from `sshd`, its certificates,
/// and a fake dockerd that serves them (and refuses the authorization probe as berth-authz).
struct AuditedMachine {
    std::optional<test::PortServer> dockerd;

    AuditedMachine(Berth& b, const test::SshdFixture& sshd, const std::string& name) {
        Store store(b.store());
        REQUIRE(store.ensure_layout());
        pki::MachineCertRequest request;
        request.machine = name;
        request.sans = {"127.0.0.1"};
        auto certs = pki::make_machine_certs(request);
        REQUIRE(certs);
        const auto tls = b.dir / "tls";
        test::write_text(tls / "ca.pem", certs->ca.cert_pem);
        test::write_text(tls / "server.pem", certs->server.cert_pem);
        test::write_text(tls / "server-key.pem", certs->server.key_pem);
        const std::string fixtures = std::string(BERTH_TESTS_DIR) + "/fixtures/";
        dockerd.emplace(std::vector<std::string>{"python3", std::string(BERTH_TESTS_DIR) + "/support/fake_dockerd.py",
                                                 "--ca", (tls / "ca.pem").string(), "--cert", (tls / "server.pem").string(),
                                                 "--key", (tls / "server-key.pem").string(), "--info",
                                                 fixtures + "docker/info-debian12-hardened.json", "--version",
                                                 fixtures + "docker/version-20.10.24.json"},
                        b.dir / "fake_dockerd.log");
        MachineRecord r;
        r.name = name;
        r.driver_name = "generic";
        r.status = MachineStatus::Ready;
        r.created_at = now_rfc3339();
        r.driver = {{"ip_address", "127.0.0.1"}, {"ssh_user", "root"}, {"ssh_port", sshd.port()},
                    {"engine_port", dockerd->port()}};
        REQUIRE(store.save(r));
        for (auto [file, pem] : {std::pair{k_ca_cert_file, certs->ca.cert_pem}, std::pair{k_client_cert_file, certs->client.cert_pem},
                                 std::pair{k_client_key_file, certs->client.key_pem}, std::pair{k_server_cert_file, certs->server.cert_pem},
                                 std::pair{k_server_key_file, certs->server.key_pem}})
            REQUIRE(store.write_file(name, file, pem, 0600));
        berth::test::pin_loopback_sshd(store, sshd, name);
    }
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("audit prints the table - JSON - a template - and exits 1 when a scored check warns", "[cli][audit]") {
    test::SshdFixture sshd;
    Berth b;
    AuditedMachine machine(b, sshd, "g1");

    auto table = b.run({"audit", "g1"});
    INFO(table.err);
    CHECK(table.exit_status == 1);  // this host is no hardened Docker host
    CHECK_FALSE(contains(table.err, "berth: error"));
    CHECK(table.out.starts_with("ID "));
    CHECK(contains(table.out, "STATUS"));
    CHECK(contains(table.out, "REMEDIATION"));
    CHECK(contains(table.out, "\n3.14 "));
    CHECK(contains(table.out, "\n2.12 "));
    CHECK(contains(table.out, "\n2.7 "));
    CHECK(contains(table.out, "tlsverify nowhere"));  // no daemon.json here: the TCP listener berth reached has no TLS setting
    CHECK(contains(table.out, "g1: "));
    CHECK(contains(table.out, "FAILED"));

    auto json = b.run({"audit", "--json", "g1"});
    CHECK(json.exit_status == 1);
    auto parsed = nlohmann::json::parse(json.out, nullptr, false);
    REQUIRE(parsed.is_array());
    REQUIRE(parsed.size() == 1);
    CHECK(parsed[0]["Machine"] == "g1");
    CHECK(parsed[0]["Passed"] == false);
    bool authz_refused = false;
    for (const auto& r : parsed[0]["Results"]) {
        CHECK(r.contains("Scored"));
        if (r["ID"] == "2.12") authz_refused = contains(r["Detail"].get<std::string>(), "refuses a privileged container");
    }
    CHECK(authz_refused);  // the fake dockerd answers the probe as berth-authz does

    auto format = b.run({"audit", "--format", "{{.Machine}} {{.ID}} {{.Status}}", "g1"});
    CHECK(format.exit_status == 1);
    CHECK(contains(format.out, "g1 2.12 "));
    CHECK(contains(format.out, "g1 berth.suid PASS\n"));  // no container bind-mounts anything

    auto usage = b.run({"audit", "--json", "--format", "{{.ID}}", "g1"});
    CHECK(usage.exit_status == 2);
    auto bad = b.run({"audit", "--format", "{{.Nope}}", "g1"});
    CHECK(bad.exit_status == 2);
}

TEST_CASE("audit of a machine it cannot reach is an error - the others are still reported", "[cli][audit]") {
    test::SshdFixture sshd;
    Berth b;
    AuditedMachine machine(b, sshd, "g1");
    REQUIRE(b.run({"create", "-d", "none", "--url", "tcp://10.1.2.3:2376", "n1"}).exit_status == 0);

    auto none = b.run({"audit", "n1"});
    CHECK(none.exit_status == 1);
    CHECK(contains(none.err, "berth: error: machine \"n1\" uses the none driver"));
    CHECK(none.out.empty());

    auto both = b.run({"audit", "--format", "{{.Machine}} {{.ID}}", "n1", "g1"});
    CHECK(both.exit_status == 1);
    CHECK(contains(both.err, "n1"));
    CHECK(contains(both.out, "g1 1.1.1\n"));

    auto ghost = b.run({"audit", "ghost"});
    CHECK(ghost.exit_status == 1);
    CHECK(contains(ghost.err, "no machine named \"ghost\""));

    sshd.restart_with_new_host_key();
    auto changed = b.run({"audit", "--ssh-timeout", "5", "g1"});
    CHECK(changed.exit_status == 1);
    CHECK(contains(changed.err, "has CHANGED"));
}

TEST_CASE("help lists audit - its help names the flags and the exit status", "[cli][audit]") {
    Berth b;
    auto help = b.run({"--help"});
    CHECK(contains(help.out, "\n  audit "));
    auto audit = b.run({"audit", "--help"});
    CHECK(audit.exit_status == 0);
    for (const char* flag : {"--json", "--format", "--fix", "--ssh-timeout", "exit 1 when a scored check warns"})
        CHECK(contains(audit.out, flag));
}
