// Escaping for every format berth writes (core/escape.h), and every template rendered with hostile
// values in every value a user or a host can influence: the result parses in its format (JSON with
// nlohmann, YAML with yaml-cpp, shell with /bin/sh, systemd with a reader of systemd.syntax(7)
// and `systemd-analyze verify`) and carries each value literally. The libvirt domain XML is
// checked the same way with libxml2 in drivers/libvirt/tests; image-build-debian.sh takes its
// values from the environment (src/image).

#include <berth/authz/policy.h>
#include <berth/core/escape.h>
#include <berth/core/machine_name.h>
#include <berth/provision/cloud_init.h>
#include <berth/provision/desired_files.h>
#include <berth/provision/host_paths.h>
#include <berth/provision/provisioner.h>
#include <berth/store/atomic_file.h>

#include "format_readers.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace berth;
using berth::test::run_sh;
using berth::test::systemd_exec_argv;
using berth::test::unit_setting;

namespace {

/// Values that break a format written without escaping: quotes, a newline, command substitution,
/// a backtick, a specifier, markup, a backslash.
const std::vector<std::string> k_hostile = {
    "it's",           "a\nb\"\nExecStartPre=/bin/touch /tmp/pwned", "$(touch /tmp/pwned)", "`id`",
    "100%n %%",       "<b>&amp;</b>",                               "say \"hi\"",          "back\\slash\\n",
    "$HOME ${HOME} $$", "all: ' \" $(x) `y` % < > & \\ ; | # {{x}} \t end",
};

/// The same without control characters: what a value that refuses them may hold.
std::vector<std::string> one_line(std::vector<std::string> values) {
    for (auto& v : values) std::replace_if(v.begin(), v.end(), [](char c) { return c == '\n' || c == '\t'; }, ' ');
    return values;
}

/// What `sh` reads a value of an EnvironmentFile as: the file sourced, then NAME printed.
std::string sourced(const std::string& file_text, const std::string& name) {
    auto r = run_sh(file_text + "\nprintf '%s' \"$" + name + "\"\n");
    INFO(r.err);
    REQUIRE(r.exit_status == 0);
    return r.out;
}

}  // namespace

TEST_CASE("shell_quote: sh reads the word back exactly", "[escape]") {
    for (const auto& v : k_hostile) {
        CAPTURE(v);
        auto r = run_sh("printf '%s' " + shell_quote(v) + "\n");
        CHECK(r.exit_status == 0);
        CHECK(r.out == v);
        CHECK(run_sh("set -- " + shell_quote(v) + "\n[ $# -eq 1 ]\n").exit_status == 0);  // one word
    }
}

TEST_CASE("rsync_rsh_word: rsync reads each word of -e back exactly", "[escape][scp]") {
    // rsync runs its -e COMMAND (split by rsync itself, no shell) as: COMMAND... HOST rsync --server...
    // This COMMAND is a script that writes the arguments it got, NUL-ended, and fails.
    test::TempDir dir;
    const auto script = dir / "it's a \"dir\"" / "argv dump.sh";
    const auto out = dir / "argv.out";
    std::filesystem::create_directories(script.parent_path());
    {
        std::ofstream f(script);
        f << "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > " << shell_quote(out.string()) << "\nexit 1\n";
    }
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
    std::vector<std::string> values = k_hostile;
    values.insert(values.end(), {"", "''", "'", "\"\"", "a  b", " lead", "-F", "x' -oProxyCommand='touch /tmp/pwned"});
    std::string command = rsync_rsh_word(script.string());
    for (const auto& v : values) command += " " + rsync_rsh_word(v);
    ProcessRunner runner;
    Command c;
    c.argv = {"rsync", "-e", command, "--", "somehost:file", (dir / "dest").string()};
    c.timeout = std::chrono::seconds(20);
    auto r = runner.run(c);
    REQUIRE(r);  // rsync is a test tool (scripts/install-deps)
    CHECK(r->exit_status != 0);
    auto text = read_file(out);
    REQUIRE(text);
    std::vector<std::string> got;
    for (size_t start = 0, end; (end = text->find('\0', start)) != std::string::npos; start = end + 1)
        got.push_back(text->substr(start, end - start));
    REQUIRE(got.size() > values.size());
    CHECK(std::vector<std::string>(got.begin(), got.begin() + static_cast<long>(values.size())) == values);
    CHECK(got[values.size()] == "somehost");
}

