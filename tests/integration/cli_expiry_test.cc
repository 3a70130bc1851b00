// Certificate expiry through the real binary: a machine whose certificate ends in 10 days (issued
// here from the machine's own CA with a short validity) is flagged by `ls`, dated by `inspect`,
// renewed by `regenerate-certs --if-expiring 30d`; a fresh machine is left alone byte for byte;
// `--client-certs` needs no host (its SSH port is closed) and keeps the CA.

#include <berth/pki/pki.h>
#include <berth/process/runner.h>
#include <berth/store/store.h>

#include "berth_cli.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>

using namespace berth;

namespace {

struct Berth : test::BerthCli {
    Store st{store()};

    void create(const std::string& name) {
        auto r = run({"create", "-d", "none", "--url", "tcp://10.1.2.3:2376", name});
        INFO(r.err);
        REQUIRE(r.exit_status == 0);
    }
    std::string file(const std::string& machine, const char* name) const {
        return read_file(st.machine_file(machine, name)).value();
    }
    pki::CertAndKey ca(const std::string& machine) const { return {file(machine, k_ca_cert_file), file(machine, k_ca_key_file)}; }
    /// Replaces the machine's client certificate with one from its CA valid `days` days.
    pki::CertInfo short_client(const std::string& machine, int days) {
        pki::MachineCertRequest req;
        req.machine = machine;
        req.validity.leaf_days = days;
        auto client = pki::issue_client_cert(ca(machine), req);
        REQUIRE(client);
        REQUIRE(st.write_file(machine, k_client_key_file, client->key_pem, 0600));
        REQUIRE(st.write_file(machine, k_client_cert_file, client->cert_pem, 0644));
        return pki::read_cert(client->cert_pem).value();
    }
    /// Every file of every machine, path -> content.
    std::map<std::string, std::string> snapshot() const {
        std::map<std::string, std::string> files;
        for (const auto& e : std::filesystem::recursive_directory_iterator(store() / "machines"))
            if (e.is_regular_file()) files[e.path().string()] = read_file(e.path()).value();
        return files;
    }
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// `openssl verify -CAfile CA CERT` succeeds.
bool verifies(const std::filesystem::path& ca, const std::filesystem::path& cert) {
    Command c;
    c.argv = {"openssl", "verify", "-CAfile", ca.string(), cert.string()};
    auto r = ProcessRunner().run(c);
    REQUIRE(r);
    return r->exit_status == 0;
}

}  // namespace

TEST_CASE("a client certificate ending in 10 days: ls flags it - inspect dates it - --if-expiring 30d renews it",
          "[cli][expiry]") {
    Berth b;
    b.create("n1");
    b.create("n2");
    const auto short_lived = b.short_client("n1", 10);
    const std::string end = rfc3339(short_lived.not_after);

    auto table = b.run({"ls"});
    INFO(table.err);
    REQUIRE(table.exit_status == 0);
    CHECK(contains(table.out, "client certificate expires in 10 days (" + end.substr(0, 10) + ")"));
    CHECK_FALSE(contains(table.out.substr(table.out.find("\nn2")), "expires"));
    auto listed = nlohmann::json::parse(b.run({"ls", "--json"}).out);
    CHECK(listed[0]["CertExpiry"] == end);
    CHECK(listed[0]["CertExpiryOf"] == "client");
    CHECK(contains(listed[0]["Errors"].get<std::string>(), "client certificate expires in 10 days"));
    CHECK(listed[1]["CertWarnings"] == "");
    CHECK(b.run({"ls", "--format", "{{.Name}} {{.CertExpiryOf}} {{.CertExpiry}}", "--filter", "name=n1"}).out ==
          "n1 client " + end + "\n");

    auto inspected = nlohmann::json::parse(b.run({"inspect", "n1"}).out)["certificates"];
    const auto ca = pki::read_cert(b.file("n1", k_ca_cert_file)).value();
    CHECK(inspected["client"]["not_after"] == end);
    CHECK(inspected["client"]["not_before"] == rfc3339(short_lived.not_before));
    CHECK(inspected["client"]["status"] == "expiring");
    CHECK(inspected["ca"]["not_before"] == rfc3339(ca.not_before));
    CHECK(inspected["ca"]["not_after"] == rfc3339(ca.not_after));
    CHECK(inspected["server"]["status"] == "valid");
    CHECK(b.run({"inspect", "-f", "{{.Certificates.Client.NotAfter}}", "n1"}).out == end + "\n");

    // Without -f it asks; with no answer (cron without -f) nothing changes.
    const auto before = b.snapshot();
    auto asked = b.run({"regenerate-certs", "--if-expiring", "30d", "--all"});
    CHECK(asked.exit_status == 1);
    CHECK(contains(asked.err, "n1: a new client certificate (client certificate expires in 10 days"));
    CHECK_FALSE(contains(asked.err, "n2:"));
    CHECK(b.snapshot() == before);

    auto renewed = b.run({"regenerate-certs", "-f", "--if-expiring", "30d", "--all"});
    INFO(renewed.err);
    REQUIRE(renewed.exit_status == 0);
    const auto fresh = pki::read_cert(b.file("n1", k_client_cert_file)).value();
    CHECK(renewed.out == "n1: a new client certificate, valid until " + rfc3339(fresh.not_after) +
                             "; the CA and the host are unchanged\n");
    CHECK(fresh.not_after > short_lived.not_after + std::chrono::hours(24 * 700));
    CHECK(b.file("n1", k_ca_cert_file) == before.at(b.st.machine_file("n1", k_ca_cert_file).string()));
    CHECK(b.file("n1", k_server_cert_file) == before.at(b.st.machine_file("n1", k_server_cert_file).string()));
    CHECK(verifies(b.st.machine_file("n1", k_ca_cert_file), b.st.machine_file("n1", k_client_cert_file)));
    for (const auto& [path, content] : before)  // n2 was not due: not one byte of it changed
        if (contains(path, "/machines/n2/")) CHECK(b.snapshot().at(path) == content);
    CHECK(nlohmann::json::parse(b.run({"ls", "--json"}).out)[0]["Errors"] == "");

    // Nothing is due any more: quiet, exit 0, nothing written.
    const auto after = b.snapshot();
    auto quiet = b.run({"regenerate-certs", "--if-expiring", "30d", "--all"});
    CHECK(quiet.exit_status == 0);
    CHECK(quiet.out.empty());
    CHECK(quiet.err.empty());
    CHECK(b.snapshot() == after);
}

TEST_CASE("regenerate-certs --if-expiring 30d leaves fresh machines alone byte for byte - without asking", "[cli][expiry]") {
    Berth b;
    b.create("n1");
    b.create("default");
    const auto before = b.snapshot();
    for (std::vector<std::string> args : {std::vector<std::string>{"regenerate-certs", "--if-expiring", "30d", "n1"},
                                          {"regenerate-certs", "--if-expiring", "30d", "--all"},
                                          {"regenerate-certs", "--if-expiring", "30"},
                                          {"regenerate-certs", "--if-expiring", "720h", "-f", "n1", "default"}}) {
        auto r = b.run(args);
        INFO(r.err);
        CHECK(r.exit_status == 0);
        CHECK(r.out.empty());
        CHECK(r.err.empty());
        CHECK(b.snapshot() == before);
    }
    // A window past the certificates' two years: everything but the CA is due.
    auto far = b.run({"regenerate-certs", "--if-expiring", "800d", "-f", "n1"});
    INFO(far.err);
    CHECK(far.exit_status == 0);
    CHECK(far.out.starts_with("n1: a new server and client certificate in "));
    CHECK(b.file("n1", k_ca_cert_file) == before.at(b.st.machine_file("n1", k_ca_cert_file).string()));
    CHECK(b.file("n1", k_server_cert_file) != before.at(b.st.machine_file("n1", k_server_cert_file).string()));
}

TEST_CASE("regenerate-certs usage errors: a bad duration - --if-expiring with --client-certs - --all with names",
          "[cli][expiry]") {
    Berth b;
    b.create("n1");
    const auto before = b.snapshot();
    for (std::vector<std::string> args : {std::vector<std::string>{"regenerate-certs", "--if-expiring", "30x", "n1"},
                                          {"regenerate-certs", "--if-expiring", "-3d", "n1"},
                                          {"regenerate-certs", "--if-expiring", "1.5d", "n1"},
                                          {"regenerate-certs", "--if-expiring", "30d", "--client-certs", "n1"},
                                          {"regenerate-certs", "--if-expiring", "30d", "--new-ca", "n1"},
                                          {"regenerate-certs", "-f", "--all", "n1"}}) {
        auto r = b.run(args);
        CAPTURE(args);
        INFO(r.err);
        CHECK(r.exit_status == 2);
        CHECK(b.snapshot() == before);
    }
    auto bad = b.run({"regenerate-certs", "--if-expiring", "30x", "n1"});
    CHECK(contains(bad.err, "--if-expiring: \"30x\" is not a duration"));
    CHECK(contains(bad.err, "30d, 12h"));
    CHECK(b.run({"regenerate-certs", "--if-expiring", "30d", "ghost"}).exit_status == 1);
}

TEST_CASE("regenerate-certs --client-certs: a new client certificate from the same CA - no host needed - the server untouched",
          "[cli][expiry]") {
    Berth b;
    // A generic machine whose SSH port answers nothing: what needs the host fails, --client-certs does not.
    auto made = pki::make_machine_certs({"g1", {"127.0.0.1"}, pki::KeyType::EcdsaP256, {}});
    REQUIRE(made);
    MachineRecord r;
    r.name = "g1";
    r.driver_name = "generic";
    r.status = MachineStatus::Ready;
    r.created_at = now_rfc3339();
    r.driver = {{"ip_address", "127.0.0.1"}, {"ssh_user", "root"}, {"ssh_port", 1}, {"engine_port", 2376}};
    r.tls.ca_fingerprint = pki::read_cert(made->ca.cert_pem)->sha256_fingerprint;
    REQUIRE(b.st.ensure_layout());
    REQUIRE(b.st.save(r));
    for (auto [file, pem] : {std::pair{k_ca_cert_file, made->ca.cert_pem}, std::pair{k_ca_key_file, made->ca.key_pem},
                             std::pair{k_client_cert_file, made->client.cert_pem}, std::pair{k_client_key_file, made->client.key_pem},
                             std::pair{k_server_cert_file, made->server.cert_pem}, std::pair{k_server_key_file, made->server.key_pem}})
        REQUIRE(b.st.write_file("g1", file, pem, 0600));
    test::write_text(b.st.machine_file("g1", "ssh-key"), "not used\n");
    const auto before = b.snapshot();

    auto renewed = b.run({"regenerate-certs", "-f", "--client-certs", "g1"});
    INFO(renewed.err);
    REQUIRE(renewed.exit_status == 0);
    CHECK(contains(renewed.out, "g1: a new client certificate, valid until "));
    CHECK(b.file("g1", k_ca_cert_file) == made->ca.cert_pem);
    CHECK(b.file("g1", k_ca_key_file) == made->ca.key_pem);
    CHECK(b.file("g1", k_server_cert_file) == made->server.cert_pem);
    CHECK(b.file("g1", k_server_key_file) == made->server.key_pem);
    CHECK(b.file("g1", k_client_cert_file) != made->client.cert_pem);
    CHECK(b.file("g1", k_client_key_file) != made->client.key_pem);
    CHECK(test::file_mode(b.st.machine_file("g1", k_client_key_file)) == 0600);
    CHECK(verifies(b.st.machine_file("g1", k_ca_cert_file), b.st.machine_file("g1", k_client_cert_file)));
    CHECK(pki::read_cert(b.file("g1", k_client_cert_file))->subject_cn == pki::client_common_name("g1"));
    auto record = b.st.load("g1").value();
    CHECK(record.tls.ca_fingerprint == pki::read_cert(made->ca.cert_pem)->sha256_fingerprint);
    CHECK(record.tls.client_not_after == rfc3339(pki::read_cert(b.file("g1", k_client_cert_file))->not_after));

    // The server certificate needs the host: unreachable here, so it fails (exit 1) and says so.
    auto server = b.run({"regenerate-certs", "-f", "--ssh-timeout", "1", "g1"});
    CHECK(server.exit_status == 1);
    CHECK(b.file("g1", k_ca_cert_file) == made->ca.cert_pem);
    // The new server certificate is in the store, not on the host: pending, shown, and tried
    // again by the next --if-expiring although nothing ends within its window.
    CHECK(b.st.load("g1")->tls.install_pending);
    CHECK(contains(nlohmann::json::parse(b.run({"ls", "--json"}).out)[0]["CertWarnings"].get<std::string>(),
                   "new certificates not installed on the host yet (berth provision g1)"));
    auto retried = b.run({"regenerate-certs", "-f", "--if-expiring", "30d", "--ssh-timeout", "1", "g1"});
    CHECK(retried.exit_status == 1);
    CHECK(b.st.load("g1")->tls.install_pending);
}

TEST_CASE("a CA ending in 10 days: --if-expiring makes a new CA - server and client - and names the per-user certificates",
          "[cli][expiry]") {
    Berth b;
    b.create("n1");
    REQUIRE(b.run({"certs", "issue", "n1", "--user", "alice", "--days", "5"}).exit_status == 0);
    auto ls = b.run({"ls", "--json"});
    CHECK(contains(nlohmann::json::parse(ls.out)[0]["CertWarnings"].get<std::string>(),
                   "certificate of user alice expires in 5 days"));
    CHECK(nlohmann::json::parse(b.run({"inspect", "n1"}).out)["certificates"]["users"][0]["cn"] == "alice");

    // Alice's certificate alone is due: told on stderr, not renewed (she needs the new key).
    const auto before = b.snapshot();
    auto told = b.run({"regenerate-certs", "--if-expiring", "30d", "n1"});
    CHECK(told.exit_status == 0);
    CHECK(told.out.empty());
    CHECK(contains(told.err, "certificate of user alice expires in 5 days"));
    CHECK(contains(told.err, "berth certs issue n1 --user alice"));
    CHECK(b.snapshot() == before);

    // Now the CA ends in 10 days (a machine made with such a CA).
    pki::MachineCertRequest req{"n1", {"10.1.2.3"}, pki::KeyType::EcdsaP256, {}};
    req.validity.ca_days = 10;
    req.validity.leaf_days = 10;
    auto made = pki::make_machine_certs(req);
    REQUIRE(made);
    for (auto [file, pem] : {std::pair{k_ca_cert_file, made->ca.cert_pem}, std::pair{k_ca_key_file, made->ca.key_pem},
                             std::pair{k_client_cert_file, made->client.cert_pem}, std::pair{k_client_key_file, made->client.key_pem},
                             std::pair{k_server_cert_file, made->server.cert_pem}, std::pair{k_server_key_file, made->server.key_pem}})
        REQUIRE(b.st.write_file("n1", file, pem, 0600));
    CHECK(contains(b.run({"ls"}).out, "CA certificate expires in 10 days"));
    auto renewed = b.run({"regenerate-certs", "-f", "--if-expiring", "30d", "n1"});
    INFO(renewed.err);
    REQUIRE(renewed.exit_status == 0);
    CHECK(renewed.out.starts_with("n1: a new CA, server and client certificate in "));
    CHECK(contains(renewed.err, "1 per-user certificate(s) were issued from the old CA"));
    const auto ca = pki::read_cert(b.file("n1", k_ca_cert_file)).value();
    CHECK(ca.sha256_fingerprint != pki::read_cert(made->ca.cert_pem)->sha256_fingerprint);
    CHECK(b.st.load("n1")->tls.ca_fingerprint == ca.sha256_fingerprint);
    CHECK(ca.not_after > std::chrono::system_clock::now() + std::chrono::hours(24 * 1800));
    CHECK(verifies(b.st.machine_file("n1", k_ca_cert_file), b.st.machine_file("n1", k_client_cert_file)));
    CHECK(verifies(b.st.machine_file("n1", k_ca_cert_file), b.st.machine_file("n1", k_server_cert_file)));
}
