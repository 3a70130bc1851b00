#include "docker_machine_store.h"

#include <berth/core/digest.h>
#include <berth/store/atomic_file.h>

#include "sshd_fixture.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <map>
#include <sstream>

namespace berth::test {
namespace {

void set_mode(const std::filesystem::path& p, unsigned mode) {
    std::filesystem::permissions(p, static_cast<std::filesystem::perms>(mode));
}

/// An RSA 2048 key in PKCS#1 PEM ("RSA PRIVATE KEY"), as docker-machine's cert package writes them.
void rsa_key(const std::filesystem::path& out) {
    run_checked({"openssl", "genrsa", "-traditional", "-out", out.string(), "2048"});
    set_mode(out, 0600);
}

/// A certificate for `key` signed by the store's CA, with the extensions in `ext`.
void signed_cert(const std::filesystem::path& work, const std::filesystem::path& root, const std::filesystem::path& key,
                 const std::filesystem::path& out, const std::string& org, const std::string& ext, int serial) {
    const auto csr = work / (out.filename().string() + ".csr");
    const auto extfile = work / (out.filename().string() + ".ext");
    write_text(extfile, ext);
    run_checked({"openssl", "req", "-new", "-key", key.string(), "-subj", "/O=" + org, "-out", csr.string()});
    run_checked({"openssl", "x509", "-req", "-in", csr.string(), "-CA", (root / "certs/ca.pem").string(), "-CAkey",
                 (root / "certs/ca-key.pem").string(), "-set_serial", std::to_string(serial), "-days", "1080", "-sha256",
                 "-extfile", extfile.string(), "-out", out.string()});
    set_mode(out, 0644);
}

}  // namespace

DockerMachineStore::DockerMachineStore(std::filesystem::path root) : m_root(std::move(root)), m_work(m_root.string() + ".work") {
    std::filesystem::create_directories(m_root / "certs");
    std::filesystem::create_directories(m_root / "machines");
    std::filesystem::create_directories(m_work);
    const auto certs = m_root / "certs";
    rsa_key(certs / "ca-key.pem");
    run_checked({"openssl", "req", "-x509", "-new", "-key", (certs / "ca-key.pem").string(), "-subj", "/O=tester", "-days",
                 "1080", "-sha256", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                 "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign,keyAgreement", "-out",
                 (certs / "ca.pem").string()});
    set_mode(certs / "ca.pem", 0644);
    rsa_key(certs / "key.pem");
    signed_cert(m_work, m_root, certs / "key.pem", certs / "cert.pem", "tester.<bootstrap>",
                "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment,keyAgreement\n"
                "extendedKeyUsage=clientAuth\n",
                2);
}

void DockerMachineStore::machine_files(const std::string& name, const std::string& ip) const {
    const auto dir = machine_dir(name);
    std::filesystem::create_directories(dir);
    // provision/utils.go copies the client files into the machine's directory (what env names).
    for (const char* f : {"ca.pem", "cert.pem", "key.pem"})
        std::filesystem::copy_file(m_root / "certs" / f, dir / f, std::filesystem::copy_options::overwrite_existing);
    rsa_key(dir / "server-key.pem");
    signed_cert(m_work, m_root, dir / "server-key.pem", dir / "server.pem", "tester." + name,
                "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment,keyAgreement\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:" + ip + ",DNS:localhost\n",
                10 + static_cast<int>(name.size()));
}

nlohmann::json DockerMachineStore::base_config(const std::string& name, const std::string& driver) const {
    const std::string store = m_root.string();
    const std::string dir = machine_dir(name).string();
    nlohmann::ordered_json engine = {{"ArbitraryFlags", nlohmann::json::array()}, {"Dns", nullptr}, {"GraphDir", ""},
                                     {"Env", nlohmann::json::array()}, {"Ipv6", false},
                                     {"InsecureRegistry", nlohmann::json::array()},
                                     {"Labels", nlohmann::json::array()}, {"LogLevel", ""}, {"StorageDriver", ""},
                                     {"SelinuxEnabled", false}, {"TlsVerify", true},
                                     {"RegistryMirror", nlohmann::json::array()}, {"InstallURL", "https://get.docker.com"}};
    nlohmann::ordered_json swarm = {{"IsSwarm", false}, {"Address", ""}, {"Discovery", ""}, {"Agent", false},
                                    {"Master", false}, {"Host", "tcp://0.0.0.0:3376"}, {"Image", "swarm:latest"},
                                    {"Strategy", "spread"}, {"Heartbeat", 0}, {"Overcommit", 0},
                                    {"ArbitraryFlags", nlohmann::json::array()},
                                    {"ArbitraryJoinFlags", nlohmann::json::array()}, {"Env", nullptr},
                                    {"IsExperimental", false}};
    nlohmann::ordered_json auth = {{"CertDir", store + "/certs"}, {"CaCertPath", store + "/certs/ca.pem"},
                                   {"CaPrivateKeyPath", store + "/certs/ca-key.pem"}, {"CaCertRemotePath", ""},
                                   {"ServerCertPath", dir + "/server.pem"}, {"ServerKeyPath", dir + "/server-key.pem"},
                                   {"ClientKeyPath", store + "/certs/key.pem"}, {"ServerCertRemotePath", ""},
                                   {"ServerKeyRemotePath", ""}, {"ClientCertPath", store + "/certs/cert.pem"},
                                   {"ServerCertSANs", nlohmann::json::array()}, {"StorePath", dir}};
    nlohmann::ordered_json j = {{"ConfigVersion", 3}, {"Driver", nlohmann::json::object()}, {"DriverName", driver},
                                {"HostOptions", {{"Driver", ""}, {"Memory", 0}, {"Disk", 0}, {"EngineOptions", engine},
                                                 {"SwarmOptions", swarm}, {"AuthOptions", auth}}},
                                {"Name", name}};
    return nlohmann::json::parse(j.dump());  // nlohmann::json again (keys sorted; docker-machine's order is kept in write_config)
}

nlohmann::json DockerMachineStore::add_generic(const std::string& name, const std::string& ip, int ssh_port,
                                               const std::filesystem::path& key, const std::string& user) {
    machine_files(name, ip);
    const auto dir = machine_dir(name);
    std::filesystem::copy_file(key, dir / "id_rsa", std::filesystem::copy_options::overwrite_existing);
    set_mode(dir / "id_rsa", 0600);
    if (std::filesystem::exists(key.string() + ".pub"))
        std::filesystem::copy_file(key.string() + ".pub", dir / "id_rsa.pub", std::filesystem::copy_options::overwrite_existing);
    auto j = base_config(name, "generic");
    j["Driver"] = {{"IPAddress", ip}, {"MachineName", name}, {"SSHUser", user}, {"SSHPort", ssh_port},
                   {"SSHKeyPath", (dir / "id_rsa").string()}, {"StorePath", m_root.string()}, {"SwarmMaster", false},
                   {"SwarmHost", ""}, {"SwarmDiscovery", ""}, {"EnginePort", 2376}, {"SSHKey", key.string()}};
    write_config(name, j);
    return j;
}

nlohmann::json DockerMachineStore::add_virtualbox(const std::string& name, const std::string& ip, int ssh_port) {
    machine_files(name, ip);
    const auto dir = machine_dir(name);
    run_checked({"ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-C", "", "-f", (dir / "id_rsa").string()});
    write_text(dir / "boot2docker.iso", std::string(2048, 'b'));  // stand-ins of the ISO and the disk
    write_text(dir / "disk.vmdk", std::string(4096, 'd'));
    auto j = base_config(name, "virtualbox");
    j["Driver"] = {{"IPAddress", ip}, {"MachineName", name}, {"SSHUser", "docker"}, {"SSHPort", ssh_port},
                   {"SSHKeyPath", (dir / "id_rsa").string()}, {"StorePath", m_root.string()}, {"SwarmMaster", false},
                   {"SwarmHost", ""}, {"SwarmDiscovery", ""}, {"VBoxManager", nlohmann::json::object()},
                   {"HostInterfaces", nlohmann::json::object()}, {"CPU", 2}, {"Memory", 2048}, {"DiskSize", 20000},
                   {"NatNicType", "82540EM"}, {"Boot2DockerURL", ""}, {"Boot2DockerImportVM", ""},
                   {"HostDNSResolver", false}, {"HostOnlyCIDR", "192.168.99.1/24"}, {"HostOnlyNicType", "82540EM"},
                   {"HostOnlyPromiscMode", "deny"}, {"UIType", "headless"}, {"HostOnlyNoDHCP", false},
                   {"NoShare", false}, {"DNSProxy", true}, {"NoVTXCheck", false}, {"ShareFolder", ""}};
    write_config(name, j);
    return j;
}

void DockerMachineStore::write_config(const std::string& name, const nlohmann::json& config) const {
    // filestore.go: json.MarshalIndent(host, "", "    "), 0600.
    const auto path = machine_dir(name) / "config.json";
    write_text(path, config.dump(4));
    set_mode(path, 0600);
}

std::string tree_snapshot(const std::filesystem::path& dir) {
    std::map<std::string, std::string> entries;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
        struct stat st{};
        REQUIRE(::lstat(e.path().c_str(), &st) == 0);
        std::ostringstream line;
        line << std::oct << st.st_mode << std::dec << " " << st.st_size << " " << st.st_mtim.tv_sec << "."
             << st.st_mtim.tv_nsec << " " << st.st_uid << ":" << st.st_gid;
        if (S_ISREG(st.st_mode)) line << " " << sha256_hex(read_file(e.path()).value_or(""));
        entries[std::filesystem::relative(e.path(), dir).string()] = line.str();
    }
    struct stat top{};
    REQUIRE(::lstat(dir.c_str(), &top) == 0);
    std::string out = ". " + std::to_string(top.st_mode) + " " + std::to_string(top.st_mtim.tv_sec) + "." +
                      std::to_string(top.st_mtim.tv_nsec) + "\n";
    for (const auto& [path, line] : entries) out += path + " " + line + "\n";
    return out;
}

std::string openssl_fingerprint(const std::filesystem::path& cert) {
    std::string out = run_checked({"openssl", "x509", "-in", cert.string(), "-noout", "-fingerprint", "-sha256"});
    auto eq = out.find('=');
    REQUIRE(eq != std::string::npos);
    out = out.substr(eq + 1);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

}  // namespace berth::test
