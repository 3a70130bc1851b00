// docker-machine 0.16's config.json as `berth import` reads it: the fields of a generic and a
// virtualbox machine mapped to berth's driver options, a moved store, and hostile or missing
// fields refused with the machine and the field named.

#include <berth/service/docker_machine_store.h>

#include "../fakes/docker_machine_store.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <unistd.h>

using namespace berth;
using berth::test::DockerMachineStore;
using berth::test::TempDir;

namespace {

std::string option(const DockerMachineHost& host, const std::string& name) {
    auto it = host.driver_options.find(name);
    return it == host.driver_options.end() || it->second.empty() ? "" : it->second.front();
}

/// The machine's config.json with `change` applied, parsed from `store`.
template <class Change>
Result<DockerMachineHost> parsed_with(const DockerMachineStore& dm, nlohmann::json config, const std::string& name,
                                      Change change) {
    change(config);
    return parse_docker_machine_config(config.dump(), dm.root(), name);
}

}  // namespace

TEST_CASE("a 0.16 generic config.json maps to the generic driver's options and the TLS files", "[import]") {
    TempDir dir;
    DockerMachineStore dm(dir / "machine");
    berth::test::write_text(dir / "key", "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n");
    auto config = dm.add_generic("gen1", "10.0.0.5", 2222, dir / "key", "ubuntu");
    config["HostOptions"]["EngineOptions"]["Labels"] = {"env=prod"};
    config["HostOptions"]["EngineOptions"]["ArbitraryFlags"] = {"log-level=debug"};
    auto host = parse_docker_machine_config(config.dump(), dm.root(), "gen1");
    INFO((host ? "" : host.error().line()));
    REQUIRE(host);
    CHECK(host->name == "gen1");
    CHECK(host->driver_name == "generic");
    CHECK(option(*host, "ip-address") == "10.0.0.5");
    CHECK(option(*host, "ssh-user") == "ubuntu");
    CHECK(option(*host, "ssh-port") == "2222");
    CHECK(option(*host, "engine-port") == "2376");
    CHECK(host->adopted.ssh_key == dm.machine_dir("gen1") / "id_rsa");
    CHECK(host->adopted.address == "10.0.0.5");
    CHECK(host->engine.labels == std::vector<std::string>{"env=prod"});
    CHECK(host->engine.install == "docker-ce");
    CHECK(host->ignored == std::vector<std::string>{"engine flag --log-level=debug"});
    // The client files as `docker-machine env` named them: the machine's copies.
    CHECK(host->ca_cert == dm.machine_dir("gen1") / "ca.pem");
    CHECK(host->client_cert == dm.machine_dir("gen1") / "cert.pem");
    CHECK(host->client_key == dm.machine_dir("gen1") / "key.pem");
    CHECK(host->server_cert == dm.machine_dir("gen1") / "server.pem");
    CHECK(host->server_key == dm.machine_dir("gen1") / "server-key.pem");
}

TEST_CASE("a 0.16 virtualbox config.json maps to the virtualbox driver's options", "[import]") {
    TempDir dir;
    DockerMachineStore dm(dir / "machine");
    auto config = dm.add_virtualbox("vb1", "192.168.99.100", 40123);
    auto host = parse_docker_machine_config(config.dump(), dm.root(), "vb1");
    INFO((host ? "" : host.error().line()));
    REQUIRE(host);
    CHECK(host->driver_name == "virtualbox");
    CHECK(option(*host, "memory") == "2048");
    CHECK(option(*host, "cpu-count") == "2");
    CHECK(option(*host, "disk-size") == "20000");
    CHECK(option(*host, "hostonly-cidr") == "192.168.99.1/24");
    CHECK(option(*host, "hostonly") == "true");
    CHECK(option(*host, "ssh-user") == "docker");
    CHECK(host->adopted.vm_name == "vb1");
    CHECK(host->adopted.ssh_port == 40123);
    CHECK(host->engine.port == 2376);
}

TEST_CASE("a moved docker-machine store: the paths in config.json are found in the store given", "[import]") {
    TempDir dir;
    DockerMachineStore dm(dir / "old");
    auto config = dm.add_virtualbox("vb1", "192.168.99.100", 40123);
    std::filesystem::rename(dir / "old", dir / "new");
    auto host = parse_docker_machine_config(config.dump(), dir / "new", "vb1");
    INFO((host ? "" : host.error().line()));
    REQUIRE(host);
    CHECK(host->adopted.ssh_key == dir / "new/machines/vb1/id_rsa");
    CHECK(host->server_cert == dir / "new/machines/vb1/server.pem");
    CHECK(host->ca_cert == dir / "new/machines/vb1/ca.pem");
}

