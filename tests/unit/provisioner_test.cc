// The provisioning plan against a scripted session: exact ordered transcripts for Debian, Ubuntu
// and Fedora, no-drift re-provisioning, drift, engine options and failures; the check-only run
// and each step's check on its own facts.

#include <berth/authz/policy.h>
#include <berth/core/digest.h>
#include <berth/core/progress.h>
#include <berth/provision/config_steps.h>
#include <berth/provision/desired_files.h>
#include <berth/provision/elf_arch.h>
#include <berth/provision/engine_options.h>
#include <berth/provision/host_paths.h>
#include <berth/provision/host_steps.h>
#include <berth/provision/packages_step.h>
#include <berth/provision/provisioner.h>
#include <berth/process/runner.h>

#include "../fakes/fake_docker.h"
#include "../fakes/fake_elf.h"
#include "../fakes/managed_uploads.h"
#include "../fakes/scripted_session.h"
#include "temp_dir.h"
#include "test_gpg.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

using namespace berth;
using berth::test::FakeDocker;
using berth::test::ScriptedSession;

namespace {

std::string fixture(const std::string& rel) {
    std::ifstream in(std::string(BERTH_TESTS_DIR) + "/fixtures/" + rel);
    REQUIRE(in.good());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// What the facts command prints, built from a description of the host.
struct HostFacts {
    std::string os = "debian-12";
    std::string hostname = "localhost";
    std::map<std::string, std::string> packages;  // installed ones
    std::map<std::string, std::tuple<std::string, unsigned, std::string>> files;  // path -> digest, mode, owner
    std::vector<std::string> existing;
    std::map<std::string, std::string> units;  // unit -> "active enabled"
    std::vector<int> sshd_ports = {22};
    bool subid = false;
    std::string dockerd;
    std::string selinux;
    std::string arch = "x86_64";
    std::map<std::string, std::string> dirs;  // path -> "<mode> <owner>"

    std::string render() const {
        std::string s = "@os-release\n" + fixture("os-release/" + os) + "@hostname\n" + hostname + "\n@packages\n";
        for (const auto& [p, v] : packages) s += p + " " + v + "\n";
        s += "@files\n";
        for (const auto& [path, f] : files) {
            char mode[8];
            std::snprintf(mode, sizeof mode, "%o", std::get<1>(f));
            s += path + " " + std::get<0>(f) + " " + mode + " " + std::get<2>(f) + "\n";
        }
        s += "@exists\n";
        for (const auto& e : existing) s += e + "\n";
        s += "@units\n";
        for (const auto& [u, st] : units) s += u + " " + st + "\n";
        s += "@sshd-ports\n";
        for (int p : sshd_ports) s += std::to_string(p) + "\n";
        s += "@subid\n";
        if (subid) s += "subuid\nsubgid\n";
        s += "@dockerd\n" + dockerd + "\n@selinux\n" + selinux + "\n@nft\n/usr/sbin/nft\n@arch\n" + arch + "\n@dirs\n";
        for (const auto& [path, state] : dirs) s += path + " 0 " + state + "\n";
        s += "@end\n";
        return s;
    }
};

HostFacts fresh(const std::string& os) {
    HostFacts f;
    f.os = os;
    f.units = {{"docker", "inactive disabled"}, {"auditd", "inactive disabled"},
               {"apparmor", "active enabled"}, {"berth-firewall", "inactive disabled"}};
    return f;
}

HostFacts installed_debian(HostFacts f, const std::string& dockerd) {
    f.packages = {{"docker.io", "20.10.24+dfsg1-1+deb12u1"}, {"apparmor", "3.0.8-3"},
                  {"auditd", "1:3.0.9-1"}, {"nftables", "1.0.6-2+deb12u2"}};
    f.dockerd = dockerd;
    f.existing = {dockerd, "/run/containerd", "/var/lib/docker", "/etc/docker",
                  "/lib/systemd/system/docker.service", "/run/containerd/containerd.sock",
                  "/lib/systemd/system/docker.socket", "/etc/default/docker", "/usr/bin/containerd",
                  "/usr/bin/containerd-shim-runc-v2", "/usr/sbin/runc", "/usr/bin/docker"};
    f.units["docker"] = "active enabled";
    f.units["auditd"] = "active enabled";
    f.subid = true;
    return f;
}

ProvisionRequest request() {
    ProvisionRequest r;
    r.machine = "n1";
    r.hostname = "n1";
    r.ssh_ports = {22};
    r.ca_pem = "CA PEM\n";
    r.server_cert_pem = "SERVER CERT PEM\n";
    r.server_key_pem = "SERVER KEY PEM\n";
    r.authz_owner_cn = "berth client for n1";
    r.authz_binary = berth::test::fake_elf();
    return r;
}

const auto& k_uploads = berth::test::k_managed_uploads;

/// Every file of the plan; on apt hosts (`apt_file`) apt's proxy file last, unless it was written
/// before the install (with_apt_file).
void expect_all_uploads(ScriptedSession& s, bool apt_file = true) {
    for (const auto& [path, mode] : k_uploads) s.expect_upload(path, mode);
    if (apt_file) s.expect_upload("/etc/apt/apt.conf.d/90berth-proxy", 0644);
}

/// `f` with apt's proxy file as berth writes it for `req`: what the facts show after the install,
/// before which berth wrote it.
HostFacts with_apt_file(HostFacts f, const TemplateSet& templates, const ProvisionRequest& req = request()) {
    auto files = render_pre_install_files(templates, req, OsFamily::Debian);
    REQUIRE(files);
    for (const auto& m : *files) f.files[m.path] = {sha256_hex(m.content), m.mode, "root:root"};
    return f;
}

void require_clean(const ScriptedSession& s) {
    INFO("transcript:\n" << [&] {
        std::string t;
        for (const auto& l : s.transcript()) t += "  " + l + "\n";
        return t;
    }());
    CHECK(s.failures().empty());
    for (const auto& f : s.failures()) INFO(f);
    CHECK(s.unused().empty());
}

/// Expects the plan for a host with the packages installed but nothing of berth's: the facts, the
/// host name, every file, a docker restart.
void expect_first_provision(ScriptedSession& s, const HostFacts& host) {
    s.expect_run({"@os-release"}, {0, host.render(), ""}).expect_run({"hostnamectl"});
    expect_all_uploads(s);
    s.expect_run({"systemctl restart docker"});
}

/// The facts of a host that already holds exactly what `uploaded` says.
HostFacts converged(HostFacts f, const ScriptedSession& s) {
    auto modes = s.uploaded_modes();
    for (const auto& [path, content] : s.uploaded()) f.files[path] = {sha256_hex(content), modes[path], "root:root"};
    f.hostname = "n1";
    f.units["berth-firewall"] = "active enabled";
    f.units["berth-authz.socket"] = "active enabled";
    f.dirs["/srv/berth"] = "755 root:root";
    return f;
}

/// Provisions a Debian 12 host that has the packages but nothing of berth's, as `berth create`
/// would, and returns its facts afterwards: exactly what berth wrote, in place.
HostFacts provisioned_debian(const TemplateSet& templates, FakeDocker& docker) {
    ScriptedSession first;
    auto host = installed_debian(fresh("debian-12"), "/usr/sbin/dockerd");
    expect_first_provision(first, host);
    REQUIRE(Provisioner(first, templates, docker).run(request()));
    require_clean(first);
    return converged(host, first);
}

/// The drift a check-only run found under `step` (fails the test if the step is not reported).
Drift drift_of(const CheckReport& report, const std::string& step) {
    for (const auto& s : report.steps)
        if (s.step == step) return s.drift;
    FAIL("no step named " << step);
    return {};
}

}  // namespace

TEST_CASE("Debian 12 from scratch: install - write every file - restart - verify", "[provision]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    ScriptedSession s;
    FakeDocker docker;
    auto before = fresh("debian-12");
    auto after = with_apt_file(installed_debian(before, "/usr/sbin/dockerd"), *templates);
    // As Debian leaves them after berth's install: docker held back (policy-rc.d), apparmor not started.
    after.units["docker"] = "inactive enabled";
    after.units["apparmor"] = "inactive enabled";
    s.expect_run({"@os-release", "dpkg-query", "sha256sum"}, {0, before.render(), ""})
        .expect_upload("/etc/apt/apt.conf.d/90berth-proxy", 0644)  // before the install, which reads it
        .expect_run({"berth_update() { berth_apt update -q", "fresh=0; if berth_fresh; then fresh=1; else berth_update",
                     "install -y -q --no-install-recommends 'docker.io' 'apparmor' 'auditd' 'nftables'",
                     "case \"$1\" in docker|docker.service|docker.socket) exit 101 ;; esac", "trap berth_unhold EXIT"})
        .expect_run({"@os-release"}, {0, after.render(), ""})
        .expect_run({"h='n1'\nhostnamectl set-hostname \"$h\"", "install -d -m 0755 -o root -g root '/srv/berth'\n",
                     "install -d -m 0755 /etc/docker", "install -d -m 0700 '/etc/docker/tls'"});
    expect_all_uploads(s, false);
    s.expect_run({"systemctl daemon-reload\n"
                  "systemctl --no-reload enable 'berth-firewall' 'berth-authz.socket' >/dev/null 2>&1 &\n"
                  "berth_enabling=$!\n",
                  "sshd -t", "systemctl try-reload-or-restart ssh\n",
                  "nft -c -f '/etc/berth/firewall.nft'\nsystemctl restart berth-firewall",
                  "augenrules --load", "systemctl start berth-authz.socket\n", "systemctl start apparmor\n",
                  "systemctl start docker\n"
                  "wait \"$berth_enabling\" || { echo 'berth: systemctl enable failed for:' 'berth-firewall' "
                  "'berth-authz.socket' >&2; exit 1; }\n"});

    Provisioner p(s, *templates, docker);
    auto report = p.run(request());
    INFO((report ? std::string() : report.error().line()));
    REQUIRE(report);
    require_clean(s);
    CHECK(report->os.id == "debian");
    CHECK(report->installed == std::vector<std::string>{"docker.io", "apparmor", "auditd", "nftables"});
    // dockerd's first start is the configured one: started, not restarted.
    CHECK(report->restarted.back() == "docker (start)");
    CHECK(s.scripts().back().find("systemctl restart docker") == std::string::npos);
    CHECK(s.scripts().back().find("\nsystemctl enable") == std::string::npos);  // only --no-reload, in the background
    CHECK(report->docker_version == "20.10.24+dfsg1");
    CHECK(docker.waits == 1);
    // facts, the apt proxy file, install, facts again, prepare, the other 15 files in one command, apply
    CHECK(s.channels_opened() == 7);
    CHECK(report->changed.size() >= k_uploads.size());

    const auto& up = s.uploaded();
    const std::string daemon = up.at("/etc/docker/daemon.json");
    CHECK(daemon.find("  \"hosts\": [\"fd://\",\"tcp://0.0.0.0:2376\"],\n") != std::string::npos);
    for (const char* key : {"\"tls\": true", "\"userns-remap\": \"default\"", "\"icc\": false",
                            "\"no-new-privileges\": true", "\"live-restore\": true", "\"userland-proxy\": false",
                            "\"log-level\": \"info\"", "\"tlskey\": \"/etc/docker/tls/server-key.pem\"",
                            "\"log-driver\": \"journald\"", "\"authorization-plugins\": [\"berth-authz\"]",
                            "\"default-ulimits\""})
        CHECK(daemon.find(key) != std::string::npos);
    // tlsverify is on dockerd's command line (docker-bench-security's jq reader sees it there), and
    // journald has no file to rotate.
    CHECK(daemon.find("tlsverify") == std::string::npos);
    CHECK(daemon.find("log-opts") == std::string::npos);
    CHECK(daemon.find("selinux") == std::string::npos);
    CHECK(nlohmann::json::parse(daemon)["tlscacert"] == "/etc/docker/tls/ca.pem");
    CHECK(up.at("/etc/systemd/system/docker.service.d/10-berth.conf")
              .find("ExecStart=\nExecStart=/usr/sbin/dockerd --tlsverify --containerd=/run/containerd/containerd.sock $DOCKER_OPTS\n") !=
          std::string::npos);
    const std::string audit = up.at("/etc/audit/rules.d/berth-docker.rules");
    for (const char* w : {"-w /usr/sbin/dockerd -p wa -k docker", "-w /var/lib/docker -p wa -k docker",
                          "-w /etc/docker/daemon.json -p wa -k docker", "-w /usr/sbin/runc -p wa -k docker",
                          "-w /run/containerd/containerd.sock -p wa -k docker"})
        CHECK(audit.find(w) != std::string::npos);
    CHECK(audit.find("/usr/bin/dockerd") == std::string::npos);  // not on Debian: not watched
    const std::string sshd = up.at("/etc/ssh/sshd_config.d/00-berth.conf");
    for (const char* line : {"PasswordAuthentication no\n", "PermitRootLogin prohibit-password\n", "X11Forwarding no\n",
                             "AllowAgentForwarding no\n", "MaxAuthTries 3\n"})
        CHECK(sshd.find(line) != std::string::npos);
    const std::string fw = up.at("/etc/berth/firewall.nft");
    CHECK(fw.find("policy drop;") != std::string::npos);
    CHECK(fw.find("tcp dport { 22 } accept") != std::string::npos);
    CHECK(fw.find("tcp dport 2376 accept") != std::string::npos);
    CHECK(fw.find("flush ruleset") == std::string::npos);
    CHECK(up.at("/etc/docker/tls/server-key.pem") == "SERVER KEY PEM\n");
    CHECK(report->digests.at("/etc/docker/daemon.json") == sha256_hex(daemon));
}

namespace {

/// Provisions a fresh Debian 12 host with `req`: the facts, apt's proxy file unless the host has
/// it as berth wants it (`has_apt_file`), the install, the facts, the plan; the session's record.
ScriptedSession provision_fresh_debian(const TemplateSet& templates, const ProvisionRequest& req, bool has_apt_file,
                                       Result<ProvisionReport>& report) {
    FakeDocker docker;
    ScriptedSession s;
    auto before = fresh("debian-12");
    if (has_apt_file) before = with_apt_file(before, templates, req);
    s.expect_run({"@os-release"}, {0, before.render(), ""});
    if (!has_apt_file) s.expect_upload("/etc/apt/apt.conf.d/90berth-proxy", 0644);
    s.expect_run({"install -y -q --no-install-recommends 'docker.io' 'apparmor' 'auditd' 'nftables'"})
        .expect_run({"@os-release"}, {0, with_apt_file(installed_debian(before, "/usr/sbin/dockerd"), templates, req).render(), ""})
        .expect_run({"hostnamectl set-hostname"});
    expect_all_uploads(s, false);
    s.expect_run({"systemctl restart docker"});
    report = Provisioner(s, templates, docker).run(req);
    return s;
}

}  // namespace

TEST_CASE("apt's proxy is written before the package install - nothing else about the install changes", "[provision][apt-proxy]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    auto req = request();
    req.engine.apt_proxy = "http://10.0.0.2:3142";
    Result<ProvisionReport> report = fail("not run");
    auto s = provision_fresh_debian(*templates, req, false, report);
    INFO((report ? std::string() : report.error().line()));
    REQUIRE(report);
    require_clean(s);
    REQUIRE(s.transcript().size() > 2);
    CHECK(s.transcript()[1] == "upload: /etc/apt/apt.conf.d/90berth-proxy 0644 root:root");  // before the install
    CHECK(s.transcript()[2].starts_with("run: "));  // the install, the second script
    CHECK(s.scripts().at(1).find("apt-get -o Acquire::Retries=5") != std::string::npos);
    const std::string conf = s.uploaded().at("/etc/apt/apt.conf.d/90berth-proxy");
    CHECK(conf.find("\nAcquire::http::Proxy \"http://10.0.0.2:3142\";\nAcquire::https::Proxy \"http://10.0.0.2:3142\";\n") !=
          std::string::npos);
    CHECK(std::count(report->changed.begin(), report->changed.end(), "/etc/apt/apt.conf.d/90berth-proxy") == 1);
    CHECK(report->changed.front() == "/etc/apt/apt.conf.d/90berth-proxy");
    CHECK(report->digests.at("/etc/apt/apt.conf.d/90berth-proxy") == sha256_hex(conf));

    // Without a proxy: the same install command; the file holds a comment alone.
    Result<ProvisionReport> plain = fail("not run");
    auto without = provision_fresh_debian(*templates, request(), false, plain);
    INFO((plain ? std::string() : plain.error().line()));
    REQUIRE(plain);
    require_clean(without);
    CHECK(without.scripts().at(1) == s.scripts().at(1));
    const std::string comment = without.uploaded().at("/etc/apt/apt.conf.d/90berth-proxy");
    CHECK(comment.find("Acquire") == std::string::npos);
    CHECK(comment.starts_with("// "));

    // A host whose file is already berth's: nothing is uploaded before the install, nor after.
    Result<ProvisionReport> again = fail("not run");
    auto in_place = provision_fresh_debian(*templates, req, true, again);
    INFO((again ? std::string() : again.error().line()));
    REQUIRE(again);
    require_clean(in_place);
    CHECK(std::count(again->changed.begin(), again->changed.end(), "/etc/apt/apt.conf.d/90berth-proxy") == 0);
}

TEST_CASE("an apt proxy on a dnf host is refused after the facts - before anything changes", "[provision][apt-proxy]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    FakeDocker docker;
    auto req = request();
    req.engine.apt_proxy = "http://10.0.0.2:3142";
    auto host = fresh("fedora-40");
    host.units.erase("apparmor");
    ScriptedSession s;
    s.expect_run({"@os-release"}, {0, host.render(), ""});
    auto report = Provisioner(s, *templates, docker).run(req);
    REQUIRE_FALSE(report);
    require_clean(s);
    CHECK(report.error().kind == ErrorKind::Usage);
    CHECK(report.error().message.starts_with("--engine-apt-proxy is for apt hosts; n1 runs dnf (Fedora Linux 40"));
    CHECK(report.error().hint.find("drop engine-apt-proxy") != std::string::npos);
    CHECK(report.error().hint.find("berth rm n1") != std::string::npos);
    CHECK(docker.waits == 0);
    ScriptedSession checked;  // a check-only run (audit, apply's plan) says the same
    checked.expect_run({"@os-release"}, {0, host.render(), ""});
    auto check = Provisioner(checked, *templates, docker).check(req);
    REQUIRE_FALSE(check);
    require_clean(checked);
    CHECK(check.error().message == report.error().message);
}

TEST_CASE("a host that matches is verified with one command: nothing uploaded - nothing restarted", "[provision]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    // First provision, to learn exactly what berth writes.
    FakeDocker docker;
    const auto host = provisioned_debian(*templates, docker);

    ScriptedSession again;
    again.expect_run({"@os-release"}, {0, host.render(), ""});
    auto report = Provisioner(again, *templates, docker).run(request());
    REQUIRE(report);
    require_clean(again);
    CHECK(again.transcript().size() == 1);
    CHECK(report->changed.empty());
    CHECK(report->restarted.empty());
    CHECK(report->installed.empty());
    CHECK(docker.waits == 2);  // still verified through the API
}

TEST_CASE("first provision installs berth-authz and its socket listens before docker restarts with it", "[provision][authz]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    FakeDocker docker;
    ScriptedSession s;
    auto host = installed_debian(fresh("debian-12"), "/usr/sbin/dockerd");
    expect_first_provision(s, host);
    auto report = Provisioner(s, *templates, docker).run(request());
    INFO((report ? std::string() : report.error().line()));
    REQUIRE(report);
    require_clean(s);
    // The program as berth has it, root's, executable; the default policy names the machine's CN.
    CHECK(s.uploaded().at("/usr/local/sbin/berth-authz") == berth::test::fake_elf());
    CHECK(s.uploaded_modes().at("/usr/local/sbin/berth-authz") == 0755);
    CHECK(s.uploaded().at("/etc/berth/authz.yaml").find("\"berth client for n1\"") != std::string::npos);
    CHECK(s.uploaded().at("/etc/systemd/system/berth-authz.service").find("ExecStart=/usr/local/sbin/berth-authz") !=
          std::string::npos);
    // The allow-list directory is made in the preparing command, with the other directories.
    CHECK(s.scripts()[1].find("install -d -m 0755 -o root -g root '/srv/berth'\n") != std::string::npos);
    // One apply: units reloaded first, the socket enabled and started, docker restarted last.
    const std::string apply = s.scripts().back();
    const auto reload = apply.find("systemctl daemon-reload\n");
    const auto socket = apply.find("systemctl start berth-authz.socket\n");
    CHECK(apply.find("systemctl --no-reload enable 'berth-firewall' 'berth-authz.socket' >/dev/null 2>&1 &\n") !=
          std::string::npos);
    const auto restart = apply.find("systemctl restart docker\n");
    REQUIRE(reload != std::string::npos);
    REQUIRE(socket != std::string::npos);
    REQUIRE(restart != std::string::npos);
    CHECK(reload < socket);
    CHECK(socket < restart);
    CHECK(apply.find("try-restart berth-authz") == std::string::npos);  // nothing was running yet
    CHECK(report->restarted.back() == "docker");
    CHECK(std::find(report->restarted.begin(), report->restarted.end(), "berth-authz.socket") != report->restarted.end());
    CHECK(report->digests.at("/usr/local/sbin/berth-authz") == sha256_hex(berth::test::fake_elf()));
}

TEST_CASE("a new policy only reloads berth-authz - docker does not restart", "[provision][authz]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    FakeDocker docker;
    const auto host = provisioned_debian(*templates, docker);
    auto req = request();
    req.authz.custom_policy = true;
    req.authz_policy = "# the ops team's policy\ndefault_role: restricted\n";
    ScriptedSession s;
    s.expect_run({"@os-release"}, {0, host.render(), ""})
        .expect_run({"install -d -m 0755 /etc/docker"})
        .expect_upload("/etc/berth/authz.yaml", 0644)
        .expect_run({"systemctl try-reload-or-restart berth-authz.service\n"});
    auto report = Provisioner(s, *templates, docker).run(req);
    INFO((report ? std::string() : report.error().line()));
    REQUIRE(report);
    require_clean(s);
    CHECK(s.uploaded().at("/etc/berth/authz.yaml") == req.authz_policy);
    CHECK(report->changed == std::vector<std::string>{"/etc/berth/authz.yaml"});
    CHECK(report->restarted == std::vector<std::string>{"berth-authz (reload)"});
    CHECK(s.scripts().back().find("docker") == std::string::npos);
    CHECK(s.scripts().back().find("daemon-reload") == std::string::npos);

    // The owner's role is part of the default policy: admin changes the policy file only.
    auto admin = request();
    admin.authz.owner_role = "admin";
    ScriptedSession again;
    again.expect_run({"@os-release"}, {0, host.render(), ""})
        .expect_run({"install -d"})
        .expect_upload("/etc/berth/authz.yaml", 0644)
        .expect_run({"systemctl try-reload-or-restart berth-authz.service\n"});
    auto weakened = Provisioner(again, *templates, docker).run(admin);
    REQUIRE(weakened);
    require_clean(again);
    CHECK(again.uploaded().at("/etc/berth/authz.yaml").find("admin") != std::string::npos);
    REQUIRE(weakened->warnings.size() == 1);
    CHECK(weakened->warnings[0].starts_with("--authz-owner-role admin weakens the hardening"));
}

TEST_CASE("a new berth-authz program restarts berth-authz only", "[provision][authz]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    FakeDocker docker;
    const auto host = provisioned_debian(*templates, docker);
    auto req = request();
    req.authz_binary = berth::test::fake_elf(62, "berth-authz 2");
    ScriptedSession s;
    s.expect_run({"@os-release"}, {0, host.render(), ""})
        .expect_run({"install -d -m 0755 /etc/docker"})
        .expect_upload("/usr/local/sbin/berth-authz", 0755)
        .expect_run({"systemctl try-restart berth-authz.service\n"});
    auto report = Provisioner(s, *templates, docker).run(req);
    INFO((report ? std::string() : report.error().line()));
    REQUIRE(report);
    require_clean(s);
    CHECK(report->restarted == std::vector<std::string>{"berth-authz"});
    CHECK(s.scripts().back() == "set -e\nsystemctl try-restart berth-authz.service\n");
}

TEST_CASE("a stopped berth-authz socket is started again - and checked as drift", "[provision][authz]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    FakeDocker docker;
    auto host = provisioned_debian(*templates, docker);
    host.units["berth-authz.socket"] = "inactive disabled";
    host.dirs.clear();  // and someone removed /srv/berth
    ScriptedSession checked;
    checked.expect_run({"@os-release"}, {0, host.render(), ""});
    auto check = Provisioner(checked, *templates, docker).check(request());
    REQUIRE(check);
    CHECK(drift_of(*check, "berth-authz") ==
          Drift{"unit berth-authz.socket is not enabled", "unit berth-authz.socket is not active"});
    CHECK(drift_of(*check, "bind-mount directory") == Drift{"/srv/berth is missing"});

    ScriptedSession s;
    s.expect_run({"@os-release"}, {0, host.render(), ""})
        .expect_run({"install -d -m 0755 -o root -g root '/srv/berth'\n"})
        .expect_run({"systemctl --no-reload enable 'berth-authz.socket' >/dev/null 2>&1 &\n",
                     "systemctl start berth-authz.socket\n"});
    auto report = Provisioner(s, *templates, docker).run(request());
    REQUIRE(report);
    require_clean(s);
    CHECK(s.scripts()[1] == "install -d -m 0755 -o root -g root '/srv/berth'\n");  // nothing else to prepare
    CHECK(report->restarted == std::vector<std::string>{"berth-authz.socket"});
}

TEST_CASE("a berth-authz built for another architecture is refused before anything is uploaded", "[provision][authz]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    FakeDocker docker;
    auto host = installed_debian(fresh("debian-12"), "/usr/sbin/dockerd");
    host.arch = "aarch64";
    ScriptedSession s;
    s.expect_run({"@os-release"}, {0, host.render(), ""});
    auto report = Provisioner(s, *templates, docker).run(request());
    REQUIRE_FALSE(report);
    require_clean(s);
    CHECK(report.error().message.find("built for x86_64, but n1 is aarch64 (uname -m)") != std::string::npos);
    CHECK(report.error().hint.find("BERTH_AUTHZ_BINARY") != std::string::npos);

    auto not_elf = request();
    not_elf.authz_binary = "#!/bin/sh\n";
    ScriptedSession s2;
    s2.expect_run({"@os-release"}, {0, installed_debian(fresh("debian-12"), "/usr/sbin/dockerd").render(), ""});
    auto refused = Provisioner(s2, *templates, docker).run(not_elf);
    REQUIRE_FALSE(refused);
    require_clean(s2);
    CHECK(refused.error().message.find("is not an ELF executable") != std::string::npos);

    CHECK(elf_arch(berth::test::fake_elf(183)) == "aarch64");
    CHECK(host_arch_family("i686") == "i386");
    CHECK(host_arch_family("armv7l") == "arm");
    CHECK(check_program_arch(berth::test::fake_elf(183), "aarch64", "n1"));
}

TEST_CASE("drift in daemon.json is put back and only docker restarts", "[provision]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    FakeDocker docker;
    auto drifted = provisioned_debian(*templates, docker);
    std::get<0>(drifted.files["/etc/docker/daemon.json"]) = sha256_hex("{\"icc\": true}\n");
    std::get<1>(drifted.files["/etc/docker/tls/server-key.pem"]) = 0644;  // someone opened the key up
    ScriptedSession s;
    s.expect_run({"@os-release"}, {0, drifted.render(), ""})
        .expect_run({"install -d -m 0755 /etc/docker"})
        .expect_upload("/etc/docker/tls/server-key.pem", 0400)
        .expect_upload("/etc/docker/daemon.json", 0644)
        .expect_run({"systemctl restart docker"});
    auto report = Provisioner(s, *templates, docker).run(request());
    REQUIRE(report);
    require_clean(s);
    CHECK(report->restarted == std::vector<std::string>{"docker"});
    CHECK(s.scripts().back().find("sshd -t") == std::string::npos);
    CHECK(s.scripts().back().find("augenrules") == std::string::npos);
}

TEST_CASE("joining a swarm reloads docker for live-restore - never restarts it", "[provision][swarm]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    FakeDocker docker;
    const auto host = provisioned_debian(*templates, docker);
    auto req = request();
    req.swarm = {"manager", {"192.168.122.11", "192.168.122.12"}};
    req.authz.owner_swarm = true;
    ScriptedSession s;
    s.expect_run({"@os-release"}, {0, host.render(), ""})
        .expect_run({"install -d -m 0755 /etc/docker"})
        .expect_upload("/etc/docker/daemon.json", 0644)
        .expect_upload("/etc/berth/firewall.nft", 0644)
        .expect_upload("/etc/berth/authz.yaml", 0644)
        .expect_run({"nft -c -f", "try-reload-or-restart berth-authz.service\n", "systemctl reload docker\n"});
    auto report = Provisioner(s, *templates, docker).run(req);
    INFO((report ? std::string() : report.error().line()));
    REQUIRE(report);
    require_clean(s);
    CHECK(nlohmann::json::parse(s.uploaded().at("/etc/docker/daemon.json")).at("live-restore") == false);
    CHECK(s.scripts().back().find("restart docker") == std::string::npos);
    CHECK(std::find(report->restarted.begin(), report->restarted.end(), "docker (reload)") != report->restarted.end());
    CHECK(std::find(report->restarted.begin(), report->restarted.end(), "docker") == report->restarted.end());

    // Anything else changed in daemon.json as well: dockerd restarts, as for any drift.
    auto drifted = provisioned_debian(*templates, docker);
    std::get<0>(drifted.files["/etc/docker/daemon.json"]) = sha256_hex("{\"icc\": true}\n");
    ScriptedSession again;
    again.expect_run({"@os-release"}, {0, drifted.render(), ""})
        .expect_run({"install -d -m 0755 /etc/docker"})
        .expect_upload("/etc/docker/daemon.json", 0644)
        .expect_upload("/etc/berth/firewall.nft", 0644)
        .expect_upload("/etc/berth/authz.yaml", 0644)
        .expect_run({"systemctl restart docker"});
    auto restarted = Provisioner(again, *templates, docker).run(req);
    REQUIRE(restarted);
    require_clean(again);
    CHECK(restarted->restarted.back() == "docker");
}

TEST_CASE("Ubuntu 24.04: same plan - dockerd in /usr/bin - ssh reloaded", "[provision]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    ScriptedSession s;
    FakeDocker docker;
    auto before = fresh("ubuntu-24.04");
    auto after = with_apt_file(installed_debian(before, "/usr/bin/dockerd"), *templates);
    s.expect_run({"@os-release"}, {0, before.render(), ""})
        .expect_upload("/etc/apt/apt.conf.d/90berth-proxy", 0644)
        .expect_run({"install -y -q --no-install-recommends 'docker.io' 'apparmor' 'auditd' 'nftables'"})
        .expect_run({"@os-release"}, {0, after.render(), ""})
        .expect_run({"h='n1'\nhostnamectl set-hostname \"$h\""});
    expect_all_uploads(s, false);
    s.expect_run({"systemctl try-reload-or-restart ssh\n", "systemctl restart docker"});
    auto report = Provisioner(s, *templates, docker).run(request());
    INFO((report ? std::string() : report.error().line()));
    REQUIRE(report);
    require_clean(s);
    CHECK(report->os.id == "ubuntu");
    CHECK(s.uploaded().at("/etc/systemd/system/docker.service.d/10-berth.conf").find("ExecStart=/usr/bin/dockerd ") !=
          std::string::npos);
    CHECK(s.uploaded().at("/etc/audit/rules.d/berth-docker.rules").find("-w /usr/bin/dockerd ") != std::string::npos);
}

TEST_CASE("Fedora 40: dnf - SELinux instead of AppArmor", "[provision]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    ScriptedSession s;
    FakeDocker docker;
    docker.info_json = {{"SecurityOptions", {"name=seccomp,profile=default", "name=selinux", "name=userns", "name=cgroupns"}}};
    auto before = fresh("fedora-40");
    before.units.erase("apparmor");
    auto after = before;
    after.packages = {{"moby-engine", "24.0.5-4.fc40"}, {"audit", "4.0.2-1.fc40"}, {"nftables", "1.0.9-3.fc40"},
                      {"container-selinux", "2.232.1-1.fc40"}};
    after.dockerd = "/usr/bin/dockerd";
    after.existing = {"/usr/bin/dockerd", "/var/lib/docker", "/etc/docker", "/usr/lib/systemd/system/docker.service",
                      "/usr/lib/systemd/system/docker.socket", "/etc/sysconfig/docker", "/usr/bin/containerd",
                      "/usr/bin/runc"};
    after.units["docker"] = "inactive disabled";
    after.subid = true;
    after.selinux = "Enforcing";
    s.expect_run({"@os-release", "rpm -q"}, {0, before.render(), ""})
        .expect_run({"dnf -y -q install 'moby-engine' 'audit' 'nftables' 'container-selinux'"})
        .expect_run({"@os-release"}, {0, after.render(), ""})
        .expect_run({"h='n1'\nhostnamectl set-hostname \"$h\""});
    expect_all_uploads(s, false);  // no apt: no apt proxy file
    s.expect_run({"systemctl try-reload-or-restart sshd\n",
                  "systemctl --no-reload enable 'auditd' 'berth-firewall' 'berth-authz.socket' 'docker' >/dev/null 2>&1 &",
                  "systemctl start auditd\n", "systemctl start docker\n"});
    auto report = Provisioner(s, *templates, docker).run(request());
    INFO((report ? std::string() : report.error().line()));
    REQUIRE(report);
    require_clean(s);
    CHECK(s.scripts().back().find("apparmor") == std::string::npos);
    // auditd was not running: its start loads the rules, once.
    CHECK(s.scripts().back().find("augenrules") == std::string::npos);
    CHECK(report->restarted.back() == "docker (start)");
    const std::string daemon = s.uploaded().at("/etc/docker/daemon.json");
    CHECK(daemon.find("\"selinux-enabled\": true") != std::string::npos);
    CHECK(s.uploaded().at("/etc/systemd/system/docker.service.d/10-berth.conf").find("$DOCKER_OPTS") == std::string::npos);
}

TEST_CASE("an unknown OS is refused with the supported list after one command", "[provision]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    ScriptedSession s;
    FakeDocker docker;
    s.expect_run({"@os-release"}, {0, fresh("arch").render(), ""});
    auto report = Provisioner(s, *templates, docker).run(request());
    REQUIRE_FALSE(report);
    require_clean(s);
    CHECK(report.error().message.find("Arch Linux") != std::string::npos);
    CHECK(report.error().hint.find("Debian 11 and 12, Ubuntu 22.04 and 24.04") != std::string::npos);
    CHECK(docker.waits == 0);

    ScriptedSession checked;  // a check-only run refuses it alike
    checked.expect_run({"@os-release"}, {0, fresh("arch").render(), ""});
    auto check = Provisioner(checked, *templates, docker).check(request());
    REQUIRE_FALSE(check);
    require_clean(checked);
    CHECK(check.error().message == report.error().message);
}

TEST_CASE("engine options land in daemon.json and the unit - weakening ones warn", "[provision]") {
    EngineConfig e;
    e.labels = {"team=a"};
    e.insecure_registries = {"10.0.0.9:5000"};
    e.registry_mirrors = {"https://mirror.example"};
    e.storage_driver = "overlay2";
    e.opts = {"max-concurrent-downloads=6", "icc=true", "dns=10.0.0.2", "dns=10.0.0.3", "debug=false"};
    std::vector<std::string> warnings;
    auto out = Provisioner::daemon_json("{\"icc\": false, \"hosts\": [\"fd://\"]}", e, warnings);
    REQUIRE(out);
    auto j = nlohmann::json::parse(*out);
    CHECK(j["labels"] == nlohmann::json{"team=a"});
    CHECK(j["insecure-registries"] == nlohmann::json{"10.0.0.9:5000"});
    CHECK(j["registry-mirrors"] == nlohmann::json{"https://mirror.example"});
    CHECK(j["storage-driver"] == "overlay2");
    CHECK(j["max-concurrent-downloads"] == 6);
    CHECK(j["icc"] == true);
    CHECK(j["dns"] == nlohmann::json{"10.0.0.2", "10.0.0.3"});
    CHECK(j["debug"] == false);
    REQUIRE(warnings.size() == 2);
    CHECK(warnings[0].find("--engine-insecure-registry") != std::string::npos);
    CHECK(warnings[1].find("--engine-opt icc") != std::string::npos);

    std::vector<std::string> w2;
    EngineConfig bad_opts;
    bad_opts.opts = {"novalue"};
    auto bad = Provisioner::daemon_json("{}", bad_opts, w2);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().kind == ErrorKind::Usage);
}