TEST_CASE("json_string and yaml_string: parsers read the value back exactly", "[escape]") {
    std::vector<std::string> values = k_hostile;
    values.push_back(std::string("nul\x01 del\x7f esc\x1b utf8 \xc3\xa9", 23));
    for (const auto& v : values) {
        CAPTURE(v);
        CHECK(nlohmann::json::parse(json_string(v)).get<std::string>() == v);
        CHECK(YAML::Load("key: " + yaml_string(v))["key"].as<std::string>() == v);
        CHECK(YAML::Load("- " + yaml_string(v))[0].as<std::string>() == v);
    }
}

TEST_CASE("systemd_exec_word and _path: systemd reads one literal word - plain paths stay plain", "[escape]") {
    CHECK(systemd_exec_path("/usr/sbin/dockerd") == "/usr/sbin/dockerd");
    CHECK(systemd_exec_word("-/bin/true") == "\"-/bin/true\"");  // never the "-" prefix
    for (const auto& v : k_hostile) {
        CAPTURE(v);
        auto argv = systemd_exec_argv(systemd_exec_path("/p/" + v) + " " + systemd_exec_word(v) + " --flag=" +
                                      systemd_exec_word(v) + " $DOCKER_OPTS");
        REQUIRE(argv);
        CHECK(*argv == std::vector<std::string>{"/p/" + v, v, "--flag=" + v, "$DOCKER_OPTS"});
    }
    CHECK(systemd_can_exec("/opt/a b/$(x) `y` 100%/dockerd"));
    for (const char* bad : {"dockerd", "/opt/it's", "/opt/\"q\"", "/opt/back\\slash", "/opt/a\nb"}) CHECK_FALSE(systemd_can_exec(bad));
}

TEST_CASE("systemd_env_file_value: sourced back exactly - control characters are refused before", "[escape]") {
    for (const auto& v : one_line(k_hostile)) {
        CAPTURE(v);
        CHECK(sourced("NAME=" + systemd_env_file_value(v) + "\n", "NAME") == v);
    }
    CHECK(has_control_character("a\nb"));
    CHECK(has_control_character("a\x7f"));
    CHECK_FALSE(has_control_character("http://user:p%40ss@proxy:3128 \xc3\xa9"));
}

namespace {

/// What apt reads from an apt.conf text (format_readers.h): the keys the file adds, and `key`'s value.
std::pair<std::set<std::string>, std::string> apt_reads(const std::string& text, const std::string& key) {
    auto read = berth::test::apt_conf_read(text, key);
    INFO(text);
    REQUIRE(read);
    const auto at = read->find("@value\n");
    REQUIRE(at != std::string::npos);
    std::set<std::string> keys;
    std::istringstream lines(read->substr(0, at));
    for (std::string line; std::getline(lines, line);) keys.insert(line);
    return {keys, read->substr(at + 7)};
}

}  // namespace

TEST_CASE("apt_conf_quote: apt reads the value back exactly - what it cannot carry stays one string", "[escape][apt-proxy]") {
    std::vector<std::string> values = k_hostile;
    values.push_back("http://[fd00::2]:3142/a  b//c#d;e{f}/* x */");
    values.push_back("nul\x01 del\x7f esc\x1b\r utf8 \xc3\xa9");
    for (const auto& v : values) {
        CAPTURE(v);
        const std::string quoted = apt_conf_quote(v);
        CHECK(quoted.find('\n') == std::string::npos);
        auto [keys, value] = apt_reads("Acquire::http::Proxy " + quoted + ";\n", "Acquire::http::Proxy");
        CHECK(keys.contains("Acquire::http::Proxy"));
        keys.erase("Acquire::http");  // the parent, when the system has no setting under it
        CHECK(keys == std::set<std::string>{"Acquire::http::Proxy"});  // nothing else was set
        const bool carried = v.find_first_of("\"\\") == std::string::npos && !has_control_character(v);
        CHECK(apt_conf_can_carry(v) == carried);
        if (carried) {
            CHECK(value == v);
        } else {  // one string, with each byte apt cannot carry as %XX
            CHECK(value == quoted.substr(1, quoted.size() - 2));
            CHECK(value.find_first_of("\"\\") == std::string::npos);
            CHECK_FALSE(has_control_character(value));
        }
    }
    CHECK(apt_conf_quote("a\"b\\c\nd") == "\"a%22b%5Cc%0Ad\"");
}

