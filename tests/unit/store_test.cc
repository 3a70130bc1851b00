#include <berth/store/store.h>

#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

using namespace berth;
using berth::test::TempDir;
using berth::test::file_mode;
using berth::test::write_text;

namespace {

MachineRecord sample(const std::string& name, const std::string& url = "tcp://10.1.2.3:2376") {
    MachineRecord r;
    r.name = name;
    r.driver_name = "none";
    r.status = MachineStatus::Ready;
    r.created_at = "2026-11-23T10:00:00Z";
    r.driver = {{"url", url}};
    r.engine.labels = {"team=a"};
    return r;
}

}  // namespace

TEST_CASE("a record round-trips through the store - private on disk", "[store]") {
    TempDir dir;
    Store store(dir / "berth");
    REQUIRE(store.ensure_layout());
    REQUIRE(store.save(sample("n1")));

    auto loaded = store.load("n1");
    REQUIRE(loaded);
    CHECK(loaded->name == "n1");
    CHECK(loaded->driver["url"] == "tcp://10.1.2.3:2376");
    CHECK(loaded->engine.labels == std::vector<std::string>{"team=a"});
    CHECK(loaded->schema_version == MachineRecord::k_schema_version);

    CHECK(file_mode(dir / "berth") == 0700);
    CHECK(file_mode(store.machines_dir()) == 0700);
    CHECK(file_mode(store.machine_dir("n1")) == 0700);
    CHECK(file_mode(store.machine_file("n1", k_record_file)) == 0600);

    REQUIRE(store.write_file("n1", k_client_key_file, "secret", 0600));
    CHECK(file_mode(store.machine_file("n1", k_client_key_file)) == 0600);
}

TEST_CASE("a schema 1 layout loads and moves the docker CLI's files into certs/ under the lock", "[store]") {
    TempDir dir;
    Store store(dir / "berth");
    REQUIRE(store.ensure_layout());
    const auto mdir = store.machine_dir("n1");
    std::filesystem::create_directories(mdir);
    auto old = sample("n1").to_json();
    old["schema_version"] = 1;
    write_text(mdir / k_record_file, old.dump(2));
    for (const char* f : {k_ca_cert_file, k_client_cert_file, k_client_key_file, k_ca_key_file, "id_ed25519", "known_hosts"})
        write_text(mdir / f, f);
    {
        // Another berth holds the machine: read in place, nothing moves.
        auto held = store.lock("n1");
        REQUIRE(held);
        auto in_place = store.load("n1");
        REQUIRE(in_place);
        CHECK(in_place->schema_version == 1);
        CHECK(store.cert_dir("n1") == mdir);
        CHECK(store.machine_file("n1", k_client_key_file) == mdir / k_client_key_file);
    }
    auto loaded = store.load("n1");
    REQUIRE(loaded);
    CHECK(loaded->schema_version == 2);
    CHECK(store.cert_dir("n1") == mdir / "certs");
    CHECK(store.machine_file("n1", k_ca_cert_file) == mdir / "certs" / k_ca_cert_file);
    CHECK(store.machine_file("n1", k_ca_key_file) == mdir / k_ca_key_file);
    std::vector<std::string> in_certs;
    for (const auto& e : std::filesystem::directory_iterator(mdir / "certs")) in_certs.push_back(e.path().filename().string());
    std::sort(in_certs.begin(), in_certs.end());
    CHECK(in_certs == std::vector<std::string>{"ca.pem", "cert.pem", "key.pem"});
    CHECK(file_mode(mdir / "certs") == 0700);
    CHECK(read_file(mdir / "certs" / k_client_key_file).value() == k_client_key_file);
    for (const char* f : {k_ca_key_file, "id_ed25519", "known_hosts"}) CHECK(std::filesystem::exists(mdir / f));
    CHECK(nlohmann::json::parse(read_file(mdir / k_record_file).value())["schema_version"] == 2);
}