TEST_CASE("daemon.json takes --insecure-engine-opt with a warning - never an owned key, even from an old record", "[provision][engine-opt]") {
    EngineConfig e;
    e.insecure_opts = {"icc=true", "userns-remap="};
    std::vector<std::string> warnings;
    auto out = Provisioner::daemon_json("{\"icc\": false, \"tlsverify\": true}", e, warnings);
    REQUIRE(out);
    auto j = nlohmann::json::parse(*out);
    CHECK(j["icc"] == true);
    CHECK(j["userns-remap"] == "");
    CHECK(j["tlsverify"] == true);
    REQUIRE(warnings.size() == 2);
    CHECK(warnings[0].find("--insecure-engine-opt icc weakens the hardening") != std::string::npos);

    for (const char* owned : {"tlsverify=false", "--tlscacert=/etc/ssl/certs/ca-certificates.crt", "hosts=tcp://0.0.0.0:2375"}) {
        CAPTURE(owned);
        EngineConfig old_record;
        old_record.opts = {owned};
        std::vector<std::string> w;
        auto refused = Provisioner::daemon_json("{\"tlsverify\": true}", old_record, w);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().message.find("berth sets the Docker API's listeners and TLS itself") != std::string::npos);
    }
}

TEST_CASE("log drivers: journald by default - a file driver from --engine-opt gets berth's rotation", "[provision][engine-opt]") {
    const std::string rendered = "{\"log-driver\": \"journald\", \"authorization-plugins\": [\"berth-authz\"]}";
    for (const char* driver : {"json-file", "local"}) {
        CAPTURE(driver);
        EngineConfig e;
        e.opts = {std::string("log-driver=") + driver};
        std::vector<std::string> warnings;
        auto out = Provisioner::daemon_json(rendered, e, warnings);
        REQUIRE(out);
        auto j = nlohmann::json::parse(*out);
        CHECK(j["log-driver"] == driver);
        CHECK(j["log-opts"] == nlohmann::json{{"max-size", "10m"}, {"max-file", "3"}});
        CHECK(warnings.empty());
    }
    EngineConfig syslog;
    syslog.opts = {"log-driver=syslog"};
    std::vector<std::string> warnings;
    auto out = Provisioner::daemon_json(rendered, syslog, warnings);
    REQUIRE(out);
    CHECK_FALSE(nlohmann::json::parse(*out).contains("log-opts"));
    auto journald = Provisioner::daemon_json(rendered, EngineConfig{}, warnings);
    REQUIRE(journald);
    CHECK_FALSE(nlohmann::json::parse(*journald).contains("log-opts"));

    // authorization-plugins is berth's: refused in both flags, and from an old record.
    for (const char* opt : {"authorization-plugins=opa", "--authorization-plugin=opa"}) {
        CAPTURE(opt);
        EngineConfig plain, insecure;
        plain.opts = {opt};
        insecure.insecure_opts = {opt};
        for (const auto* e : {&plain, &insecure}) {
            auto v = validate_engine_options(*e);
            REQUIRE_FALSE(v);
            CHECK(v.error().kind == ErrorKind::Usage);
            CHECK(v.error().message.find("berth sets daemon.json's authorization-plugins to its own berth-authz") !=
                  std::string::npos);
            CHECK_FALSE(Provisioner::daemon_json(rendered, *e, warnings));
        }
    }
}