TEST_CASE("apt's proxy file: apt reads the URL back - without a proxy it sets nothing", "[escape][apt-proxy]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    ProvisionRequest req;
    req.machine = "n1";
    for (const auto& v : one_line(k_hostile)) {
        CAPTURE(v);
        req.engine.apt_proxy = "http://proxy:3142/" + v;
        auto files = render_pre_install_files(*templates, req, OsFamily::Debian);
        if (!apt_conf_can_carry(v)) {  // validation refuses it first; rendering refuses it too
            REQUIRE_FALSE(files);
            CHECK(files.error().message.find("apt proxy URL of n1") != std::string::npos);
            continue;
        }
        REQUIRE(files);
        REQUIRE(files->size() == 1);
        const ManagedFile& f = files->front();
        CHECK(f.path == k_apt_proxy);
        CHECK(f.mode == 0644);
        for (const char* key : {"Acquire::http::Proxy", "Acquire::https::Proxy"}) {
            auto [keys, value] = apt_reads(f.content, key);
            CHECK(value == req.engine.apt_proxy);
            keys.erase("Acquire::http");
            keys.erase("Acquire::https");
            CHECK(keys == std::set<std::string>{"Acquire::http::Proxy", "Acquire::https::Proxy"});
        }
    }
    req.engine.apt_proxy.clear();
    auto none = render_pre_install_files(*templates, req, OsFamily::Debian);
    REQUIRE(none);
    REQUIRE(none->size() == 1);  // still written: removing the proxy from a machine removes it from the host
    CHECK(none->front().content.find("Acquire") == std::string::npos);
    CHECK(apt_reads(none->front().content, "Acquire::http::Proxy") == std::pair{std::set<std::string>{}, std::string()});
    auto rhel = render_pre_install_files(*templates, req, OsFamily::Rhel);  // no apt there
    REQUIRE(rhel);
    CHECK(rhel->empty());
}

TEST_CASE("every template is rendered with hostile values by a test", "[escape]") {
    const std::set<std::string> here = {"daemon.json", "docker-engine.env", "docker-service-override.conf",
                                        "audit-docker.rules", "sshd-hardening.conf", "firewall.nft",
                                        "berth-firewall.service", "cloud-init-user-data", "cloud-init-meta-data",
                                        "cloud-init-network-config", "authz-policy.yaml", "berth-authz.socket",
                                        "berth-authz.service", "authz-revoked.yaml", "apt-proxy.conf",
                                        "containerd-tmpfiles.conf", "seed-firstboot.sh"};
    const std::set<std::string> elsewhere = {"libvirt-domain.xml",      // drivers/libvirt/tests (libxml2)
                                             "image-build-debian.sh"};  // values in the environment
    for (const auto& t : embedded_templates()) {
        CAPTURE(t.name);
        CHECK((here.contains(std::string(t.name)) || elsewhere.contains(std::string(t.name))));
    }
}

