#include <berth/docker/docker_client.h>
#include <berth/pki/pki.h>

#include <catch2/catch.hpp>

#include "port_server.h"
#include "temp_dir.h"

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using berth::DockerClient;
using berth::DockerTls;
using berth::pki::MachineCerts;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

fs::path fixture(const std::string& name) { return fs::path(BERTH_TESTS_DIR) / "fixtures/docker" / name; }

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// One machine's certificates, written as berth's store lays them out plus the server's pair.
class Machine {
public:
    explicit Machine(const std::string& name) {
        berth::pki::MachineCertRequest request;
        request.machine = name;
        request.sans = {"127.0.0.1"};
        auto certs = berth::pki::make_machine_certs(request);
        INFO((certs ? std::string() : certs.error().line()));
        REQUIRE(certs.has_value());
        m_certs = *certs;
        berth::test::write_text(m_dir / "ca.pem", m_certs.ca.cert_pem);
        berth::test::write_text(m_dir / "cert.pem", m_certs.client.cert_pem);
        berth::test::write_text(m_dir / "key.pem", m_certs.client.key_pem);
        berth::test::write_text(m_dir / "server.pem", m_certs.server.cert_pem);
        berth::test::write_text(m_dir / "server-key.pem", m_certs.server.key_pem);
    }

    [[nodiscard]] fs::path file(const std::string& name) const { return m_dir / name; }
    [[nodiscard]] const MachineCerts& certs() const { return m_certs; }
    [[nodiscard]] DockerTls client_tls() const { return {file("ca.pem"), file("cert.pem"), file("key.pem")}; }

private:
    berth::test::TempDir m_dir;
    MachineCerts m_certs;
};

struct FakeDockerdSetup {
    fs::path ca;    ///< CA the server checks client certificates against
    fs::path cert;  ///< server certificate
    fs::path key;   ///< server key
    fs::path info = fixture("info-debian12-hardened.json");
    double delay_seconds = 0;
    int info_status = 200;
    std::string client_cert = "required";  ///< "optional": serves clients without a certificate
    fs::path containers;                   ///< JSON array of running containers' inspect objects
    std::string authz = "refuse";          ///< "none": a privileged create is let through
};

FakeDockerdSetup server_of(const Machine& machine) {
    FakeDockerdSetup setup;
    setup.ca = machine.file("ca.pem");
    setup.cert = machine.file("server.pem");
    setup.key = machine.file("server-key.pem");
    return setup;
}

/// tests/support/fake_dockerd.py on 127.0.0.1, stopped with the object.
class FakeDockerd {
public:
    explicit FakeDockerd(const FakeDockerdSetup& setup) {
        std::vector<std::string> args = {
            "python3", std::string(BERTH_TESTS_DIR) + "/support/fake_dockerd.py",
            "--ca", setup.ca.string(), "--cert", setup.cert.string(), "--key", setup.key.string(),
            "--info", setup.info.string(), "--version", fixture("version-20.10.24.json").string(),
            "--delay", std::to_string(setup.delay_seconds),
            "--info-status", std::to_string(setup.info_status), "--client-cert", setup.client_cert,
            "--authz", setup.authz};
        if (!setup.containers.empty()) args.insert(args.end(), {"--containers", setup.containers.string()});
        m_server.emplace(std::move(args), m_dir / "fake_dockerd.log");
    }

    FakeDockerd(const FakeDockerd&) = delete;
    FakeDockerd& operator=(const FakeDockerd&) = delete;

    [[nodiscard]] std::string url() const { return "tcp://127.0.0.1:" + std::to_string(port()); }
    [[nodiscard]] int port() const { return m_server->port(); }

private:
    berth::test::TempDir m_dir;
    std::optional<berth::test::PortServer> m_server;
};