TEST_CASE("engine env and version pin reach the host", "[provision]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    ScriptedSession s;
    FakeDocker docker;
    auto host = installed_debian(fresh("debian-12"), "/usr/sbin/dockerd");
    host.packages["docker.io"] = "20.10.24+dfsg1-1+deb12u1";
    auto req = request();
    req.engine.env = {"HTTP_PROXY=http://proxy:3128"};
    req.engine.version = "20.10.24+dfsg1-1+deb12u1+b6";
    s.expect_run({"@os-release"}, {0, host.render(), ""})
        .expect_upload("/etc/apt/apt.conf.d/90berth-proxy", 0644)
        .expect_run({"--allow-downgrades", "'docker.io=20.10.24+dfsg1-1+deb12u1+b6'"})
        .expect_run({"@os-release"}, {0, with_apt_file(host, *templates, req).render(), ""})
        .expect_run({"hostnamectl"});
    expect_all_uploads(s, false);
    s.expect_run({"systemctl restart docker"});
    auto report = Provisioner(s, *templates, docker).run(req);
    REQUIRE(report);
    require_clean(s);
    // The variable is in the root-only environment file; the unit only names the file.
    CHECK(s.uploaded().at("/etc/docker/berth-engine.env").find("\nHTTP_PROXY=\"http://proxy:3128\"\n") != std::string::npos);
    CHECK(s.uploaded_modes().at("/etc/docker/berth-engine.env") == 0600);
    const std::string dropin = s.uploaded().at("/etc/systemd/system/docker.service.d/10-berth.conf");
    CHECK(dropin.find("\nEnvironmentFile=/etc/docker/berth-engine.env\n") != std::string::npos);
    CHECK(dropin.find("HTTP_PROXY") == std::string::npos);
}

