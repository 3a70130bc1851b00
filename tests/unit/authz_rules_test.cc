// berth-authz's rules on hand-made AuthZReq bodies (what dockerd 20.10 sends for each docker
// command: moby pkg/authorization): every rule refuses what it names and lets the ordinary
// request through; requests it cannot read are refused (malformed) for every role; roles waive.

#include <berth/authz/evaluate.h>
#include <berth/authz/go_json.h>
#include <berth/authz/plugin.h>
#include <berth/authz/request.h>

#include "authz_test_support.h"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace berth::authz;
using berth::authz::test::authz_req;
using berth::authz::test::TempDir;
namespace fs = std::filesystem;

namespace {

struct Host {
    TempDir dir;
    Policy policy;
    Host() {
        fs::create_directories(dir.path() / "allowed/sub");
        fs::create_directories(dir.path() / "outside");
        fs::create_symlink("/etc", dir.path() / "allowed/etc-link");
        fs::create_symlink("../outside", dir.path() / "allowed/up-link");
        fs::create_symlink("/run/docker.sock", dir.path() / "allowed/sock-link");
        fs::create_symlink(dir.path() / "allowed", dir.path() / "alias");
        const std::string text = "version: 1\ndefault_role: restricted\nroles:\n"
                                 "  restricted:\n    bind_allow: [\"" + (dir / "allowed") + "\"]\n"
                                 "  aliased:\n    bind_allow: [\"" + (dir / "alias") + "\"]\n"
                                 "  ops:\n    waive: [cap_add, bind_mounts]\n    bind_allow: [/]\n"
                                 "  admin:\n    waive: all\n"
                                 "users:\n  admin cn: admin\n  ops cn: ops\n  aliased cn: aliased\n";
        auto p = parse_policy(text, "test.yaml");
        REQUIRE(p);
        policy = *p;
    }
    Decision decide(const std::string& req_json, const std::string& = "") const {
        auto req = parse_authz_request(req_json);
        if (!req) return refuse(Rule::malformed, req.error(), "/etc/berth/authz.yaml");
        return evaluate(policy, *req, "/etc/berth/authz.yaml");
    }
    Decision create(const std::string& host_config, const std::string& user = "student") const {
        return decide(authz_req(user, "POST", "/v1.41/containers/create?name=web",
                                R"({"Image":"alpine","Cmd":["sh"],"HostConfig":)" + host_config + "}"));
    }
};

void refused(const Decision& d, Rule rule, const std::string& what_part) {
    INFO(d.message);
    CHECK_FALSE(d.allow);
    CHECK(rule_name(d.rule) == rule_name(rule));
    CHECK(d.what.find(what_part) != std::string::npos);
}

void allowed(const Decision& d) {
    INFO(d.message);
    CHECK(d.allow);
}

}  // namespace

TEST_CASE("authz: an ordinary docker run is allowed, and the refusal message names the flag and the rule", "[authz]") {
    Host h;
    allowed(h.create(R"({"NetworkMode":"default","PortBindings":{"80/tcp":[{"HostPort":"8080"}]},"CapDrop":["ALL"],)"
                     R"("CapAdd":["NET_BIND_SERVICE","cap_chown","CAP_KILL"],"SecurityOpt":["no-new-privileges","apparmor=docker-default"],)"
                     R"("Binds":["data:/data","/anon"],"Sysctls":{"net.ipv4.ip_unprivileged_port_start":"0"}})"));
    const Decision d = h.create(R"({"Privileged":true})");
    CHECK(d.message == "berth-authz: --privileged is refused on this host (rule privileged in /etc/berth/authz.yaml)");
    allowed(h.decide(authz_req("student", "GET", "/v1.41/containers/json?all=1")));
    allowed(h.decide(authz_req("student", "POST", "/v1.41/containers/abc/start")));
    allowed(h.decide(authz_req("", "GET", "/_ping", "", "")));
}

