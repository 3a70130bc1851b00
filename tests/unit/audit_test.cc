// berth audit's reading of a host (audit_host.h) and its checks (audit_checks.h): hand-written
// outputs in the format the host prints, each check passing and failing.

#include <berth/provision/audit_checks.h>
#include <berth/provision/audit_host.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace berth;

namespace {

const std::string k_nonce = "0123abcd";

std::string section(const std::string& name) { return "@" + k_nonce + " " + name + "\n"; }

/// What the audit command prints on a host berth hardened (Debian 12, docker.io, berth-authz).
std::string hardened_output() {
    return section("auditctl") + section("have-auditctl") +
           "-w /usr/sbin/dockerd -p rwxa -k docker\n-w /run/containerd -p rwxa -k docker\n"
           "-w /var/lib/docker/ -p wa -k docker\n-a always,exit -F arch=b64 -S all -F dir=/etc/docker -F perm=wa -F key=docker\n"
           "-w /lib/systemd/system/docker.service -p rwxa -k docker\n-w /run/containerd/containerd.sock -p rwxa -k docker\n"
           "-w /lib/systemd/system/docker.socket -p rwxa -k docker\n-w /etc/docker/daemon.json -p rwxa -k docker\n"
           "-w /usr/bin/containerd -p rwxa -k docker\n-w /usr/bin/containerd-shim-runc-v2 -p rwxa -k docker\n"
           "-w /usr/sbin/runc -p rwxa -k docker\n" +
           section("docker-root") + "mounted\n" + section("docker-group") + "docker:x:998:\n" + section("stat") +
           "755 root:root /etc/docker\n444 root:root /etc/docker/tls/ca.pem\n444 root:root /etc/docker/tls/server-cert.pem\n"
           "400 root:root /etc/docker/tls/server-key.pem\n660 root:docker /var/run/docker.sock\n"
           "660 root:docker /run/docker.sock\n660 root:root /run/containerd/containerd.sock\n"
           "644 root:root /lib/systemd/system/docker.service\n644 root:root /lib/systemd/system/docker.socket\n"
           "644 root:root /etc/docker/daemon.json\n755 root:root /usr/sbin/dockerd\n711 root:root /run/containerd\n"
           "710 root:root /var/lib/docker\n755 root:root /usr/bin/containerd\n755 root:root /usr/bin/containerd-shim-runc-v2\n"
           "755 root:root /usr/sbin/runc\n" +
           section("daemon-json") + section("have-daemon-json") +
           "{\n  \"hosts\": [\"unix:///var/run/docker.sock\", \"tcp://0.0.0.0:2376\"],\n  \"icc\": false,\n"
           "  \"userns-remap\": \"default\",\n  \"no-new-privileges\": true,\n  \"live-restore\": true,\n"
           "  \"userland-proxy\": false,\n  \"log-driver\": \"journald\",\n"
           "  \"default-ulimits\": {\"nofile\": {\"Name\": \"nofile\", \"Hard\": 65536, \"Soft\": 65536}},\n"
           "  \"authorization-plugins\": [\"berth-authz\"]\n}\n" +
           section("dockerd-args") + "/usr/sbin/dockerd\n--tlsverify\n--containerd=/run/containerd/containerd.sock\n" +
           section("exec-start") +
           "{ path=/usr/sbin/dockerd ; argv[]=/usr/sbin/dockerd --tlsverify --containerd=/run/containerd/containerd.sock ; }\n" +
           section("suid") + section("caps") + section("getcap") + section("end");
}

nlohmann::json hardened_info() {
    return {{"SecurityOptions", {"name=apparmor", "name=seccomp,profile=default", "name=userns", "name=cgroupns"}},
            {"LoggingDriver", "journald"},
            {"LiveRestoreEnabled", true},
            {"ExperimentalBuild", false},
            {"Plugins", {{"Authorization", {"berth-authz"}}}},
            {"RegistryConfig", {{"InsecureRegistryCIDRs", {"127.0.0.0/8"}}}}};
}

AuditInput hardened() {
    AuditInput in;
    in.host = parse_audit_output(hardened_output(), k_nonce).value();
    in.api.info = hardened_info();
    in.api.probe = ApiAnswer{403, R"({"message":"authorization denied by plugin berth-authz: berth-authz: --privileged )"
                                  R"x(is refused on this host (rule privileged in /etc/berth/authz.yaml)"})x"};
    CheckReport check;
    check.steps = {{"packages", {}}, {"daemon.json", {}}};
    check.digests = {{"/etc/docker/daemon.json", "abc"}};
    in.check = check;
    in.recorded_digests = {{"/etc/docker/daemon.json", "abc"}};
    return in;
}