TEST_CASE("every file is written with one command - a file that fails is named and the ones before it are reported written", "[provision]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    ScriptedSession s;
    FakeDocker docker;
    auto host = installed_debian(fresh("debian-12"), "/usr/sbin/dockerd");
    s.expect_run({"@os-release"}, {0, host.render(), ""}).expect_run({"hostnamectl"});
    // The fourth file does not match what the session expects: it fails there.
    for (std::size_t i = 0; i < 3; ++i) s.expect_upload(k_uploads[i].path, k_uploads[i].mode);
    s.expect_upload("/etc/elsewhere", 0644);
    Provisioner p(s, *templates, docker);
    auto report = p.run(request());
    REQUIRE_FALSE(report);
    INFO(report.error().line());
    CHECK(report.error().message.find(k_uploads[3].path) != std::string::npos);
    CHECK(s.channels_opened() == 3);  // facts, prepare, the files
    const auto& changed = p.progress().changed;
    CHECK(changed.front() == "hostname n1");  // from the prepare command
    for (std::size_t i = 0; i < k_uploads.size(); ++i)
        CHECK((std::find(changed.begin(), changed.end(), k_uploads[i].path) != changed.end()) == (i < 3));
}

TEST_CASE("a daemon that fails to restart is reported with the journal's tail", "[provision]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    ScriptedSession s;
    FakeDocker docker;
    auto host = installed_debian(fresh("debian-12"), "/usr/sbin/dockerd");
    s.expect_run({"@os-release"}, {0, host.render(), ""}).expect_run({"hostnamectl"});
    expect_all_uploads(s);
    s.expect_run({"systemctl restart docker"}, {1, "", "Job for docker.service failed because the control process exited with error code.\n"})
        .expect_run({"journalctl -u docker"}, {0, "dockerd[811]: failed to start daemon: unable to configure the Docker daemon\n", ""});
    auto report = Provisioner(s, *templates, docker).run(request());
    REQUIRE_FALSE(report);
    require_clean(s);
    CHECK(report.error().message.find("applying the configuration on n1 failed (exit 1)") != std::string::npos);
    CHECK(report.error().message.find("unable to configure the Docker daemon") != std::string::npos);
}