TEST_CASE("a crash between write and rename leaves the old record whole", "[store]") {
    TempDir dir;
    Store store(dir / "berth");
    REQUIRE(store.save(sample("n1", "tcp://10.0.0.1:2376")));

    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        AtomicWriteHooks hooks;
        hooks.before_rename = [](const std::filesystem::path&) { ::raise(SIGKILL); };
        (void)store.save(sample("n1", "tcp://10.9.9.9:2376"), hooks);
        ::_exit(0);  // not reached: the hook kills the process
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);

    // The new content was written to a temp file that never replaced the record.
    bool temp_left = false;
    for (const auto& e : std::filesystem::directory_iterator(store.machine_dir("n1")))
        temp_left = temp_left || is_temp_file(e.path());
    CHECK(temp_left);

    auto loaded = store.load("n1");
    REQUIRE(loaded);
    CHECK(loaded->driver["url"] == "tcp://10.0.0.1:2376");

    // The next write sweeps the dead writer's temp file.
    REQUIRE(store.save(sample("n1", "tcp://10.0.0.2:2376")));
    temp_left = false;
    for (const auto& e : std::filesystem::directory_iterator(store.machine_dir("n1")))
        temp_left = temp_left || is_temp_file(e.path());
    CHECK_FALSE(temp_left);
    CHECK(store.load("n1")->driver["url"] == "tcp://10.0.0.2:2376");
}

TEST_CASE("a record from a newer berth is refused - not misread", "[store]") {
    TempDir dir;
    Store store(dir / "berth");
    nlohmann::json j = sample("n1").to_json();
    j["schema_version"] = MachineRecord::k_schema_version + 1;
    write_text(store.machine_file("n1", k_record_file), j.dump());
    auto loaded = store.load("n1");
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().message.find("newer berth") != std::string::npos);
    CHECK(loaded.error().hint.find("upgrade berth") != std::string::npos);
}

TEST_CASE("damaged and missing records give errors that say what to do", "[store]") {
    TempDir dir;
    Store store(dir / "berth");
    REQUIRE(store.ensure_layout());

    auto missing = store.load("ghost");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == ErrorKind::NotFound);
    CHECK(missing.error().hint.find("berth ls") != std::string::npos);

    write_text(store.machine_file("bad", k_record_file), "{ not json");
    auto bad = store.load("bad");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("not valid JSON") != std::string::npos);
    CHECK(bad.error().hint.find("berth rm -f bad") != std::string::npos);

    std::filesystem::create_directories(store.machine_dir("half"));
    auto half = store.load("half");
    REQUIRE_FALSE(half);
    CHECK(half.error().kind == ErrorKind::Failed);
    CHECK(half.error().message.find("interrupted") != std::string::npos);

    write_text(store.machine_file("moved", k_record_file), sample("orig").to_json().dump());
    auto moved = store.load("moved");
    REQUIRE_FALSE(moved);
    CHECK(moved.error().message.find("orig") != std::string::npos);
}

TEST_CASE("listing skips temp files and sorts names naturally", "[store]") {
    TempDir dir;
    Store store(dir / "berth");
    for (const char* n : {"n10", "n2", "N1", "web"}) REQUIRE(store.save(sample(n)));
    write_text(store.machines_dir() / ".junk.tmp.123", "x");
    auto names = store.list_names();
    REQUIRE(names);
    CHECK(*names == std::vector<std::string>{"N1", "n2", "n10", "web"});

    Store empty(dir / "nothing-here");
    REQUIRE(empty.list_names());
    CHECK(empty.list_names()->empty());
}

TEST_CASE("natural order", "[store]") {
    CHECK(natural_less("n2", "n10"));
    CHECK_FALSE(natural_less("n10", "n2"));
    CHECK(natural_less("a", "b"));
    CHECK(natural_less("student-9", "student-10"));
    CHECK(natural_less("x01", "x2"));
}

TEST_CASE("the default store is BERTH_STORAGE_PATH - else ~/.berth", "[store]") {
    const char* old = std::getenv("BERTH_STORAGE_PATH");
    std::string saved = old ? old : "";
    ::setenv("BERTH_STORAGE_PATH", "/srv/berth-store", 1);
    CHECK(Store::default_root() == "/srv/berth-store");
    ::unsetenv("BERTH_STORAGE_PATH");
    const char* home = std::getenv("HOME");
    if (home != nullptr) CHECK(Store::default_root() == std::filesystem::path(home) / ".berth");
    if (old) ::setenv("BERTH_STORAGE_PATH", saved.c_str(), 1);
}

TEST_CASE("record: --insecure-engine-opt round-trips - a record without it is written as before", "[store][engine-opt]") {
    MachineRecord r = sample("n1");
    CHECK_FALSE(r.to_json()["engine"].contains("insecure_opts"));  // old records stay byte-for-byte
    r.engine.insecure_opts = {"icc=true"};
    auto j = r.to_json();
    CHECK(j["engine"]["insecure_opts"] == nlohmann::json{"icc=true"});
    auto back = MachineRecord::from_json(j, "test");
    REQUIRE(back);
    CHECK(back->engine.insecure_opts == std::vector<std::string>{"icc=true"});
    CHECK(back->to_json() == j);
}