TEST_CASE("host files rendered with hostile values parse and carry them literally", "[escape]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    berth::test::TempDir dir;
    for (const auto& v : one_line(k_hostile)) {
        CAPTURE(v);
        Facts facts;  // what a hostile host could answer for the paths of its programs
        std::string program_dir = v;  // systemd runs no program whose path has a quote or backslash
        std::erase_if(program_dir, [](char c) { return c == '\'' || c == '"' || c == '\\'; });
        facts.dockerd = "/opt/" + program_dir + "/dockerd";
        facts.nft = "/opt/" + program_dir + "/nft";
        facts.existing = {"/usr/bin/containerd", "/var/lib/docker"};
        facts.sshd_ports = {22, 2222};
        ProvisionRequest req;
        const std::string secret = "secret:" + v;
        req.engine.env = {"HTTPS_PROXY=" + secret, "NO_PROXY=" + v + "," + v};
        req.engine.labels = {"owner=" + v};
        req.engine.storage_driver = v;
        std::vector<std::string> warnings;
        auto files = render_desired_files(*templates, facts, req, OsFamily::Debian, warnings);
        REQUIRE(files);
        std::map<std::string, ManagedFile> by_path;
        for (const auto& f : *files) by_path[f.path] = f;

        const auto daemon = nlohmann::json::parse(by_path.at(k_daemon_json).content);
        CHECK(daemon["labels"] == nlohmann::json::array({"owner=" + v}));
        CHECK(daemon["storage-driver"] == v);

        const ManagedFile& env = by_path.at(k_engine_env);
        CHECK(env.mode == 0600);
        CHECK(sourced(env.content, "HTTPS_PROXY") == secret);
        CHECK(sourced(env.content, "NO_PROXY") == v + "," + v);

        const std::string dropin = by_path.at(k_dropin).content;
        CHECK(dropin.find("secret:") == std::string::npos);  // no value in the world-readable unit
        CHECK(dropin.find("Environment=") == std::string::npos);
        CHECK(unit_setting(dropin, "EnvironmentFile") == k_engine_env);
        auto exec = systemd_exec_argv(unit_setting(dropin, "ExecStart"));
        REQUIRE(exec);
        CHECK(*exec == std::vector<std::string>{facts.dockerd, "--tlsverify",
                                                "--containerd=/run/containerd/containerd.sock", "$DOCKER_OPTS"});

        const std::string unit = by_path.at(k_firewall_unit).content;
        auto start = systemd_exec_argv(unit_setting(unit, "ExecStart"));
        auto stop = systemd_exec_argv(unit_setting(unit, "ExecStop"));
        REQUIRE(start);
        REQUIRE(stop);
        CHECK(*start == std::vector<std::string>{facts.nft, "-f", k_firewall});
        CHECK(*stop == std::vector<std::string>{facts.nft, "delete", "table", "inet", "berth"});

        // systemd itself parses both units (its verifier wants the programs to exist).
        for (const auto& program : {facts.dockerd, facts.nft}) {
            const auto local = dir.path() / program.substr(1);
            std::filesystem::create_directories(local.parent_path());
            berth::test::write_text(local, "#!/bin/sh\n");
            std::filesystem::permissions(local, std::filesystem::perms::owner_all);
        }
        auto rooted = [&](std::string text) {
            for (std::size_t at = 0; (at = text.find("=/opt/", at)) != std::string::npos; at += 6)
                text.insert(at + 1, dir.path().string());
            for (std::size_t at = 0; (at = text.find("=\"/opt/", at)) != std::string::npos; at += 7)
                text.insert(at + 2, dir.path().string());
            return text;
        };
        berth::test::write_text(dir / "docker.service", "[Service]\nType=notify\n" + rooted(dropin));
        berth::test::write_text(dir / "berth-firewall.service", rooted(unit));
        auto verified = run_sh("cd " + shell_quote(dir.path().string()) +
                               " && systemd-analyze verify --man=no ./docker.service ./berth-firewall.service 2>&1"
                               " | grep -v 'EnvironmentFile\\|berth-engine.env\\|network-pre\\|multi-user'\n"
                               "exit 0\n");
        INFO("systemd-analyze verify:\n" << verified.out);
        CHECK(verified.out.empty());

        // The numbers: nft gets ports only, and the audit rules constant paths only.
        const std::string fw = by_path.at(k_firewall).content;
        CHECK(fw.find("tcp dport { 22, 2222 } accept") != std::string::npos);
        CHECK(fw.find("tcp dport 2376 accept") != std::string::npos);
        for (const auto& f : *files) CHECK(f.path.find(v) == std::string::npos);
    }
}

namespace {

/// Whether `node` or anything under it is the scalar `value` (a key or a value).
bool holds_scalar(const YAML::Node& node, const std::string& value) {
    if (node.IsScalar()) return node.as<std::string>() == value;
    if (node.IsSequence())
        return std::any_of(node.begin(), node.end(), [&](const YAML::Node& n) { return holds_scalar(n, value); });
    if (node.IsMap())
        for (const auto& kv : node)
            if (holds_scalar(kv.first, value) || holds_scalar(kv.second, value)) return true;
    return false;
}

}  // namespace