TEST_CASE("Docker without AppArmor fails verification and names what is missing", "[provision]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    ScriptedSession first;
    FakeDocker docker;
    docker.info_json = {{"SecurityOptions", {"name=seccomp,profile=default", "name=userns"}}};
    auto host = installed_debian(fresh("debian-12"), "/usr/sbin/dockerd");
    expect_first_provision(first, host);
    auto report = Provisioner(first, *templates, docker).run(request());
    REQUIRE_FALSE(report);
    CHECK(report.error().message.find("failed the hardening check: dockerd lacks required security options: apparmor") != std::string::npos);
}

TEST_CASE("a login user without passwordless sudo is told what to set up", "[provision]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    ScriptedSession s;
    FakeDocker docker;
    s.expect_run({"@os-release"}, {1, "", "sudo: a password is required\n"});
    auto report = Provisioner(s, *templates, docker).run(request());
    REQUIRE_FALSE(report);
    require_clean(s);
    CHECK(report.error().message.find("sudo: a password is required") != std::string::npos);
    CHECK(report.error().hint.find("passwordless sudo") != std::string::npos);
}

TEST_CASE("os-release parsing on real files", "[provision]") {
    auto d = parse_os_release(fixture("os-release/debian-12"));
    REQUIRE(d);
    CHECK(d->id == "debian");
    CHECK(d->version_id == "12");
    CHECK(d->codename == "bookworm");
    CHECK(d->family == OsFamily::Debian);
    CHECK(check_supported(*d));
    auto u = parse_os_release(fixture("os-release/ubuntu-22.04"));
    REQUIRE(u);
    CHECK(u->id_like == std::vector<std::string>{"debian"});
    CHECK(check_supported(*u));
    auto r = parse_os_release(fixture("os-release/rocky-9"));
    REQUIRE(r);
    CHECK(r->family == OsFamily::Rhel);
    CHECK(r->version_id == "9.4");
    CHECK(check_supported(*r));
    CHECK(check_supported(*parse_os_release(fixture("os-release/fedora-40"))));
    CHECK(check_supported(*parse_os_release(fixture("os-release/debian-11"))));
    CHECK_FALSE(check_supported(*parse_os_release(fixture("os-release/arch"))));
    CHECK_FALSE(parse_os_release("NAME=x\n"));
}