/// A loopback port that is bound but never listens: connecting to it is refused, and no other
/// process can take it while the object lives.
class RefusingPort {
public:
    RefusingPort() {
        m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(m_fd >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        m_port = ntohs(addr.sin_port);
    }
    ~RefusingPort() { ::close(m_fd); }
    RefusingPort(const RefusingPort&) = delete;
    RefusingPort& operator=(const RefusingPort&) = delete;

    [[nodiscard]] std::string url() const { return "tcp://127.0.0.1:" + std::to_string(m_port); }

private:
    int m_fd = -1;
    int m_port = 0;
};

/// The error's line and its --debug context, for INFO.
std::string describe(const berth::Error& error) {
    std::string text = error.line();
    for (const auto& [key, value] : error.context) text += "\n  " + key + ": " + value;
    return text;
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

/// An error must never carry key material, whatever failed.
void check_no_key_material(const berth::Error& error) {
    CHECK_FALSE(contains(error.line(), "PRIVATE KEY"));
    CHECK_FALSE(contains(error.line(), "BEGIN"));
    for (const auto& [key, value] : error.context) CHECK_FALSE(contains(value, "BEGIN"));
}

}  // namespace

TEST_CASE("ping, info and version answer over mutual TLS with the machine's certificates", "[docker]") {
    const Machine dev("dev");
    const FakeDockerd dockerd(server_of(dev));
    DockerClient client(dockerd.url(), dev.client_tls());

    auto ping = client.ping();
    INFO((ping ? std::string() : ping.error().line()));
    REQUIRE(ping.has_value());

    auto info = client.info();
    INFO((info ? std::string() : info.error().line()));
    REQUIRE(info.has_value());
    CHECK((*info)["ServerVersion"] == "20.10.24+dfsg1");
    CHECK((*info)["SecurityOptions"].size() == 4);

    auto version = client.version();
    INFO((version ? std::string() : version.error().line()));
    REQUIRE(version.has_value());
    CHECK((*version)["ApiVersion"] == "1.41");
    CHECK((*version)["Version"] == "20.10.24+dfsg1");

    SECTION("localhost, always in the server's SANs, verifies too") {
        DockerClient by_name("tcp://localhost:" + std::to_string(dockerd.port()), dev.client_tls());
        auto pong = by_name.ping();
        INFO((pong ? std::string() : pong.error().line()));
        CHECK(pong.has_value());
    }
}

TEST_CASE("a proxy from the environment is never used for the docker host", "[docker]") {
    const Machine dev("dev");
    const FakeDockerd dockerd(server_of(dev));
    struct ProxyEnv {
        std::vector<std::string> names = {"HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"};
        ProxyEnv() {
            for (const auto& name : names) ::setenv(name.c_str(), "http://127.0.0.1:9", 1);
        }
        ~ProxyEnv() {
            for (const auto& name : names) ::unsetenv(name.c_str());
        }
    } proxy_env;
    DockerClient client(dockerd.url(), dev.client_tls());
    auto ping = client.ping();
    INFO((ping ? std::string() : ping.error().line()));
    CHECK(ping.has_value());
}

TEST_CASE("the daemon refuses a client certificate from another machine's CA", "[docker]") {
    const Machine dev("dev");
    const Machine other("other");
    const FakeDockerd dockerd(server_of(dev));
    DockerClient client(dockerd.url(), {dev.file("ca.pem"), other.file("cert.pem"), other.file("key.pem")},
                        4s);

    const auto start = Clock::now();
    auto info = client.info();
    REQUIRE_FALSE(info.has_value());
    INFO(describe(info.error()));
    CHECK(seconds_since(start) < 2.0);  // refused, not timed out
    CHECK(contains(info.error().message, dockerd.url()));
    // The server's alert is often lost to the reset of the connection; both readings name the
    // client certificate.
    const auto& message = info.error().message;
    CHECK((contains(message, "TLS handshake was refused") ||
           contains(message, "dropped the connection right after the TLS handshake")));
    CHECK(contains(info.error().hint, "client certificate"));
    CHECK(contains(info.error().hint, "berth regenerate-certs"));
    check_no_key_material(info.error());
}

TEST_CASE("a daemon that requires a client certificate passes the anonymous-client check", "[docker][anonymous]") {
    const Machine dev("dev");
    const FakeDockerd dockerd(server_of(dev));
    DockerClient client(dockerd.url(), dev.client_tls(), 4s);
    REQUIRE(client.ping().has_value());  // the machine's own client is served

    const auto start = Clock::now();
    auto refused = client.refuses_anonymous_client();
    INFO((refused ? std::string() : describe(refused.error())));
    CHECK(refused.has_value());
    CHECK(seconds_since(start) < 2.0);
}

TEST_CASE("a daemon that serves clients without a certificate fails the anonymous-client check", "[docker][anonymous]") {
    const Machine dev("dev");
    FakeDockerdSetup setup = server_of(dev);
    setup.client_cert = "optional";  // dockerd with tls but without tlsverify
    const FakeDockerd dockerd(setup);
    DockerClient client(dockerd.url(), dev.client_tls(), 4s);
    REQUIRE(client.ping().has_value());  // mutual TLS still works: only the anonymous check tells

    auto refused = client.refuses_anonymous_client();
    REQUIRE_FALSE(refused.has_value());
    INFO(describe(refused.error()));
    CHECK(contains(refused.error().message, "answers a client without a certificate"));
    CHECK(contains(refused.error().message, dockerd.url()));
    CHECK(contains(refused.error().hint, "tlsverify"));
}

TEST_CASE("the anonymous-client check fails when it cannot reach the daemon", "[docker][anonymous]") {
    const Machine dev("dev");
    const RefusingPort port;
    DockerClient client(port.url(), dev.client_tls(), 2s);
    auto refused = client.refuses_anonymous_client();
    REQUIRE_FALSE(refused.has_value());
    INFO(describe(refused.error()));
    CHECK(contains(refused.error().message, "cannot check that Docker"));
}

TEST_CASE("the client refuses a daemon whose certificate another machine's CA signed", "[docker]") {
    const Machine dev("dev");
    const Machine other("other");
    // The server would accept dev's client certificate; only its own certificate is wrong.
    FakeDockerdSetup setup = server_of(dev);
    setup.cert = other.file("server.pem");
    setup.key = other.file("server-key.pem");
    const FakeDockerd dockerd(setup);
    DockerClient client(dockerd.url(), dev.client_tls(), 4s);

    const auto start = Clock::now();
    auto ping = client.ping();
    REQUIRE_FALSE(ping.has_value());
    INFO(ping.error().line());
    CHECK(seconds_since(start) < 2.0);
    CHECK(contains(ping.error().message, "certificate is not valid for this machine"));
    CHECK(contains(ping.error().message, "SSL certificate problem"));  // curl's own words
    CHECK(contains(ping.error().hint, "berth regenerate-certs"));
    check_no_key_material(ping.error());
}

TEST_CASE("wait_until_ready fails at once on a daemon whose certificate another CA signed", "[docker]") {
    const Machine dev("dev");
    const Machine other("other");
    FakeDockerdSetup setup = server_of(dev);
    setup.cert = other.file("server.pem");
    setup.key = other.file("server-key.pem");
    const FakeDockerd dockerd(setup);
    DockerClient client(dockerd.url(), dev.client_tls(), 4s);

    // Waiting cannot mend a certificate: one attempt, no back-off, whatever the timeout.
    const auto start = Clock::now();
    auto ready = client.wait_until_ready(60s);
    REQUIRE_FALSE(ready.has_value());
    INFO(describe(ready.error()));
    CHECK(seconds_since(start) < 2.0);
    CHECK(contains(describe(ready.error()), "attempts: 1"));
    CHECK(contains(ready.error().message, "certificate is not valid for this machine"));
    CHECK(contains(ready.error().hint, "berth regenerate-certs NAME"));
}

TEST_CASE("wait_until_ready fails at once when its own certificate files are missing", "[docker]") {
    const Machine dev("dev");
    DockerTls tls = dev.client_tls();
    tls.ca = dev.file("missing-ca.pem");
    const RefusingPort port;
    DockerClient client(port.url(), tls);
    const auto start = Clock::now();
    auto ready = client.wait_until_ready(60s);
    REQUIRE_FALSE(ready.has_value());
    CHECK(seconds_since(start) < 2.0);
    CHECK(contains(ready.error().message, "missing-ca.pem"));
}

TEST_CASE("a missing certificate file is named before anything is sent", "[docker]") {
    const Machine dev("dev");
    DockerTls tls = dev.client_tls();
    tls.key = dev.file("missing-key.pem");
    DockerClient client("tcp://127.0.0.1:2376", tls);
    auto ping = client.ping();
    REQUIRE_FALSE(ping.has_value());
    INFO(ping.error().line());
    CHECK(ping.error().kind == berth::ErrorKind::NotFound);
    CHECK(contains(ping.error().message, "missing-key.pem"));
    CHECK(contains(ping.error().hint, "berth regenerate-certs"));
}

TEST_CASE("a malformed docker URL is a usage error", "[docker]") {
    const Machine dev("dev");
    DockerClient client("https://127.0.0.1:2376", dev.client_tls());
    auto ping = client.ping();
    REQUIRE_FALSE(ping.has_value());
    CHECK(ping.error().kind == berth::ErrorKind::Usage);
}

TEST_CASE("wait_until_ready waits for a daemon that starts listening late", "[docker]") {
    const Machine dev("dev");
    FakeDockerdSetup setup = server_of(dev);
    setup.delay_seconds = 1.5;
    const auto start = Clock::now();
    const FakeDockerd dockerd(setup);
    DockerClient client(dockerd.url(), dev.client_tls());

    auto ready = client.wait_until_ready(10s);
    INFO((ready ? std::string() : ready.error().line()));
    REQUIRE(ready.has_value());
    const double waited = seconds_since(start);
    CHECK(waited >= 1.4);  // it did wait for the late daemon (how fast it noticed is not a test's business)
}

TEST_CASE("wait_until_ready gives up on a port nobody listens on", "[docker]") {
    const Machine dev("dev");
    const RefusingPort port;
    DockerClient client(port.url(), dev.client_tls());

    const auto start = Clock::now();
    auto ready = client.wait_until_ready(2s);
    const double waited = seconds_since(start);
    REQUIRE_FALSE(ready.has_value());
    INFO(ready.error().line());
    CHECK(waited >= 1.9);
    CHECK(waited < 3.0);
    const auto& message = ready.error().message;
    CHECK(contains(message, port.url()));
    CHECK(contains(message, "within 2.0s"));
    CHECK(contains(message, "waited 2."));
    CHECK(contains(message, "connection refused"));
    CHECK(contains(ready.error().hint, "journalctl -u docker"));
}

TEST_CASE("the hardened fixture's security options pass - without AppArmor they fail", "[docker]") {
    const Machine dev("dev");
    const FakeDockerd dockerd(server_of(dev));
    DockerClient client(dockerd.url(), dev.client_tls());
    auto info = client.info();
    INFO((info ? std::string() : info.error().line()));
    REQUIRE(info.has_value());

    auto ok = berth::check_security_options(*info, {"userns", "seccomp", "apparmor"});
    INFO((ok ? std::string() : ok.error().line()));
    CHECK(ok.has_value());
    CHECK(berth::check_security_options(*info, {"userns", "seccomp", "apparmor|selinux"}).has_value());

    auto& options = (*info)["SecurityOptions"];
    options.erase(0);  // "name=apparmor"
    REQUIRE(options.size() == 3);
    auto missing = berth::check_security_options(*info, {"userns", "seccomp", "apparmor"});
    REQUIRE_FALSE(missing.has_value());
    INFO(missing.error().line());
    CHECK(contains(missing.error().message, "lacks required security options: apparmor ("));
    CHECK(contains(missing.error().message, "it reports: seccomp, userns, cgroupns"));
    CHECK_FALSE(missing.error().hint.empty());
}

TEST_CASE("an HTTP 500 from /info is an error with the status and the body", "[docker]") {
    const Machine dev("dev");
    FakeDockerdSetup setup = server_of(dev);
    setup.info_status = 500;
    const FakeDockerd dockerd(setup);
    DockerClient client(dockerd.url(), dev.client_tls());

    CHECK(client.ping().has_value());
    auto info = client.info();
    REQUIRE_FALSE(info.has_value());
    INFO(info.error().line());
    CHECK(contains(info.error().message, "HTTP 500"));
    CHECK(contains(info.error().message, "fails on purpose"));
    CHECK(contains(info.error().hint, "journalctl -u docker"));
}

TEST_CASE("an /info body that is not JSON is an error, not an exception", "[docker]") {
    const Machine dev("dev");
    const berth::test::TempDir dir;
    berth::test::write_text(dir / "info.json", "<html>not docker</html>\n");
    FakeDockerdSetup setup = server_of(dev);
    setup.info = dir / "info.json";
    const FakeDockerd dockerd(setup);
    DockerClient client(dockerd.url(), dev.client_tls());

    berth::Result<nlohmann::json> info;
    REQUIRE_NOTHROW(info = client.info());
    REQUIRE_FALSE(info.has_value());
    INFO(info.error().line());
    CHECK(contains(info.error().message, "did not answer a JSON object"));
    CHECK(contains(info.error().message, "<html>not docker</html>"));
}

TEST_CASE("check_security_options reads names from hand-built SecurityOptions", "[docker]") {
    const auto info = nlohmann::json::parse(R"({
        "SecurityOptions": ["name=selinux", "name=seccomp,profile=default", "name=userns"]
    })");