TEST_CASE("berth-authz's policy and units rendered with a hostile owner CN parse and carry it literally", "[escape][authz]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    for (const auto& v : k_hostile) {
        CAPTURE(v);
        Facts facts;
        facts.dockerd = "/usr/sbin/dockerd";
        ProvisionRequest req;
        req.machine = "n1";
        req.authz_owner_cn = "berth client for " + v;
        // A user CN is checked when it is issued (validate_user_cn); rendered, it is escaped anyway.
        if (!v.empty())
            req.authz_users = {UserCert{"u" + v, "admin", "0A", "", "", false}, UserCert{"r" + v, "restricted", "0B", "", "", true}};
        for (const char* role : {"restricted", "admin"}) {
            CAPTURE(role);
            req.authz.owner_role = role;
            std::vector<std::string> warnings;
            auto files = render_desired_files(*templates, facts, req, OsFamily::Debian, warnings);
            REQUIRE(files);
            std::map<std::string, ManagedFile> by_path;
            for (const auto& f : *files) by_path[f.path] = f;
            const std::string policy = by_path.at(k_authz_policy).content;
            YAML::Node doc;
            REQUIRE_NOTHROW(doc = YAML::Load(policy));
            CHECK(holds_scalar(doc, req.authz_owner_cn));
            // berth-authz's own parser reads the same CN with the role asked for.
            auto parsed = authz::parse_policy(policy, k_authz_policy);
            INFO((parsed ? std::string() : parsed.error()));
            REQUIRE(parsed);
            CHECK(parsed->role_for(req.authz_owner_cn).name == role);
            CHECK(parsed->role_for("someone else").name != "admin");
            if (!v.empty()) {
                CHECK(parsed->role_for("u" + v).name == "admin");
                CHECK(parsed->role_for("r" + v).name == "restricted");  // revoked: not listed
                const std::string revoked = by_path.at(k_authz_revoked).content;
                REQUIRE_NOTHROW(doc = YAML::Load(revoked));
                CHECK(holds_scalar(doc, "r" + v));
                auto list = authz::parse_revoked(revoked, k_authz_revoked);
                INFO((list ? std::string() : list.error()));
                REQUIRE(list);
                CHECK(*list == std::set<std::string, std::less<>>{"0B"});
            }

            auto exec = systemd_exec_argv(unit_setting(by_path.at(k_authz_service_unit).content, "ExecStart"));
            REQUIRE(exec);
            REQUIRE_FALSE(exec->empty());
            CHECK(exec->front() == k_authz_binary);
            CHECK(by_path.at(k_authz_socket_unit).content.find(k_authz_socket) != std::string::npos);
            CHECK(by_path.at(k_authz_binary).mode == 0755);
        }
    }
}

TEST_CASE("a program path systemd cannot run is refused before anything is rendered", "[escape]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    for (const char* path : {"/opt/it's/dockerd", "/opt/\"/dockerd", "/opt/a\\b/dockerd", "dockerd"}) {
        CAPTURE(path);
        Facts facts;
        facts.dockerd = path;
        std::vector<std::string> warnings;
        ProvisionRequest req;
        req.machine = "n1";
        auto files = render_desired_files(*templates, facts, req, OsFamily::Debian, warnings);
        REQUIRE_FALSE(files);
        CHECK(files.error().message.find("a path systemd cannot run") != std::string::npos);
    }
}