TEST_CASE("templates can be replaced from a directory - typos are refused", "[provision]") {
    auto builtin = TemplateSet::load();
    REQUIRE(builtin);
    const auto names = builtin->names();
    for (const char* host_file : {"audit-docker.rules", "berth-firewall.service", "daemon.json",
                                  "docker-service-override.conf", "firewall.nft", "sshd-hardening.conf"})
        CHECK(std::find(names.begin(), names.end(), host_file) != names.end());
    CHECK(builtin->origin("daemon.json") == "embedded");
    auto sshd = builtin->render("sshd-hardening.conf", nlohmann::json::object());
    REQUIRE(sshd);
    CHECK(sshd->find("MaxAuthTries 3") != std::string::npos);

    berth::test::TempDir dir;
    berth::test::write_text(dir / "sshd-hardening.conf.mustache", "# ops team's own\nMaxAuthTries {{tries}}\n");
    auto custom = TemplateSet::load(dir.path());
    REQUIRE(custom);
    CHECK(custom->origin("sshd-hardening.conf") == (dir / "sshd-hardening.conf.mustache").string());
    CHECK(custom->origin("daemon.json") == "embedded");
    CHECK(custom->render("sshd-hardening.conf", {{"tries", "2"}}).value() == "# ops team's own\nMaxAuthTries 2\n");

    berth::test::write_text(dir / "daemon.jsn.mustache", "{}");
    auto typo = TemplateSet::load(dir.path());
    REQUIRE_FALSE(typo);
    CHECK(typo.error().message.find("daemon.jsn.mustache, which is not a berth template") != std::string::npos);
    CHECK(typo.error().hint.find("daemon.json.mustache") != std::string::npos);
    std::filesystem::remove(dir / "daemon.jsn.mustache");

    berth::test::write_text(dir / "firewall.nft.mustache", "{{#open}}never closed");
    auto broken = TemplateSet::load(dir.path());
    REQUIRE_FALSE(broken);
    CHECK(broken.error().message.find("does not parse") != std::string::npos);

    CHECK_FALSE(TemplateSet::load(dir / "missing"));
}

TEST_CASE("check mode on a clean host: no drift after one command - nothing uploaded - no API call", "[provision]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    FakeDocker docker;
    const auto host = provisioned_debian(*templates, docker);

    ScriptedSession again;
    again.expect_run({"@os-release", "dpkg-query", "sha256sum"}, {0, host.render(), ""});
    auto report = Provisioner(again, *templates, docker).check(request());
    INFO((report ? std::string() : report.error().line()));
    REQUIRE(report);
    require_clean(again);
    CHECK(again.transcript().size() == 1);
    CHECK(again.uploaded().empty());
    CHECK(docker.waits == 1);  // only the first provision's
    CHECK(docker.infos == 1);
    CHECK(report->os.id == "debian");
    std::vector<std::string> names;
    for (const auto& s : report->steps) {
        INFO(s.step);
        CHECK(s.drift.empty());
        names.push_back(s.step);
    }
    CHECK(names == std::vector<std::string>{"packages", "hostname", "subids", "bind-mount directory", "TLS files",
                                            "daemon.json", "docker drop-in", "audit rules", "sshd", "firewall",
                                            "berth-authz", "docker service", "apt proxy"});
    CHECK(report->clean());
    CHECK(report->digests.at("/etc/docker/daemon.json") == std::get<0>(host.files.at("/etc/docker/daemon.json")));
}

TEST_CASE("check mode on a drifted host names each drift under its step and changes nothing", "[provision]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    FakeDocker docker;
    auto drifted = provisioned_debian(*templates, docker);
    std::get<0>(drifted.files["/etc/docker/daemon.json"]) = sha256_hex("{\"icc\": true}\n");
    std::get<1>(drifted.files["/etc/docker/tls/server-key.pem"]) = 0644;
    drifted.packages.erase("auditd");
    drifted.units["berth-firewall"] = "inactive enabled";
    ScriptedSession s;
    s.expect_run({"@os-release"}, {0, drifted.render(), ""});
    auto report = Provisioner(s, *templates, docker).check(request());
    INFO((report ? std::string() : report.error().line()));
    REQUIRE(report);
    require_clean(s);
    CHECK(s.scripts().size() == 1);
    CHECK(s.uploaded().empty());
    CHECK(docker.waits == 1);
    CHECK_FALSE(report->clean());
    CHECK(drift_of(*report, "packages") == Drift{"package auditd is not installed"});
    CHECK(drift_of(*report, "daemon.json") == Drift{"/etc/docker/daemon.json differs (digest)"});
    CHECK(drift_of(*report, "firewall") == Drift{"unit berth-firewall is not active"});
    CHECK(drift_of(*report, "TLS files") == Drift{"/etc/docker/tls/server-key.pem has mode 0644, not 0400"});
    for (const char* clean : {"hostname", "subids", "docker drop-in", "audit rules", "sshd", "docker service"})
        CHECK(drift_of(*report, clean).empty());
}

TEST_CASE("each step checks its own facts", "[provision]") {
    auto facts = parse_facts(installed_debian(fresh("debian-12"), "/usr/sbin/dockerd").render());
    REQUIRE(facts);

    EngineConfig pinned;
    pinned.version = "20.10.24+dfsg1-1+deb12u1+b6";
    CHECK(PackagesStep(OsFamily::Debian, EngineConfig{}, false).check(*facts).empty());
    CHECK(PackagesStep(OsFamily::Debian, pinned, false).check(*facts) ==
          Drift{"package docker.io is 20.10.24+dfsg1-1+deb12u1, not the pinned 20.10.24+dfsg1-1+deb12u1+b6"});
    CHECK(PackagesStep(OsFamily::Debian, EngineConfig{}, true).check(*facts) ==
          Drift{"package docker.io is to be upgraded"});
    CHECK(PackagesStep(OsFamily::Rhel, EngineConfig{}, false).check(*facts) ==
          Drift{"package moby-engine is not installed", "package audit is not installed",
                "package container-selinux is not installed"});  // nftables is the same package

    CHECK(HostnameStep("n1").check(*facts) == Drift{"host name is localhost, not n1"});
    CHECK(HostnameStep("localhost").check(*facts).empty());
    CHECK(HostnameStep("").check(*facts).empty());

    CHECK(SubidsStep().check(*facts).empty());
    Facts no_subgid = *facts;
    no_subgid.subgid = false;
    CHECK(SubidsStep().check(no_subgid) == Drift{"/etc/subgid is missing"});

    const ManagedFile daemon{"/etc/docker/daemon.json", "{}\n", 0644};
    CHECK(DockerFilesStep("daemon.json", {daemon}).check(*facts) == Drift{"/etc/docker/daemon.json is missing"});
    Facts written = *facts;
    written.files[daemon.path] = {sha256_hex(daemon.content), 0644, "root:root"};
    CHECK(DockerFilesStep("daemon.json", {daemon}).check(written).empty());
    written.files[daemon.path].owner = "admin:admin";
    CHECK(DockerFilesStep("daemon.json", {daemon}).check(written) ==
          Drift{"/etc/docker/daemon.json is owned by admin:admin, not root:root"});

    const ManagedFile rules{"/etc/audit/rules.d/berth-docker.rules", "-w /etc/docker -p wa -k docker\n", 0640};
    const ManagedFile tmpfiles{"/etc/tmpfiles.d/berth-containerd.conf", "d /run/containerd 0711 root root -\n", 0644};
    written.files[rules.path] = {sha256_hex(rules.content), 0640, "root:root"};
    written.files[tmpfiles.path] = {sha256_hex(tmpfiles.content), 0644, "root:root"};
    CHECK(AuditRulesStep(tmpfiles, rules).check(written).empty());
    written.audit_rules_loaded = 1;
    CHECK(AuditRulesStep(tmpfiles, rules).check(written).empty());
    // `auditctl -D` leaves the file as it was and the kernel without the rules: reloaded, nothing written.
    written.audit_rules_loaded = 0;
    CHECK(AuditRulesStep(tmpfiles, rules).check(written) == Drift{"the kernel holds 0 of berth's 1 audit rules (auditctl -l)"});
    Changes reload;
    AuditRulesStep(tmpfiles, rules).apply(written, reload);
    CHECK(reload.uploads.empty());
    CHECK(reload.apply_script().find("augenrules --load") != std::string::npos);
    CHECK(reload.apply_script().find("systemd-tmpfiles") == std::string::npos);
    // The tmpfiles.d entry alone missing: written and applied at once, the loaded rules left alone.
    Facts no_tmpfiles = written;
    no_tmpfiles.audit_rules_loaded = 1;
    no_tmpfiles.files.erase(tmpfiles.path);
    Changes created;
    AuditRulesStep(tmpfiles, rules).apply(no_tmpfiles, created);
    REQUIRE(created.uploads.size() == 1);
    CHECK(created.uploads[0].path == tmpfiles.path);
    CHECK(created.apply_script() == "systemd-tmpfiles --create '/etc/tmpfiles.d/berth-containerd.conf'\n");
    written.audit_rules_loaded.reset();
    written.units["auditd"] = {"failed", "enabled"};
    CHECK(AuditRulesStep(tmpfiles, rules).check(written) == Drift{"unit auditd is not active"});
    CHECK(AuditRulesStep::count_watches("## c\n-w /a -p wa -k docker\n-w /b -p wa -k docker") == 2);

    const ManagedFile table{"/etc/berth/firewall.nft", "table inet berth {}\n", 0644};
    const ManagedFile unit{"/etc/systemd/system/berth-firewall.service", "[Unit]\n", 0644};
    CHECK(FirewallStep(table, unit).check(*facts) ==
          Drift{"/etc/berth/firewall.nft is missing", "/etc/systemd/system/berth-firewall.service is missing",
                "unit berth-firewall is not enabled", "unit berth-firewall is not active"});

    CHECK(DockerServiceStep(true).check(*facts).empty());
    Facts stopped = *facts;
    stopped.units["docker"] = {"inactive", "disabled"};
    stopped.units["apparmor"] = {"inactive", "enabled"};
    CHECK(DockerServiceStep(true).check(stopped) ==
          Drift{"unit apparmor is not active", "unit docker is not enabled", "unit docker is not active"});
    CHECK(DockerServiceStep(false).check(stopped) == Drift{"unit docker is not enabled", "unit docker is not active"});
}