TEST_CASE("record: --engine-apt-proxy round-trips - a record without it loads as none and is written as before", "[store][apt-proxy]") {
    MachineRecord r = sample("n1");
    const auto before = r.to_json();
    CHECK_FALSE(before["engine"].contains("apt_proxy"));  // old records stay byte-for-byte
    auto old = MachineRecord::from_json(before, "test");
    REQUIRE(old);
    CHECK(old->engine.apt_proxy.empty());
    r.engine.apt_proxy = "http://apt-cache.lan:3142";
    auto j = r.to_json();
    CHECK(j["engine"]["apt_proxy"] == "http://apt-cache.lan:3142");
    auto back = MachineRecord::from_json(j, "test");
    REQUIRE(back);
    CHECK(back->engine.apt_proxy == "http://apt-cache.lan:3142");
    CHECK(back->to_json() == j);
}

TEST_CASE("record: berth-authz's owner role and custom policy round-trip - the default is written as before", "[store][authz]") {
    MachineRecord r = sample("n1");
    CHECK_FALSE(r.to_json().contains("authz"));  // a record with the default reads the same to an older berth
    auto plain = MachineRecord::from_json(r.to_json(), "test");
    REQUIRE(plain);
    CHECK(plain->authz.owner_role == "restricted");
    CHECK_FALSE(plain->authz.custom_policy);

    for (const auto& [role, custom] : {std::pair{"admin", false}, std::pair{"restricted", true}}) {
        CAPTURE(role, custom);
        r.authz.owner_role = role;
        r.authz.custom_policy = custom;
        auto j = r.to_json();
        CHECK(j["authz"] == nlohmann::json{{"owner_role", role}, {"custom_policy", custom}, {"owner_swarm", false}});
        CHECK(j["schema_version"] == MachineRecord::k_schema_version);
        auto back = MachineRecord::from_json(j, "test");
        REQUIRE(back);
        CHECK(back->authz.owner_role == role);
        CHECK(back->authz.custom_policy == custom);
        CHECK(back->to_json() == j);
    }
}

TEST_CASE("record: fleet membership - user certificates and swarm round-trip - and are absent when unset", "[store][swarm]") {
    MachineRecord r = sample("n1");
    for (const char* key : {"fleet", "users", "swarm"}) CHECK_FALSE(r.to_json().contains(key));
    r.fleet.fleet = "course";
    r.fleet.group = "students";
    r.fleet.spec_file = "fleet.yaml";
    r.fleet.desired = {{"driver", "none"}};
    r.users.push_back({"alice", "restricted", "0A1B", "2027-01-01T00:00:00Z", "2026-12-06T00:00:00Z", true});
    r.swarm.role = "worker";
    r.swarm.peers = {"10.0.0.1", "10.0.0.2"};
    r.authz.owner_swarm = true;
    auto j = r.to_json();
    auto back = MachineRecord::from_json(j, "test");
    REQUIRE(back);
    CHECK(back->fleet.desired == r.fleet.desired);
    CHECK(back->users.front().revoked);
    CHECK(back->swarm == r.swarm);
    CHECK(back->authz.owner_swarm);
    CHECK(back->to_json() == j);
    j["swarm"]["role"] = "boss";
    auto bad = MachineRecord::from_json(j, "test");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("neither manager nor worker") != std::string::npos);
}

TEST_CASE("record: imported round-trips - is absent when unset - an older record loads without it", "[store][import]") {
    MachineRecord r = sample("n1");
    CHECK_FALSE(r.to_json().contains("imported"));
    CHECK_FALSE(r.imported.not_hardened());
    r.imported = ImportedFrom{"docker-machine", "/home/u/.docker/machine/machines/n1", "2026-12-07T02:00:00Z", false};
    auto j = r.to_json();
    CHECK(j["imported"] == nlohmann::json{{"tool", "docker-machine"},
                                          {"from", "/home/u/.docker/machine/machines/n1"},
                                          {"imported_at", "2026-12-07T02:00:00Z"},
                                          {"hardened", false}});
    auto back = MachineRecord::from_json(j, "test");
    REQUIRE(back);
    CHECK(back->imported.not_hardened());
    CHECK(back->to_json() == j);
    j["imported"]["hardened"] = true;
    CHECK_FALSE(MachineRecord::from_json(j, "test")->imported.not_hardened());
    j["imported"]["tool"] = "";
    auto bad = MachineRecord::from_json(j, "test");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("names no tool") != std::string::npos);
}