TEST_CASE("the seed carries hostile values as YAML strings and as shell words", "[escape]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    for (const auto& v : k_hostile) {
        CAPTURE(v);
        CloudInitSpec spec;
        spec.hostname = v;
        spec.user = "docker";  // a user name useradd cannot make is refused (below)
        spec.ssh_public_key = "ssh-ed25519 AAAA " + v;
        spec.host_key_private = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + v + "\n-----END OPENSSH PRIVATE KEY-----";
        spec.host_key_public = "ssh-ed25519 BBBB " + v;
        spec.instance_id = v;
        spec.dhcp_macs = {"52:54:00:AB:cd:01", "08:00:27:00:00:02"};
        auto files = render_cloud_init(*templates, spec);
        REQUIRE(files);
        const YAML::Node user = YAML::Load(files->user_data);
        CHECK(user["hostname"].as<std::string>() == v);
        CHECK(user["users"][0]["ssh_authorized_keys"][0].as<std::string>() == spec.ssh_public_key);
        CHECK(user["users"][0]["sudo"].as<std::string>() == "ALL=(ALL) NOPASSWD:ALL");
        CHECK(user["ssh_keys"]["ed25519_private"].as<std::string>() == spec.host_key_private);
        const YAML::Node meta = YAML::Load(files->meta_data);
        CHECK(meta["instance-id"].as<std::string>() == v);
        CHECK(meta["local-hostname"].as<std::string>() == v);
        const YAML::Node net = YAML::Load(files->network_config);
        CHECK(net["config"][0]["mac_address"].as<std::string>() == "52:54:00:AB:cd:01");
        CHECK(net["config"][0]["name"].as<std::string>() == "eth0");
        // The script's values, read back by sh: its assignments (up to the first blank line), then
        // each variable printed. The script as a whole parses.
        const std::string& script = files->firstboot;
        const auto assignments = script.substr(0, script.find("\n\n"));
        auto r = berth::test::run_sh(assignments + "\nprintf '%s\\0' \"$hostname\" \"$user\" \"$ssh_public_key\" "
                                                   "\"$host_key_private\" \"$host_key_public\" \"$data_disk\" \"$macs\"\n");
        REQUIRE(r.exit_status == 0);
        using namespace std::string_literals;
        CHECK(r.out == v + "\0docker\0"s + spec.ssh_public_key + "\0"s + spec.host_key_private + "\0"s +
                           spec.host_key_public + "\0" "1\0" "52:54:00:ab:cd:01 08:00:27:00:00:02\0"s);
        CHECK(berth::test::run_sh("sh -n -c " + shell_quote(script) + "\n").exit_status == 0);
    }
    // A user name useradd cannot make, or a MAC that is not one, never reaches the script.
    CloudInitSpec bad;
    bad.hostname = "web1";
    for (const auto& v : k_hostile) {
        CAPTURE(v);
        bad.user = v;
        CHECK_FALSE(render_cloud_init(*templates, bad));
        bad.user = "docker";
        bad.dhcp_macs = {v};
        CHECK_FALSE(render_cloud_init(*templates, bad));
        bad.dhcp_macs = {};
    }
    bad.dhcp_macs = {"52:54:00:ab:cd:0g"};
    CHECK_FALSE(render_cloud_init(*templates, bad));
    bad.dhcp_macs = {"52:54:00:ab:cd:01"};
    CHECK(render_cloud_init(*templates, bad));
    // What cloud-init could not use as a host name is refused before: machine names are DNS labels.
    CHECK_FALSE(validate_machine_name("web\nruncmd"));
    CHECK_FALSE(validate_machine_name("a'b"));
}

TEST_CASE("the berth-authz policy and units carry hostile values", "[escape][authz]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    berth::test::TempDir dir;
    for (const auto& v : k_hostile) {
        CAPTURE(v);
        for (const char* role : {"restricted", "admin"}) {
            auto policy_text = templates->render("authz-policy.yaml", {{"owner_cn", yaml_string(v)}, {"owner_role", role}});
            REQUIRE(policy_text);
            auto policy = berth::authz::parse_policy(*policy_text, "authz.yaml");
            INFO(*policy_text);
            REQUIRE(policy);
            CHECK(policy->role_for(v).name == role);
            CHECK(policy->role_for("").name == "restricted");
            CHECK(policy->role_for(v + "x").name == "restricted");
        }
        std::string program_dir = v;  // systemd runs no program whose path has a quote or backslash
        std::erase_if(program_dir, [](char c) { return c == '\'' || c == '"' || c == '\\' || c == '\n' || c == '\t'; });
        const std::string binary = "/opt/" + program_dir + "/berth-authz";
        auto service = templates->render("berth-authz.service", {{"authz_binary", systemd_exec_path(binary)}});
        REQUIRE(service);
        auto exec = systemd_exec_argv(unit_setting(*service, "ExecStart"));
        REQUIRE(exec);
        CHECK(*exec == std::vector<std::string>{binary, "--policy", "/etc/berth/authz.yaml"});
    }
    // systemd itself reads both units (its verifier wants the program to exist).
    const std::string program = (dir.path() / "berth-authz").string();
    berth::test::write_text(program, "#!/bin/sh\n");
    std::filesystem::permissions(program, std::filesystem::perms::owner_all);
    auto service = templates->render("berth-authz.service", {{"authz_binary", systemd_exec_path(program)}});
    auto socket = templates->render("berth-authz.socket", nlohmann::json::object());
    REQUIRE(service);
    REQUIRE(socket);
    CHECK(unit_setting(*socket, "ListenStream") == "/run/docker/plugins/berth-authz.sock");
    CHECK(unit_setting(*socket, "SocketMode") == "0600");
    berth::test::write_text(dir / "berth-authz.service", *service);
    berth::test::write_text(dir / "berth-authz.socket", *socket);
    auto verified = run_sh("cd " + shell_quote(dir.path().string()) +
                           " && systemd-analyze verify --man=no ./berth-authz.socket ./berth-authz.service 2>&1"
                           " | grep -v 'docker.service\\|multi-user\\|sockets.target'\n"
                           "exit 0\n");
    INFO("systemd-analyze verify:\n" << verified.out);
    CHECK(verified.out.empty());
}