TEST_CASE("applying steps batches their changes: units reload first - docker restarts last and once", "[provision]") {
    auto facts = parse_facts(installed_debian(fresh("debian-12"), "/usr/sbin/dockerd").render());
    REQUIRE(facts);
    facts->units["docker"] = {"inactive", "enabled"};
    Changes changes;
    const ManagedFile key{"/etc/docker/tls/server-key.pem", "KEY\n", 0400};
    const ManagedFile dropin{"/etc/systemd/system/docker.service.d/10-berth.conf", "[Service]\n", 0644};
    const ManagedFile sshd{"/etc/ssh/sshd_config.d/00-berth.conf", "MaxAuthTries 3\n", 0644};
    DockerServiceStep(true).apply(*facts, changes);
    DockerFilesStep("TLS files", {key}).apply(*facts, changes);
    DockerFilesStep("docker drop-in", {dropin}, dropin.path).apply(*facts, changes);
    SshdStep(sshd, true).apply(*facts, changes);
    HostnameStep("n1").apply(*facts, changes);
    SubidsStep().apply(*facts, changes);  // subids exist: nothing to do

    CHECK(changes.uploads.size() == 3);
    CHECK(changes.changed == std::vector<std::string>{key.path, dropin.path, sshd.path, "hostname n1"});
    CHECK(changes.prepare.find("h='n1'\nhostnamectl set-hostname \"$h\"") == 0);
    CHECK(changes.prepare.find("/etc/subuid") == std::string::npos);
    const std::string script = changes.apply_script();
    CHECK(script.find("systemctl daemon-reload\n") == 0);
    CHECK(script.find("sshd -t") < script.find("systemctl try-reload-or-restart ssh\n"));
    CHECK(script.find("apparmor") == std::string::npos);  // active already
    CHECK(script.ends_with("systemctl restart docker\n"));
    CHECK(script.find("systemctl restart docker") == script.rfind("systemctl restart docker"));
    CHECK(changes.restarted() == std::vector<std::string>{"ssh (reload)", "docker"});

    Facts matching = *facts;
    matching.files[key.path] = {sha256_hex(key.content), 0400, "root:root"};
    matching.units["docker"] = {"active", "enabled"};
    Changes none;
    DockerFilesStep("TLS files", {key}).apply(matching, none);
    DockerServiceStep(true).apply(matching, none);
    CHECK(none.uploads.empty());
    CHECK(none.apply_script().empty());
    CHECK(none.restarted().empty());

    // Only the environment file written (a create from a baked image): docker restarts, systemd
    // does not reload (EnvironmentFile= is read as the unit starts).
    const ManagedFile env{"/etc/docker/berth-engine.env", "HTTP_PROXY=x\n", 0600};
    Facts dropin_there = matching;
    dropin_there.files[dropin.path] = {sha256_hex(dropin.content), 0644, "root:root"};
    Changes env_only;
    DockerFilesStep("docker drop-in", {env, dropin}, dropin.path).apply(dropin_there, env_only);
    CHECK(env_only.changed == std::vector<std::string>{env.path});
    CHECK(env_only.apply_script() == "systemctl restart docker\n");
    Changes both;
    DockerFilesStep("docker drop-in", {env, dropin}, dropin.path).apply(matching, both);
    CHECK(both.apply_script() == "systemctl daemon-reload\nsystemctl restart docker\n");
}

namespace {

std::string docker_ce_install_script(const std::string& os) {
    auto facts = parse_facts(fresh(os).render());
    REQUIRE(facts);
    EngineConfig ce;
    ce.install = "docker-ce";
    const OsFamily family = os.starts_with("debian") || os.starts_with("ubuntu") ? OsFamily::Debian : OsFamily::Rhel;
    Changes changes;
    PackagesStep(family, ce, false).apply(*facts, changes);
    return changes.install_script;
}

const std::string k_key_function =
    "berth_docker_key() { h=$(mktemp -d) || return 1; f=$(gpg --homedir \"$h\" --batch --show-keys "
    "--with-colons \"$1\" 2>/dev/null | awk -F: '$1==\"pub\"{getline; print $10}'); rm -rf \"$h\"; "
    "[ \"$f\" = 9DC858229FC7DD38854AE2D88D81803C0EBFCD88 ]; }\n";

}  // namespace

TEST_CASE("docker-ce on Debian: Docker's key is checked against its fingerprint before apt trusts it",
          "[provision][trust]") {
    const std::string expected =
        "export DEBIAN_FRONTEND=noninteractive\n"
        ". /etc/os-release\n"
        "install -m 0755 -d /etc/apt/keyrings\n"
        "command -v curl >/dev/null && command -v gpg >/dev/null || { apt-get -o Acquire::Retries=5 update -q && "
        "apt-get install -y -q --no-install-recommends ca-certificates curl gpg; } || exit 1\n" +
        k_key_function +
        "[ -s /etc/apt/keyrings/docker.asc ] || { curl -fsSL \"https://download.docker.com/linux/$ID/gpg\" -o "
        "/etc/apt/keyrings/docker.asc.new && berth_docker_key /etc/apt/keyrings/docker.asc.new && mv "
        "/etc/apt/keyrings/docker.asc.new /etc/apt/keyrings/docker.asc; } || { rm -f "
        "/etc/apt/keyrings/docker.asc.new; echo \"berth: could not fetch Docker's repository key from "
        "https://download.docker.com/linux/$ID/gpg or it is not the key 9DC858229FC7DD38854AE2D88D81803C0EBFCD88: "
        "not trusting it\" >&2; exit 1; }\n"
        "berth_docker_key /etc/apt/keyrings/docker.asc || { echo \"berth: /etc/apt/keyrings/docker.asc is not "
        "Docker's repository key 9DC858229FC7DD38854AE2D88D81803C0EBFCD88: remove it, then provision again\" >&2; "
        "exit 1; }\n"
        "echo \"deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] "
        "https://download.docker.com/linux/$ID $VERSION_CODENAME stable\" > /etc/apt/sources.list.d/docker.list\n";
    const std::string script = docker_ce_install_script("debian-12");
    CHECK(script.starts_with(expected));
    // Then the install, whose lists the new docker.list makes stale (see the install script tests).
    CHECK(script.find("berth_install() { berth_apt -o APT::Status-Fd=3 install -y -q --no-install-recommends "
                      "'docker-ce' 'docker-ce-cli' 'containerd.io' 'apparmor' 'auditd' 'nftables' 3>&1 1>&2; }\n") !=
          std::string::npos);
}

TEST_CASE("docker-ce on the RHEL family: the checked key is imported before dnf, which can import no other",
          "[provision][trust]") {
    const std::string expected =
        ". /etc/os-release\n"
        "repo=centos; [ \"$ID\" = fedora ] && repo=fedora\n"
        "install -m 0755 -d /etc/pki/rpm-gpg\n" +
        k_key_function +
        "[ -s /etc/pki/rpm-gpg/docker-ce.gpg ] || { curl -fsSL \"https://download.docker.com/linux/$repo/gpg\" -o "
        "/etc/pki/rpm-gpg/docker-ce.gpg.new && berth_docker_key /etc/pki/rpm-gpg/docker-ce.gpg.new && mv "
        "/etc/pki/rpm-gpg/docker-ce.gpg.new /etc/pki/rpm-gpg/docker-ce.gpg; } || { rm -f "
        "/etc/pki/rpm-gpg/docker-ce.gpg.new; echo \"berth: could not fetch Docker's repository key from "
        "https://download.docker.com/linux/$repo/gpg or it is not the key 9DC858229FC7DD38854AE2D88D81803C0EBFCD88: "
        "not trusting it\" >&2; exit 1; }\n"
        "berth_docker_key /etc/pki/rpm-gpg/docker-ce.gpg || { echo \"berth: /etc/pki/rpm-gpg/docker-ce.gpg is not "
        "Docker's repository key 9DC858229FC7DD38854AE2D88D81803C0EBFCD88: remove it, then provision again\" >&2; "
        "exit 1; }\n"
        "rpm --import /etc/pki/rpm-gpg/docker-ce.gpg || exit 1\n"
        "[ -f /etc/yum.repos.d/docker-ce.repo ] || { curl -fsSL \"https://download.docker.com/linux/$repo/docker-ce.repo\" "
        "-o /etc/yum.repos.d/docker-ce.repo.new && mv /etc/yum.repos.d/docker-ce.repo.new "
        "/etc/yum.repos.d/docker-ce.repo; } || exit 1\n"
        "sed -i -e 's|^gpgkey=.*|gpgkey=file:///etc/pki/rpm-gpg/docker-ce.gpg|' -e 's|^gpgcheck=.*|gpgcheck=1|' "
        "/etc/yum.repos.d/docker-ce.repo || exit 1\n"
        "dnf -y -q install 'docker-ce' 'docker-ce-cli' 'containerd.io' 'audit' 'nftables' 'container-selinux'\n";
    CHECK(docker_ce_install_script("rocky-9") == expected);
}