TEST_CASE("hostile or missing config.json fields are refused with the machine and field named", "[import][hostile]") {
    TempDir dir;
    DockerMachineStore dm(dir / "machine");
    berth::test::write_text(dir / "key", "k");
    const auto config = dm.add_generic("gen1", "10.0.0.5", 22, dir / "key");
    ::symlink((dir / "key").c_str(), (dm.machine_dir("gen1") / "evil_key").c_str());
    auto refused = [&](auto change, const std::string& says) {
        auto r = parsed_with(dm, config, "gen1", change);
        INFO("expected: " << says);
        REQUIRE(!r);
        INFO(r.error().line());
        CHECK(r.error().line().find(says) != std::string::npos);
    };
    using J = nlohmann::json;
    refused([](J& j) { j["Driver"]["IPAddress"] = "-oProxyCommand=touch /tmp/x"; }, "IPAddress");
    refused([](J& j) { j["Driver"]["IPAddress"] = "10.0.0.5\nHost *"; }, "IPAddress");
    refused([](J& j) { j["Driver"]["IPAddress"] = ""; }, "IPAddress is empty");
    refused([](J& j) { j["Driver"]["SSHUser"] = "root -oProxyCommand=x"; }, "SSHUser");
    refused([](J& j) { j["Driver"]["SSHPort"] = 70000; }, "SSHPort is not a port");
    refused([](J& j) { j["Driver"]["SSHPort"] = "22"; }, "SSHPort is not a whole number");
    refused([](J& j) { j["Driver"]["EnginePort"] = 0; }, "EnginePort is not a port");
    refused([](J& j) { j["Driver"]["SSHKeyPath"] = "/etc/shadow"; }, "outside the docker-machine store");
    refused([&](J& j) { j["Driver"]["SSHKeyPath"] = (dm.machine_dir("gen1") / "../../../key").string(); },
            "outside the docker-machine store");
    refused([&](J& j) { j["Driver"]["SSHKeyPath"] = (dm.machine_dir("gen1") / "evil_key").string(); },
            "leads outside the docker-machine store");
    refused([](J& j) { j["Driver"]["SSHKeyPath"] = "relative/id_rsa"; }, "not an absolute path");
    refused([](J& j) { j["HostOptions"]["AuthOptions"]["StorePath"] = "/root/.ssh"; }, "outside the docker-machine store");
    refused([](J& j) { j["Name"] = "other"; }, "not its directory's name gen1");
    refused([](J& j) { j["DriverName"] = "amazonec2"; }, "\"amazonec2\" driver, which berth cannot import");
    refused([](J& j) { j["ConfigVersion"] = 2; }, "ConfigVersion 2");
    refused([](J& j) { j.erase("Driver"); }, "Driver is missing");
    refused([](J& j) { j["HostOptions"].erase("AuthOptions"); }, "AuthOptions is missing");
    refused([](J& j) { j["HostOptions"]["EngineOptions"]["Labels"] = {1}; }, "Labels holds something other than strings");

    auto bad_json = parse_docker_machine_config("{not json", dm.root(), "gen1");
    REQUIRE(!bad_json);
    CHECK(bad_json.error().message.find("is not a JSON object") != std::string::npos);
    auto bad_name = parse_docker_machine_config(config.dump(), dm.root(), "../gen1");
    CHECK(!bad_name);

    // Without its certificates there is nothing the docker CLI could use: refused, naming the file.
    std::filesystem::remove(dm.machine_dir("gen1") / "ca.pem");
    std::filesystem::remove(dm.root() / "certs/ca.pem");
    auto no_ca = parse_docker_machine_config(config.dump(), dm.root(), "gen1");
    REQUIRE(!no_ca);
    CHECK(no_ca.error().message.find("has no ca.pem") != std::string::npos);
}

TEST_CASE("docker-machine's store: MACHINE_STORAGE_PATH else ~/.docker/machine - machines in natural order", "[import]") {
    auto env = [](std::map<std::string, std::string> vars) {
        return [vars](const std::string& name) -> std::optional<std::string> {
            auto it = vars.find(name);
            return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
        };
    };
    CHECK(docker_machine_default_store(env({{"HOME", "/home/u"}})) == "/home/u/.docker/machine");
    CHECK(docker_machine_default_store(env({{"HOME", "/home/u"}, {"MACHINE_STORAGE_PATH", "/srv/dm"}})) == "/srv/dm");

    TempDir dir;
    auto missing = docker_machine_names(dir / "nothing");
    REQUIRE(!missing);
    CHECK(missing.error().kind == ErrorKind::NotFound);
    for (const char* name : {"m10", "m2", "half"}) std::filesystem::create_directories(dir / "machines" / name);
    for (const char* name : {"m10", "m2"}) berth::test::write_text(dir / "machines" / name / "config.json", "{}");
    auto names = docker_machine_names(dir.path());
    REQUIRE(names);
    CHECK(*names == std::vector<std::string>{"m2", "m10"});
}