    SECTION("SELinux stands in for AppArmor when either will do") {
        auto ok = berth::check_security_options(info, {"userns", "seccomp", "apparmor|selinux"});
        INFO((ok ? std::string() : ok.error().line()));
        CHECK(ok.has_value());
        CHECK(berth::check_security_options(info, {"selinux"}).has_value());
    }
    SECTION("AppArmor itself is missing") {
        auto missing = berth::check_security_options(info, {"userns", "apparmor"});
        REQUIRE_FALSE(missing.has_value());
        CHECK(contains(missing.error().message, ": apparmor ("));
        CHECK(contains(missing.error().message, "it reports: selinux, seccomp, userns"));
    }
    SECTION("every missing option is listed, alternatives spelled out") {
        auto missing = berth::check_security_options(
            nlohmann::json::parse(R"({"SecurityOptions": ["name=seccomp,profile=default"]})"),
            {"userns", "seccomp", "apparmor|selinux"});
        REQUIRE_FALSE(missing.has_value());
        CHECK(contains(missing.error().message, ": userns, apparmor or selinux ("));
    }
    SECTION("a key=value after the name does not count as a name") {
        auto missing = berth::check_security_options(
            nlohmann::json::parse(R"({"SecurityOptions": ["name=seccomp,profile=userns"]})"),
            {"userns"});
        CHECK_FALSE(missing.has_value());
    }
    SECTION("no SecurityOptions at all") {
        auto missing = berth::check_security_options(nlohmann::json::parse(R"({"ID": "x"})"), {"userns"});
        REQUIRE_FALSE(missing.has_value());
        CHECK(contains(missing.error().message, "no SecurityOptions"));
        CHECK_FALSE(berth::check_security_options(nlohmann::json::array(), {"userns"}).has_value());
    }
}