TEST_CASE("the docker-ce key check accepts only the one key with the expected fingerprint", "[provision][trust]") {
    berth::test::TestGpg gpg;
    berth::test::TempDir dir;
    const std::string mine = gpg.make_key("berth test key <test@berth.invalid>");
    const std::string other = gpg.make_key("berth other key <other@berth.invalid>");
    gpg.export_keys(mine, dir / "mine.asc", true);
    gpg.export_keys(mine + " " + other, dir / "both.asc", true);
    berth::test::write_text(dir / "garbage.asc", "<html>not a key</html>\n");

    auto check = [&](const std::string& fingerprint, const std::string& file) {
        berth::ProcessRunner runner;
        berth::Command c;
        c.argv = {"sh", "-c", docker_key_check(fingerprint) + "berth_docker_key \"$1\"", "sh", (dir / file).string()};
        auto r = runner.run(c);
        REQUIRE(r);
        return r->exit_status;
    };
    CHECK(check(mine, "mine.asc") == 0);
    CHECK(check(k_docker_key_fingerprint, "mine.asc") == 1);  // what the install script asks for
    CHECK(check(mine, "both.asc") == 1);                      // a second key would be trusted too
    CHECK(check(mine, "garbage.asc") == 1);
    CHECK(check(mine, "missing.asc") == 1);
    CHECK(docker_key_check(k_docker_key_fingerprint) == k_key_function);
}

TEST_CASE("the facts carry how many of berth's audit rules the kernel holds", "[provision]") {
    CHECK(facts_script({}).find("auditctl -l") != std::string::npos);
    auto loaded = parse_facts("@audit-loaded\n17\n@end\n");
    REQUIRE(loaded);
    CHECK(loaded->audit_rules_loaded == 17);
    auto none = parse_facts("@audit-loaded\n@end\n");  // no auditctl on the host
    REQUIRE(none);
    CHECK_FALSE(none->audit_rules_loaded);
    CHECK_FALSE(parse_facts("@audit-loaded\n-1\n@end\n"));
}

TEST_CASE("the package install waits for a slot of the package gate - the steps are reported as progress",
          "[provision][progress]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    ScriptedSession s;
    FakeDocker docker;
    auto before = fresh("debian-12");
    auto after = with_apt_file(installed_debian(before, "/usr/sbin/dockerd"), *templates);
    s.expect_run({"@os-release", "dpkg-query", "sha256sum"}, {0, before.render(), ""})
        .expect_upload("/etc/apt/apt.conf.d/90berth-proxy", 0644)
        .expect_run({"-o APT::Status-Fd=3 install -y -q --no-install-recommends 'docker.io' 'apparmor' 'auditd' "
                     "'nftables' 3>&1 1>&2; }\n"},
                    {0, "dlstatus:1:50:Retrieving file 1 of 2\npmstatus:docker.io:40:Unpacking docker.io\n", ""})
        .expect_run({"@os-release"}, {0, after.render(), ""})
        .expect_run({"hostnamectl set-hostname"});
    expect_all_uploads(s, false);
    s.expect_run({"systemctl restart docker"});
    auto req = request();
    req.package_gate = std::make_shared<std::counting_semaphore<>>(0);  // no slot: others install
    std::mutex mutex;
    std::vector<std::string> steps;
    Result<ProvisionReport> report = fail("not run");
    std::thread provisioning([&] {
        ProgressScope scope("n1", [&](const ProgressEvent& e) {
            std::lock_guard lock(mutex);
            steps.push_back(e.step);
        });
        report = Provisioner(s, *templates, docker).run(req);
    });
    auto waiting = [&] {
        std::lock_guard lock(mutex);
        return !steps.empty() && steps.back() == "packages (waiting)";
    };
    for (int i = 0; i < 500 && !waiting(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(waiting());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    {
        std::lock_guard lock(mutex);
        CHECK(s.scripts().size() == 1);  // the facts only: the install waits for its slot
    }
    req.package_gate->release();
    provisioning.join();
    INFO((report ? std::string() : report.error().line()));
    REQUIRE(report);
    require_clean(s);
    // apt's status lines (stdout of the install) are the install's fractions.
    CHECK(steps == std::vector<std::string>{"facts", "packages (waiting)", "packages", "packages (download)", "packages",
                                            "hardening", "restart", "verify"});
    CHECK(req.package_gate->try_acquire());  // the slot was given back
}

TEST_CASE("a user certificate and its revocation change only the policy and the revocation list: berth-authz reloads",
          "[provision][authz][certs]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    FakeDocker docker;
    const auto host = provisioned_debian(*templates, docker);
    // The first provision wrote an empty revocation list that berth-authz reads.
    auto empty = berth::authz::parse_revoked(
        [&] {
            ScriptedSession first;
            auto fresh_host = installed_debian(fresh("debian-12"), "/usr/sbin/dockerd");
            expect_first_provision(first, fresh_host);
            REQUIRE(Provisioner(first, *templates, docker).run(request()));
            return first.uploaded().at("/etc/berth/authz-revoked.yaml");
        }(),
        "authz-revoked.yaml");
    REQUIRE(empty);
    CHECK(empty->empty());

    auto req = request();
    UserCert alice{"alice", "restricted", "55EE2F588885EBAA290D2DE7C60E3BE8", "2028-12-05T09:18:00Z", "", false};
    UserCert bob{"bob@example.org", "admin", "0A01", "2028-12-05T09:18:00Z", "", false};
    req.authz_users = {alice, bob};
    ScriptedSession s;
    s.expect_run({"@os-release"}, {0, host.render(), ""})
        .expect_run({"install -d"})
        .expect_upload("/etc/berth/authz.yaml", 0644)
        .expect_run({"systemctl try-reload-or-restart berth-authz.service\n"});
    auto report = Provisioner(s, *templates, docker).run(req);
    INFO((report ? std::string() : report.error().line()));
    REQUIRE(report);
    require_clean(s);
    CHECK(report->restarted == std::vector<std::string>{"berth-authz (reload)"});
    auto policy = berth::authz::parse_policy(s.uploaded().at("/etc/berth/authz.yaml"), "authz.yaml");
    REQUIRE(policy);
    CHECK(policy->role_for("alice").name == "restricted");
    CHECK(policy->role_for("bob@example.org").name == "admin");
    CHECK(policy->role_for("berth client for n1").name == "restricted");

    // Revoked: alice leaves the users map, her serial goes into the revocation list.
    auto after = converged(host, s);
    req.authz_users[0].revoked = true;
    ScriptedSession r;
    r.expect_run({"@os-release"}, {0, after.render(), ""})
        .expect_run({"install -d"})
        .expect_upload("/etc/berth/authz.yaml", 0644)
        .expect_upload("/etc/berth/authz-revoked.yaml", 0644)
        .expect_run({"systemctl try-reload-or-restart berth-authz.service\n"});
    auto revoked = Provisioner(r, *templates, docker).run(req);
    REQUIRE(revoked);
    require_clean(r);
    CHECK(r.scripts().back().find("docker") == std::string::npos);
    auto list = berth::authz::parse_revoked(r.uploaded().at("/etc/berth/authz-revoked.yaml"), "authz-revoked.yaml");
    REQUIRE(list);
    CHECK(*list == std::set<std::string, std::less<>>{"55EE2F588885EBAA290D2DE7C60E3BE8"});
    auto policy2 = berth::authz::parse_policy(r.uploaded().at("/etc/berth/authz.yaml"), "authz.yaml");
    REQUIRE(policy2);
    CHECK_FALSE(policy2->users.contains("alice"));

    // A CN that YAML would read otherwise is escaped; a serial that is not hex is refused.
    auto odd = request();
    odd.authz_users = {UserCert{"yes", "admin", "01", "", "", false}};
    ScriptedSession o;
    o.expect_run({"@os-release"}, {0, host.render(), ""}).expect_run({"install -d"});
    o.expect_upload("/etc/berth/authz.yaml", 0644).expect_run({"systemctl try-reload-or-restart"});
    REQUIRE(Provisioner(o, *templates, docker).run(odd));
    auto policy3 = berth::authz::parse_policy(o.uploaded().at("/etc/berth/authz.yaml"), "authz.yaml");
    REQUIRE(policy3);
    CHECK(policy3->role_for("yes").name == "admin");
    auto bad = request();
    bad.authz_users = {UserCert{"mallory", "restricted", "01\n  - serial: 02", "", "", true}};
    ScriptedSession b;
    b.expect_run({"@os-release"}, {0, host.render(), ""});
    auto refused = Provisioner(b, *templates, docker).run(bad);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("no readable serial") != std::string::npos);
}

TEST_CASE("the audit rules are the same before dockerd's first start as after it", "[provision][audit]") {
    // Docker is held back during the install, so /var/lib/docker does not exist yet when the facts
    // are read again; the rules must not change when dockerd makes it (a re-provision would write them).
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    ProvisionRequest req;
    req.machine = "m1";
    req.authz_owner_cn = "berth client for m1";
    Facts before;
    before.sshd_ports = {22};
    before.existing = {"/usr/sbin/dockerd", "/usr/bin/containerd"};
    Facts after = before;
    after.existing.insert({"/var/lib/docker", "/etc/docker", "/etc/docker/daemon.json"});
    std::vector<std::string> warnings;
    auto rules = [&](const Facts& facts) {
        auto files = render_desired_files(*templates, facts, req, OsFamily::Debian, warnings);
        REQUIRE(files);
        for (const auto& f : *files)
            if (f.path == k_audit_rules) return f.content;
        FAIL("no audit rules rendered");
        return std::string();
    };
    const std::string first = rules(before);
    CHECK(first == rules(after));
    for (const char* w : {"-w /var/lib/docker -p wa -k docker\n", "-w /etc/docker -p wa -k docker\n",
                          "-w /etc/docker/daemon.json -p wa -k docker\n", "-w /usr/bin/containerd -p wa -k docker\n"})
        CHECK(first.find(w) != std::string::npos);
    CHECK(first.find("/usr/bin/dockerd") == std::string::npos);  // not on this host: not watched
}