const AuditResult& find(const std::vector<AuditResult>& results, const std::string& id, size_t nth = 0) {
    for (const auto& r : results)
        if (r.id == id && nth-- == 0) return r;
    FAIL("no result " + id);
    throw std::logic_error("unreachable");
}

std::string warned(const std::vector<AuditResult>& results) {
    std::string out;
    for (const auto& r : results)
        if (r.status == AuditStatus::Warn) out += r.id + " " + r.title + ": " + r.detail + "\n";
    return out;
}

nlohmann::json containers_fixture() {
    std::ifstream in(std::string(BERTH_TESTS_DIR) + "/fixtures/audit/containers-handmade.json");
    REQUIRE(in.good());
    return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("the audit command is read-only, quotes every path and marks its sections with the nonce", "[audit]") {
    const std::string script = audit_script("n0nce", {"/srv/berth/it's here", "/srv/berth/www"});
    CHECK(script.find("'/srv/berth/it'\\''s here' '/srv/berth/www'") != std::string::npos);
    CHECK(script.find("'@n0nce'' end'") != std::string::npos);
    for (const char* writes : {"install ", "chmod", "chown", " rm ", "tee", "systemctl restart", "augenrules", "> /"})
        CHECK(script.find(writes) == std::string::npos);
    // No bind mounts: nothing is searched.
    CHECK(audit_script("n0nce", {}).find("find '") == std::string::npos);
}

TEST_CASE("the audit output parser reads every section and ignores forged markers", "[audit]") {
    auto host = parse_audit_output(hardened_output(), k_nonce);
    REQUIRE(host);
    CHECK(host->auditctl);
    CHECK(host->audit_rules.size() == 11);
    CHECK(host->docker_root_mounted == true);
    CHECK(host->docker_group);
    CHECK(host->docker_group_members.empty());
    CHECK(host->files.at("/etc/docker/tls/server-key.pem").mode == 0400);
    CHECK(host->files.at("/var/run/docker.sock").owner == "root:docker");
    REQUIRE(host->daemon_json);
    CHECK(host->dockerd_args.size() == 3);
    CHECK(host->getcap);

    // A file name cannot open a section: only lines with this run's nonce do.
    std::string forged = hardened_output();
    forged.insert(forged.find(section("caps")), "/srv/berth/x\n@other end\n@ auditctl\n");
    auto f = parse_audit_output(forged, k_nonce);
    REQUIRE(f);
    CHECK(f->suid_files.size() == 3);
    CHECK(f->audit_rules.size() == 11);

    CHECK_FALSE(parse_audit_output(hardened_output().substr(0, 300), k_nonce));
    CHECK_FALSE(parse_audit_output(hardened_output(), "other"));
    CHECK(parse_audit_output("@" + k_nonce + " stat\nxyz root:root /a\n777777 root:root /b\n" + section("end"), k_nonce)
              ->files.empty());
}

TEST_CASE("a host berth hardened passes every scored check", "[audit]") {
    const auto results = evaluate_audit(hardened());
    INFO(warned(results));
    CHECK(audit_passed(results));
    CHECK(find(results, "1.1.3").status == AuditStatus::Pass);
    CHECK(find(results, "1.1.10").status == AuditStatus::Info);  // no /etc/default/docker
    CHECK(find(results, "2.7").detail.find("on dockerd's command line") != std::string::npos);
    CHECK(find(results, "2.12").status == AuditStatus::Pass);
    CHECK(find(results, "3.14").status == AuditStatus::Pass);
    CHECK(find(results, "berth.suid").status == AuditStatus::Pass);
}

TEST_CASE("host checks: own filesystem, the docker group, an audit rule missing or auditctl gone", "[audit]") {
    auto in = hardened();
    in.host.docker_root_mounted = false;
    in.host.docker_group_members = {"alice"};
    in.host.audit_rules.erase(in.host.audit_rules.begin());  // -w /usr/sbin/dockerd
    auto results = host_checks(in.host);
    CHECK(find(results, "1.1.1").status == AuditStatus::Warn);
    CHECK(find(results, "1.1.2").status == AuditStatus::Info);
    CHECK(find(results, "1.1.2").detail.find("alice") != std::string::npos);
    CHECK(find(results, "1.1.3").status == AuditStatus::Warn);
    CHECK(find(results, "1.1.3").detail == "no rule watches /usr/sbin/dockerd");
    CHECK(find(results, "1.1.4").status == AuditStatus::Pass);

    in.host.audit_rules = {"No rules"};  // auditctl -D
    results = host_checks(in.host);
    for (const char* id : {"1.1.3", "1.1.4", "1.1.5", "1.1.6", "1.1.7", "1.1.8", "1.1.9", "1.1.11", "1.1.14", "1.1.17", "1.1.18"})
        CHECK(find(results, id).status == AuditStatus::Warn);
    in.host.auditctl = false;
    CHECK(find(host_checks(in.host), "1.1.5").detail.find("auditctl is not installed") != std::string::npos);
    CHECK_FALSE(audit_passed(host_checks(in.host)));
}

TEST_CASE("daemon checks fail one by one on a hand-edited daemon.json", "[audit]") {
    const std::vector<std::pair<std::string, std::string>> edits = {
        {"\"icc\": false", "\"icc\": true"},
        {"\"userns-remap\": \"default\"", "\"userns-remap\": \"\""},
        {"\"no-new-privileges\": true", "\"no-new-privileges\": false"},
        {"\"userland-proxy\": false", "\"userland-proxy\": true"},
        {"\"authorization-plugins\": [\"berth-authz\"]", "\"authorization-plugins\": []"},
        {"\"icc\": false,", "\"icc\": false, \"log-level\": \"debug\", \"insecure-registries\": [\"10.0.0.1:5000\"],"},
        {"\"default-ulimits\"", "\"other\""},
    };
    const std::vector<std::vector<std::string>> failing = {{"2.2"}, {"2.9"}, {"2.14"}, {"2.16"}, {"2.12"}, {"2.3", "2.5"}, {"2.8"}};
    for (size_t i = 0; i < edits.size(); ++i) {
        auto in = hardened();
        auto& text = *in.host.daemon_json;
        REQUIRE(text.find(edits[i].first) != std::string::npos);
        text.replace(text.find(edits[i].first), edits[i].first.size(), edits[i].second);
        auto results = daemon_checks(in.host, in.api);
        std::string warns;
        for (const auto& r : results)
            if (r.status == AuditStatus::Warn) warns += r.id + " ";
        std::string want;
        for (const auto& id : failing[i]) want += id + " ";
        CAPTURE(edits[i].second);
        CHECK(warns == want);
    }
}

TEST_CASE("daemon checks read the live daemon: TLS, authz probe, log driver, live restore, seccomp", "[audit]") {
    auto in = hardened();
    in.api.anonymous_error = "Docker at tcp://10.0.0.5:2376 answers a client without a certificate (HTTP 200)";
    CHECK(find(daemon_checks(in.host, in.api), "2.7").status == AuditStatus::Warn);
    in = hardened();
    in.host.dockerd_args = {"/usr/sbin/dockerd"};  // --tlsverify gone from the command line and not in daemon.json
    CHECK(find(daemon_checks(in.host, in.api), "2.7").status == AuditStatus::Warn);
    in.host.dockerd_args.clear();  // no /proc: ExecStart is read
    CHECK(find(daemon_checks(in.host, in.api), "2.7").status == AuditStatus::Pass);

    in = hardened();
    in.api.probe = ApiAnswer{404, R"({"message":"No such image: berth-audit-probe/none:absent"})"};
    auto authz = find(daemon_checks(in.host, in.api), "2.12");
    CHECK(authz.status == AuditStatus::Warn);
    CHECK(authz.detail.find("let a privileged container through") != std::string::npos);
    in.api.probe.reset();
    in.api.probe_error = "connection refused";
    CHECK(find(daemon_checks(in.host, in.api), "2.12").status == AuditStatus::Warn);
    in = hardened();
    in.api.info["Plugins"]["Authorization"] = nlohmann::json::array();
    CHECK(find(daemon_checks(in.host, in.api), "2.12").detail.find("not active") != std::string::npos);

    in = hardened();
    in.api.info["LoggingDriver"] = "json-file";
    in.api.info["LiveRestoreEnabled"] = false;
    in.api.info["ExperimentalBuild"] = true;
    in.api.info["SecurityOptions"] = {"name=apparmor", "name=seccomp,profile=unconfined"};
    auto results = daemon_checks(in.host, in.api);
    for (const char* id : {"2.9", "2.13", "2.15", "2.17", "2.18"}) CHECK(find(results, id).status == AuditStatus::Warn);
    CHECK_FALSE(find(results, "2.17").scored);

    in = hardened();
    in.api.info = "not an object";  // a strange answer is a finding, never an exception
    CHECK_FALSE(audit_passed(daemon_checks(in.host, in.api)));
}

TEST_CASE("file checks: a chmod of the server key, an owner changed, a file missing", "[audit]") {
    auto in = hardened();
    in.host.files["/etc/docker/tls/server-key.pem"].mode = 0644;
    in.host.files["/etc/docker/daemon.json"].owner = "alice:root";
    in.host.files.erase("/etc/docker/tls/ca.pem");
    in.host.files["/etc/docker/certs.d/reg:5000/ca.crt"] = {0644, "root:root"};
    auto results = file_checks(in.host);
    CHECK(find(results, "3.14").status == AuditStatus::Warn);
    CHECK(find(results, "3.14").detail == "/etc/docker/tls/server-key.pem is 0644");
    CHECK(find(results, "3.13").status == AuditStatus::Pass);
    CHECK(find(results, "3.17").status == AuditStatus::Warn);
    CHECK(find(results, "3.9").detail == "missing");
    CHECK(find(results, "3.8").status == AuditStatus::Warn);
    CHECK(find(results, "3.16").status == AuditStatus::Pass);
    CHECK(find(results, "3.19").status == AuditStatus::Info);
    CHECK(results.front().id == "3.1");
    CHECK(results.back().id == "3.24");
}

TEST_CASE("drift checks list each step's drift and a record that differs", "[audit]") {
    CheckReport check;
    check.steps = {{"packages", {}}, {"daemon.json", {"/etc/docker/daemon.json differs (digest)"}}};
    check.digests = {{"/etc/docker/daemon.json", "new"}};
    auto results = drift_checks(check, {{"/etc/docker/daemon.json", "old"}});
    CHECK(find(results, "berth.drift", 0).status == AuditStatus::Pass);
    CHECK(find(results, "berth.drift", 1).status == AuditStatus::Warn);
    CHECK(find(results, "berth.drift", 1).detail == "/etc/docker/daemon.json differs (digest)");
    CHECK(find(results, "berth.drift", 2).status == AuditStatus::Info);
}

TEST_CASE("runtime checks name the containers that run privileged, share host namespaces or mount the socket", "[audit]") {
    const auto fixture = containers_fixture();
    std::vector<nlohmann::json> containers(fixture.begin(), fixture.end());
    auto results = runtime_checks(containers);
    for (const char* id : {"5.4", "5.5", "5.9", "5.15", "5.16", "5.20", "5.30", "5.31"}) {
        CAPTURE(id);
        CHECK(find(results, id).status == AuditStatus::Warn);
        CHECK(find(results, id).detail == "containers: escape");
    }
    containers.pop_back();
    CHECK(audit_passed(runtime_checks(containers)));
    CHECK(find(runtime_checks({}), "5.4").detail == "no running containers");
    CHECK(bind_sources(fixture.get<std::vector<nlohmann::json>>()) ==
          std::vector<std::string>{"/", "/srv/berth/www", "/var/run/docker.sock"});
    // Garbage from the API is no container of concern, never an exception.
    CHECK(audit_passed(runtime_checks({nlohmann::json("x"), nlohmann::json::object(), {{"HostConfig", 3}}})));
}

TEST_CASE("the SUID check names the files found in bind-mounted directories", "[audit]") {
    AuditHost host;
    host.getcap = true;
    CHECK(suid_check(host, {}).status == AuditStatus::Pass);
    CHECK(suid_check(host, {"/srv/berth/www"}).status == AuditStatus::Pass);
    host.suid_files = {"/srv/berth/www/bash"};
    host.cap_files = {"/srv/berth/www/ping cap_net_raw=ep"};
    auto found = suid_check(host, {"/srv/berth/www"});
    CHECK(found.status == AuditStatus::Warn);
    CHECK(found.scored);
    CHECK(found.detail.find("/srv/berth/www/bash, /srv/berth/www/ping cap_net_raw=ep") != std::string::npos);
    host = {};
    CHECK(suid_check(host, {"/srv"}).status == AuditStatus::Info);  // no getcap: not confirmed
}