TEST_CASE("authz: privileged, cap_add, userns_host and host namespaces", "[authz]") {
    Host h;
    refused(h.create(R"({"Privileged":true})"), Rule::privileged, "--privileged");
    allowed(h.create(R"({"Privileged":false})"));
    refused(h.create(R"({"CapAdd":["SYS_ADMIN"]})"), Rule::cap_add, "--cap-add SYS_ADMIN");
    refused(h.create(R"({"CapAdd":["ALL"]})"), Rule::cap_add, "--cap-add ALL");
    refused(h.create(R"({"CapAdd":["cap_sys_ptrace"]})"), Rule::cap_add, "--cap-add cap_sys_ptrace");
    refused(h.create(R"({"CapAdd":["CHOWN","all"]})"), Rule::cap_add, "--cap-add all");
    refused(h.create(R"({"UsernsMode":"host"})"), Rule::userns_host, "--userns=host");
    for (auto [field, flag] : {std::pair{"PidMode", "--pid=host"}, {"IpcMode", "--ipc=host"}, {"UTSMode", "--uts=host"},
                               {"NetworkMode", "--network=host"}, {"CgroupnsMode", "--cgroupns=host"}}) {
        refused(h.create(std::string(R"({")") + field + R"(":"host"})"), Rule::host_namespaces, flag);
        allowed(h.create(std::string(R"({")") + field + R"(":"container:abc"})"));
    }
    allowed(h.create(R"({"NetworkMode":"mynet","IpcMode":"private","CgroupnsMode":"private"})"));
}

TEST_CASE("authz: security options, as the CLI sends them", "[authz]") {
    Host h;
    for (const char* opt : {"seccomp=unconfined", "seccomp:unconfined", "apparmor=unconfined", "label=disable",
                            "label:disable", "no-new-privileges=false", "no-new-privileges:false",
                            "no-new-privileges=0", "systempaths=unconfined", "label=type:spc_t"})
        refused(h.create(std::string(R"({"SecurityOpt":[")") + opt + R"("]})"), Rule::security_opt,
                std::string("--security-opt ") + opt);
    // --security-opt seccomp=profile.json: the CLI sends the file's content.
    refused(h.create(R"({"SecurityOpt":["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"]})"), Rule::security_opt,
            "seccomp=<a profile file>");
    // --security-opt systempaths=unconfined: the CLI sends empty MaskedPaths and ReadonlyPaths.
    refused(h.create(R"({"MaskedPaths":[],"ReadonlyPaths":[]})"), Rule::security_opt, "systempaths=unconfined");
    refused(h.create(R"({"MaskedPaths":["/proc/kcore"]})"), Rule::security_opt, "systempaths=unconfined");
    allowed(h.create(R"({"MaskedPaths":null,"SecurityOpt":["no-new-privileges=true","label=level:s0:c100,c200"]})"));
    allowed(h.create(R"({"MaskedPaths":["/proc/asound","/proc/acpi","/proc/kcore","/proc/keys","/proc/latency_stats",)"
                     R"("/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/proc/scsi","/sys/firmware","/extra"]})"));
}

TEST_CASE("authz: devices on create and update", "[authz]") {
    Host h;
    refused(h.create(R"({"Devices":[{"PathOnHost":"/dev/vda","PathInContainer":"/dev/vda","CgroupPermissions":"rwm"}]})"),
            Rule::devices, "--device /dev/vda");
    refused(h.create(R"({"DeviceCgroupRules":["b 8:* rmw"]})"), Rule::devices, "--device-cgroup-rule b 8:* rmw");
    refused(h.create(R"({"DeviceRequests":[{"Driver":"","Count":-1,"Capabilities":[["gpu"]]}]})"), Rule::devices, "--gpus");
    allowed(h.create(R"({"Devices":[],"DeviceCgroupRules":null,"DeviceRequests":[]})"));
    refused(h.decide(authz_req("student", "POST", "/v1.41/containers/web/update",
                               R"({"Devices":[{"PathOnHost":"/dev/mem"}]})")),
            Rule::devices, "--device /dev/mem");
    allowed(h.decide(authz_req("student", "POST", "/v1.41/containers/web/update", R"({"Memory":104857600})")));
}

TEST_CASE("authz: bind mounts inside and outside the allow-list, symlinks resolved on the host", "[authz]") {
    Host h;
    const std::string allowed_dir = h.dir / "allowed";
    allowed(h.create(R"({"Binds":[")" + allowed_dir + R"(/sub:/x:ro"]})"));
    allowed(h.create(R"({"Binds":[")" + allowed_dir + R"(/not/yet/made:/x"]})"));
    allowed(h.create(R"({"Mounts":[{"Type":"bind","Source":")" + allowed_dir + R"(","Target":"/x"}]})"));
    refused(h.create(R"({"Binds":["/etc:/x"]})"), Rule::bind_mounts, "-v /etc:/x");
    refused(h.create(R"({"Binds":["/:/host"]})"), Rule::docker_socket, "-v /:/host");
    refused(h.create(R"({"Mounts":[{"Type":"bind","Source":"/etc","Target":"/x"}]})"), Rule::bind_mounts,
            "--mount type=bind,source=/etc");
    refused(h.create(R"({"Binds":["./rel:/x"]})"), Rule::bind_mounts, "not an absolute host path");
    // A symlink inside the allow-list to /etc, a `..` out of it, a symlink then `..`.
    refused(h.create(R"({"Binds":[")" + allowed_dir + R"(/etc-link:/x"]})"), Rule::bind_mounts, "/etc on the host");
    refused(h.create(R"({"Binds":[")" + allowed_dir + R"(/etc-link/ssh:/x"]})"), Rule::bind_mounts, "/etc/ssh on the host");
    refused(h.create(R"({"Binds":[")" + allowed_dir + R"(/up-link:/x"]})"), Rule::bind_mounts, "outside on the host");
    refused(h.create(R"({"Binds":[")" + allowed_dir + R"(/../outside:/x"]})"), Rule::bind_mounts, "outside");
    refused(h.create(R"({"Binds":[")" + allowed_dir + R"(/sub/../../outside:/x"]})"), Rule::bind_mounts, "outside");
    refused(h.create(R"({"Binds":[")" + allowed_dir + R"(/new/../../outside:/x"]})"), Rule::bind_mounts, "outside");
    // The kernel reads etc-link/.. as /etc/.. = /; a lexical reading would say allowed_dir.
    refused(h.create(R"({"Binds":[")" + allowed_dir + R"(/etc-link/..:/x"]})"), Rule::docker_socket, "etc-link/..");
    refused(h.create(R"({"Binds":[")" + allowed_dir + R"(2:/x"]})"), Rule::bind_mounts, "outside the allow-list");
    // An allow-list entry that is itself a symlink covers where it points.
    allowed(h.create(R"({"Binds":[")" + allowed_dir + R"(/sub:/x"]})", "aliased cn"));
    refused(h.create(R"({"Binds":["/etc:/x"]})", "aliased cn"), Rule::bind_mounts, "/etc");
}

TEST_CASE("authz: the Docker socket is refused anywhere, even where bind mounts are waived", "[authz]") {
    Host h;
    for (const char* source : {"/var/run/docker.sock", "/run/docker.sock", "/run", "/var/run", "/var",
                               "/run/containerd/containerd.sock", "/run/containerd"}) {
        refused(h.create(std::string(R"({"Binds":[")") + source + R"(:/s"]})", "ops cn"), Rule::docker_socket, source);
        refused(h.create(std::string(R"({"Mounts":[{"Type":"bind","Source":")") + source + R"(","Target":"/s"}]})"),
                Rule::docker_socket, source);
    }
    refused(h.create(R"({"Binds":[")" + (h.dir / "allowed") + R"(/sock-link:/s"]})"), Rule::docker_socket, "sock-link");
    allowed(h.create(R"({"Binds":["/etc:/x"]})", "ops cn"));  // ops waives bind_mounts (allow-list /)
    allowed(h.create(R"({"Binds":["/var/run/docker.sock:/s"]})", "admin cn"));
}

TEST_CASE("authz: volumes whose local-driver options make a bind or mount a device", "[authz]") {
    Host h;
    auto volume = [&](const std::string& opts) {
        return h.create(R"({"Mounts":[{"Type":"volume","Source":"v","Target":"/v","VolumeOptions":{"DriverConfig":)"
                        R"({"Name":"local","Options":)" + opts + "}}}]}");
    };
    refused(volume(R"({"type":"none","o":"bind","device":"/etc"})"), Rule::bind_mounts, "device=/etc");
    refused(volume(R"({"type":"none","o":"ro,rbind","device":"/var/run/docker.sock"})"), Rule::docker_socket, "device=");
    allowed(volume(R"({"type":"none","o":"bind","device":")" + (h.dir / "allowed") + R"("})"));
    refused(volume(R"({"type":"ext4","device":"/dev/vda1"})"), Rule::devices, "device=/dev/vda1");
    allowed(volume(R"({"type":"nfs","o":"addr=10.0.0.1,ro","device":":/export"})"));
    allowed(volume(R"({"type":"tmpfs","device":"tmpfs","o":"size=100m"})"));
    allowed(h.create(R"({"Mounts":[{"Type":"volume","Source":"v","Target":"/v"},{"Type":"tmpfs","Target":"/t"}]})"));
    auto create_volume = [&](const std::string& body) {
        return h.decide(authz_req("student", "POST", "/v1.41/volumes/create", body));
    };
    refused(create_volume(R"({"Name":"x","Driver":"local","DriverOpts":{"type":"none","o":"bind","device":"/root"}})"),
            Rule::bind_mounts, "docker volume create");
    allowed(create_volume(R"({"Name":"x","Driver":"local","DriverOpts":{}})"));
    allowed(create_volume(R"({"Name":"x"})"));
    refused(h.decide(authz_req("student", "POST", "/v1.41/volumes/create")), Rule::malformed, "empty body");
}

TEST_CASE("authz: sysctls outside the container's namespaces", "[authz]") {
    Host h;
    allowed(h.create(R"({"Sysctls":{"kernel.shmmax":"1","kernel.msgmax":"1","kernel.sem":"1 2 3 4",)"
                     R"("fs.mqueue.msg_max":"10","net.core.somaxconn":"1024","net/ipv4/ip_forward":"1"}})"));
    refused(h.create(R"({"Sysctls":{"kernel.core_pattern":"|/tmp/x"}})"), Rule::sysctls, "--sysctl kernel.core_pattern");
    refused(h.create(R"({"Sysctls":{"kernel/core_pattern":"|/tmp/x"}})"), Rule::sysctls, "kernel/core_pattern");
    refused(h.create(R"({"Sysctls":{"vm.overcommit_memory":"1"}})"), Rule::sysctls, "vm.overcommit_memory");
    refused(h.create(R"({"NetworkMode":"host","Sysctls":{"net.ipv4.ip_forward":"1"}})", "ops cn"), Rule::host_namespaces,
            "--network=host");
    Policy only_host_ns = h.policy;
    only_host_ns.roles.at("ops").waived[static_cast<std::size_t>(Rule::host_namespaces)] = true;
    auto req = parse_authz_request(authz_req("ops cn", "POST", "/containers/create",
                                             R"({"HostConfig":{"NetworkMode":"host","Sysctls":{"net.ipv4.ip_forward":"1"}}})"));
    REQUIRE(req);
    refused(evaluate(only_host_ns, *req, "p"), Rule::sysctls, "net.ipv4.ip_forward");
}

TEST_CASE("authz: exec, plugins, build, swarm, old API starts", "[authz]") {
    Host h;
    refused(h.decide(authz_req("student", "POST", "/v1.41/containers/web/exec",
                               R"({"Cmd":["sh"],"Privileged":true,"AttachStdout":true})")),
            Rule::exec_privileged, "docker exec --privileged");
    allowed(h.decide(authz_req("student", "POST", "/v1.41/containers/web/exec", R"({"Cmd":["sh"],"User":"root"})")));
    for (const char* uri : {"/v1.41/plugins/pull?remote=vieux/sshfs", "/plugins/create?name=x",
                            "/v1.41/plugins/vieux/sshfs:latest/enable", "/v1.41/plugins/x/upgrade?remote=y",
                            "/v1.41/plugins/x/set", "/v1.41/plugins/x%2Fenable", "/v1.41//plugins/./x/enable"})
        refused(h.decide(authz_req("student", "POST", uri, "[]")), Rule::plugins, "docker plugin");
    allowed(h.decide(authz_req("student", "POST", "/v1.41/plugins/x/disable")));
    allowed(h.decide(authz_req("student", "GET", "/v1.41/plugins")));
    refused(h.decide(authz_req("student", "POST", "/v1.41/build?t=x&networkmode=host", "", "application/x-tar")),
            Rule::build_network_host, "docker build --network=host");
    refused(h.decide(authz_req("student", "POST", "/v1.41/build?networkmode=ho%73t", "", "application/x-tar")),
            Rule::build_network_host, "--network=host");
    refused(h.decide(authz_req("student", "POST", "/build?networkmode=default&networkmode=host")),
            Rule::build_network_host, "--network=host");
    allowed(h.decide(authz_req("student", "POST", "/v1.41/build?t=x&networkmode=default", "", "application/x-tar")));
    refused(h.decide(authz_req("student", "POST", "/v1.41/swarm/init", R"({"ListenAddr":"0.0.0.0:2377"})")), Rule::swarm,
            "docker swarm init");
    refused(h.decide(authz_req("student", "POST", "/v1.41/swarm/join", R"({})")), Rule::swarm, "docker swarm join");
    refused(h.decide(authz_req("student", "POST", "/v1.41/services/create", R"({})")), Rule::swarm, "docker service create");
    allowed(h.decide(authz_req("student", "POST", "/v1.41/swarm/leave?force=1")));
    refused(h.decide(authz_req("student", "POST", "/v1.23/containers/web/start", R"({"Privileged":true})")),
            Rule::malformed, "API version below 1.24");
    allowed(h.decide(authz_req("student", "POST", "/v1.24/containers/web/start")));
}

TEST_CASE("authz: fail closed on what cannot be read, for every role", "[authz]") {
    Host h;
    for (const char* user : {"student", "admin cn"}) {
        CAPTURE(user);
        // CVE-2024-41110: a create or exec whose body dockerd did not show.
        refused(h.decide(authz_req(user, "POST", "/v1.41/containers/create")), Rule::malformed, "empty body");
        refused(h.decide(authz_req(user, "POST", "/v1.41/containers/x/exec")), Rule::malformed, "empty body");
        refused(h.decide(authz_req(user, "POST", "/v1.41/containers/x/update")), Rule::malformed, "empty body");
        refused(h.decide(authz_req(user, "POST", "/v1.41/containers/create", R"({"Image":"a"})", "text/plain")),
                Rule::malformed, "Content-Type is \"text/plain\"");
        refused(h.decide(authz_req(user, "POST", "/v1.41/containers/create", R"({"Image":"a"})", "")),
                Rule::malformed, "Content-Type is missing");
        refused(h.decide(authz_req(user, "POST", "/v1.41/containers/create", R"({"Image":"a"})",
                                   "application/json; charset=utf-8")),
                Rule::malformed, "not application/json");
        refused(h.decide(authz_req(user, "POST", "/v1.41/containers/create", R"({"Image":)")), Rule::malformed, "not JSON");
        refused(h.decide(authz_req(user, "POST", "/v1.41/containers/create", R"([1])")), Rule::malformed, "not a JSON object");
        refused(h.decide(authz_req(user, "POST", "/v1.41/containers/create", R"({"a":1} {"b":2})")), Rule::malformed, "not JSON");
        refused(h.decide(authz_req(user, "POST", "/v1.41/networks/create", "{bad")), Rule::malformed, "not JSON");
        refused(h.create(R"({"Privileged":"yes"})", user), Rule::malformed, "Privileged is not true or false");
        refused(h.create(R"({"Binds":"/etc:/x"})", user), Rule::malformed, "Binds is not a list");
        refused(h.create(R"({"Binds":[1]})", user), Rule::malformed, "Binds is not a list of strings");
        refused(h.create(R"({"Mounts":[{"Type":"bind","Source":7}]})", user), Rule::malformed, "Source is not a string");
        refused(h.create(R"({"Sysctls":{"net.x":1}})", user), Rule::malformed, "Sysctls");
        refused(h.create("7", user), Rule::malformed, "HostConfig is not an object");
        // Go matches keys ignoring case and the last one wins: two spellings are refused.
        refused(h.create(R"({"Privileged":false,"privileged":true})", user), Rule::malformed, "twice");
        refused(h.create(R"({"Privileged":false,"Privileged":true})", user), Rule::malformed, "twice");
        refused(h.decide(authz_req(user, "POST", "/v1.41/containers/create%zz", R"({})")), Rule::malformed, "percent");
        refused(h.decide("not json"), Rule::malformed, "not JSON");
        refused(h.decide(R"({"RequestMethod":"POST","RequestUri":"/containers/create","RequestBody":"!!"})"), Rule::malformed,
                "base64");
        refused(h.decide(R"({"RequestMethod":1,"RequestUri":"/"})"), Rule::malformed, "RequestMethod is not a string");
        refused(h.decide(R"({"RequestMethod":"GET","RequestUri":"/","RequestHeaders":{"A":1}})"), Rule::malformed, "header");
    }
}

TEST_CASE("authz: fields spelled as Go's decoder still matches them are read", "[authz]") {
    Host h;
    refused(h.create(R"({"PRIVILEGED":true})"), Rule::privileged, "--privileged");
    refused(h.decide(authz_req("student", "POST", "/containers/create", R"({"Image":"a","Privileged":true})")),
            Rule::privileged, "--privileged");  // HostConfig fields at the top level of the body
    refused(h.decide(authz_req("student", "POST", "/containers/create", R"({"hostconfig":{"usernsmode":"host"}})")),
            Rule::userns_host, "--userns=host");
    refused(h.create("{\"Bind\xC5\xBF\":[\"/etc:/x\"]}"), Rule::bind_mounts, "/etc");        // ſ folds to s
    refused(h.create("{\"Devices\":[],\"Device\xC5\xBF\":[]}"), Rule::malformed, "twice");
    CHECK(go_fold("Bind\xC5\xBF") == "binds");
    CHECK(go_fold("\xE2\x84\xAA" "ey") == "key");
}

TEST_CASE("authz: roles waive rules, an unknown CN gets the default role, nothing waives malformed", "[authz]") {
    Host h;
    allowed(h.create(R"({"Privileged":true,"UsernsMode":"host","PidMode":"host","CapAdd":["ALL"]})", "admin cn"));
    refused(h.create(R"({"Privileged":true})", "nobody we know"), Rule::privileged, "--privileged");
    refused(h.create(R"({"Privileged":true})", ""), Rule::privileged, "--privileged");
    allowed(h.create(R"({"CapAdd":["SYS_ADMIN"]})", "ops cn"));
    refused(h.create(R"({"CapAdd":["SYS_ADMIN"],"Privileged":true})", "ops cn"), Rule::privileged, "--privileged");
    // The first rule not waived is the one named.
    refused(h.create(R"({"Privileged":true,"CapAdd":["SYS_ADMIN"]})"), Rule::privileged, "--privileged");
}

TEST_CASE("authz: the plugin protocol answers and the journal line is escaped", "[authz]") {
    Host h;
    auto activate = handle_plugin_call("/Plugin.Activate", "", h.policy, "p");
    CHECK(activate.status == 200);
    CHECK(nlohmann::json::parse(activate.body) == nlohmann::json::parse(R"({"Implements":["authz"]})"));
    const std::string hostile_cn = "evil\nrefused user=\"admin\" rule=none \\ \x01";
    auto reply = handle_plugin_call("/AuthZPlugin.AuthZReq",
                                    authz_req(hostile_cn, "POST", "/v1.41/containers/create?x=secret\n",
                                              R"({"HostConfig":{"Privileged":true}})"),
                                    h.policy, "/etc/berth/authz.yaml");
    auto answer = nlohmann::json::parse(reply.body);
    CHECK(answer["Allow"] == false);
    CHECK(answer["Msg"] == "berth-authz: --privileged is refused on this host (rule privileged in /etc/berth/authz.yaml)");
    CHECK(reply.log_line ==
          "refused user=\"evil\\x0arefused user=\\\"admin\\\" rule=none \\\\ \\x01\" authn=\"TLS\" method=\"POST\" "
          "uri=\"/v1.41/containers/create\" rule=privileged what=\"--privileged\"");
    CHECK(reply.log_line.find('\n') == std::string::npos);
    CHECK(reply.log_line.find("secret") == std::string::npos);  // no query string
    auto ok = handle_plugin_call("/AuthZPlugin.AuthZReq", authz_req("student", "GET", "/info"), h.policy, "p");
    CHECK(ok.body == R"({"Allow":true})");
    CHECK(ok.log_line.empty());
    CHECK(handle_plugin_call("/AuthZPlugin.AuthZRes", R"({"RequestMethod":"GET","ResponseStatusCode":200})", h.policy, "p").body ==
          R"({"Allow":true})");
    auto bad_res = handle_plugin_call("/AuthZPlugin.AuthZRes", "garbage", h.policy, "p");
    CHECK(nlohmann::json::parse(bad_res.body)["Allow"] == false);
    CHECK(handle_plugin_call("/Nope", "", h.policy, "p").status == 404);
    auto broken = handle_plugin_call("/AuthZPlugin.AuthZReq", "{", h.policy, "p");
    CHECK(nlohmann::json::parse(broken.body)["Allow"] == false);
    CHECK(broken.log_line.find("rule=malformed") != std::string::npos);
    // A long, cut value stays valid JSON in the answer.
    std::string long_cap(300, 'x');
    long_cap[189] = '\xC3';
    long_cap[190] = '\xA9';
    auto cut = handle_plugin_call("/AuthZPlugin.AuthZReq",
                                  authz_req("s", "POST", "/containers/create",
                                            R"({"HostConfig":{"CapAdd":[")" + long_cap + R"("]}})"),
                                  h.policy, "p");
    CHECK(nlohmann::json::parse(cut.body)["Allow"] == false);
}

TEST_CASE("authz: deeply nested and large bodies are refused without harm", "[authz]") {
    Host h;
    const std::string deep(200000, '[');
    refused(h.decide(authz_req("admin cn", "POST", "/v1.41/containers/create", deep)), Rule::malformed, "not JSON");
    refused(h.decide(authz_req("admin cn", "POST", "/v1.41/containers/create", deep + std::string(200000, ']'))),
            Rule::malformed, "nested deeper than 512");
    std::string wide = R"({"Image":"a","Labels":{)";
    for (int i = 0; i < 20000; ++i) wide += (i ? "," : "") + std::string("\"l") + std::to_string(i) + "\":\"v\"";
    allowed(h.decide(authz_req("student", "POST", "/v1.41/containers/create", wide + "}}")));
}