TEST_CASE("nft_address writes IP literals canonically and refuses everything else", "[escape][swarm]") {
    CHECK(nft_address("192.168.122.10") == "192.168.122.10");
    CHECK(nft_address("fe80:0:0::1") == "fe80::1");
    for (const char* bad : {"", "10.0.0.1 ", "10.0.0.1; flush ruleset", "10.0.0.0/8", "example.com", "10.0.0.1,10.0.0.2",
                            "::1\n}", "1.2.3.4.5"})
        CHECK_FALSE(nft_address(bad).has_value());
}

TEST_CASE("a swarm machine's firewall opens the swarm ports to its peers only - its policy lets the owner run swarm",
          "[escape][swarm]") {
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    Facts facts;
    facts.sshd_ports = {22};
    ProvisionRequest req;
    req.machine = "m1";
    req.authz_owner_cn = "berth client for m1";
    req.swarm.role = "manager";
    req.swarm.peers = {"192.168.122.11", "192.168.122.12", "fd00::0:12"};
    std::vector<std::string> warnings;
    auto files = render_desired_files(*templates, facts, req, OsFamily::Debian, warnings);
    REQUIRE(files);
    std::map<std::string, std::string> by_path;
    for (const auto& f : *files) by_path[f.path] = f.content;
    const std::string fw = by_path.at(k_firewall);
    CHECK(fw.find("ip saddr { 192.168.122.11, 192.168.122.12 } tcp dport { 2377, 7946 } accept") != std::string::npos);
    CHECK(fw.find("ip saddr { 192.168.122.11, 192.168.122.12 } udp dport { 7946, 4789 } accept") != std::string::npos);
    CHECK(fw.find("ip6 saddr { fd00::12 } tcp dport { 2377, 7946 } accept") != std::string::npos);
    CHECK(fw.find("dport 2377 accept") == std::string::npos);  // never from anywhere

    // Without swarm, no swarm port is open, and the owner stays restricted.
    ProvisionRequest plain = req;
    plain.swarm = {};
    auto plain_files = render_desired_files(*templates, facts, plain, OsFamily::Debian, warnings);
    REQUIRE(plain_files);
    for (const auto& f : *plain_files)
        if (f.path == k_firewall) CHECK(f.content.find("2377") == std::string::npos);

    // The owner's role: restricted, plus swarm, only when the machine's authz says so.
    for (bool owner_swarm : {false, true}) {
        CAPTURE(owner_swarm);
        req.authz.owner_swarm = owner_swarm;
        warnings.clear();
        auto rendered = render_desired_files(*templates, facts, req, OsFamily::Debian, warnings);
        REQUIRE(rendered);
        std::string policy_text;
        for (const auto& f : *rendered)
            if (f.path == k_authz_policy) policy_text = f.content;
        auto policy = authz::parse_policy(policy_text, "authz.yaml");
        REQUIRE(policy);
        const auto& role = policy->role_for("berth client for m1");
        CHECK(role.waives(authz::Rule::swarm) == owner_swarm);
        CHECK_FALSE(role.waives(authz::Rule::privileged));
        CHECK_FALSE(role.waives(authz::Rule::bind_mounts));
        CHECK_FALSE(policy->role_for("student").waives(authz::Rule::swarm));
        // A swarm node: live-restore off (dockerd refuses swarm mode with it), said in a
        // warning; the owner's swarm role adds one more.
        CHECK(warnings.size() == (owner_swarm ? 2u : 1u));
        for (const auto& f : *rendered)
            if (f.path == k_daemon_json) CHECK(nlohmann::json::parse(f.content).at("live-restore") == false);
    }
    for (const auto& f : *plain_files)
        if (f.path == k_daemon_json) {
            const auto daemon = nlohmann::json::parse(f.content);
            CHECK(daemon.at("live-restore") == true);
            // BuildKit's gRPC stream is not seen by berth-authz: dockerd refuses its entitlements.
            CHECK(daemon.at("builder") ==
                  nlohmann::json{{"Entitlements", {{"network-host", false}, {"security-insecure", false}}}});
        }

    req.swarm.peers = {"10.0.0.1 } accept; tcp dport 22"};
    auto hostile = render_desired_files(*templates, facts, req, OsFamily::Debian, warnings);
    REQUIRE_FALSE(hostile);
    CHECK(hostile.error().message.find("is not an IP address") != std::string::npos);
}