// --- what berth audit asks the API: the running containers, the authorization probe -------------

TEST_CASE("running_containers lists and inspects each running container over mutual TLS", "[docker][audit]") {
    const Machine dev("dev");
    auto setup = server_of(dev);
    setup.containers = fs::path(BERTH_TESTS_DIR) / "fixtures/audit/containers-handmade.json";
    const FakeDockerd dockerd(setup);
    DockerClient client(dockerd.url(), dev.client_tls());
    auto containers = client.running_containers();
    INFO((containers ? std::string() : containers.error().line()));
    REQUIRE(containers.has_value());
    REQUIRE(containers->size() == 2);
    CHECK((*containers)[0]["Name"] == "/web");
    CHECK((*containers)[1]["HostConfig"]["Privileged"] == true);

    const FakeDockerd empty(server_of(dev));
    auto none = DockerClient(empty.url(), dev.client_tls()).running_containers();
    REQUIRE(none.has_value());
    CHECK(none->empty());
}

TEST_CASE("the authorization probe POSTs a privileged create as JSON and returns any answer", "[docker][audit]") {
    const Machine dev("dev");
    const FakeDockerd refusing(server_of(dev));
    auto refused = DockerClient(refusing.url(), dev.client_tls()).authz_probe();
    INFO((refused ? std::string() : refused.error().line()));
    REQUIRE(refused.has_value());
    CHECK(refused->status == 403);  // the fake answers 400 unless the body asks for a privileged container
    CHECK(contains(refused->body, "authorization denied by plugin berth-authz: berth-authz:"));

    auto setup = server_of(dev);
    setup.authz = "none";
    const FakeDockerd open(setup);
    auto through = DockerClient(open.url(), dev.client_tls()).authz_probe();
    REQUIRE(through.has_value());
    CHECK(through->status == 404);
    CHECK(contains(through->body, "No such image: berth-audit-probe/none:absent"));

    const RefusingPort port;
    auto unreachable = DockerClient(port.url(), dev.client_tls(), 2s).authz_probe();
    REQUIRE_FALSE(unreachable.has_value());
    CHECK(contains(unreachable.error().message, "POST /containers/create"));
}

TEST_CASE("call sends GET, POST and DELETE - nothing else", "[docker][swarm]") {
    const Machine dev("dev");
    const FakeDockerd daemon(server_of(dev));
    DockerClient client(daemon.url(), dev.client_tls());
    auto removed = client.call("DELETE", "/nodes/abc123?force=true", "");
    INFO((removed ? std::string() : removed.error().line()));
    REQUIRE(removed.has_value());
    CHECK(removed->status == 200);
    CHECK(contains(removed->body, "\"deleted\": \"abc123\""));
    auto got = client.call("GET", "/_ping", "");
    REQUIRE(got.has_value());
    CHECK(got->status == 200);
    auto other = client.call("PUT", "/nodes/abc123", "{}");
    REQUIRE_FALSE(other.has_value());
    CHECK(other.error().kind == berth::ErrorKind::Usage);
}
