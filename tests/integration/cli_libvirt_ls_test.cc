// ls and status of libvirt machines through the real berth binary, on libvirt's test driver with a
// config file of its own (test:///DIR/node.xml: the machines' domains, some running), counting the
// libvirt API calls berth makes from libvirt's client debug log: each public API logs its name at
// entry. ls must make the same calls for 3 machines as for 12.

#include <berth/process/runner.h>
#include <berth/store/store.h>

#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

using namespace berth;
using berth::test::TempDir;

namespace {

/// Public API entries that only read or free the client's own objects, or set libvirt itself up:
/// not calls to the hypervisor.
const std::set<std::string> k_local = {"virGlobalInit",     "virConnectOpenInternal", "virDomainGetName",
                                       "virDomainFree",     "virDomainRef",           "virConnectRef",
                                       "virDomainGetUUID",  "virDomainGetUUIDString", "virDomainGetID",
                                       "virDomainGetConnect"};

struct LibvirtCli {
    TempDir dir;
    std::map<std::string, std::string> env;
    std::string uri;

    explicit LibvirtCli(int machines) {
        env["BERTH_STORAGE_PATH"] = (dir / "store").string();
        env["LIBVIRT_LOG_OUTPUTS"] = "1:file:" + (dir / "libvirt.log").string();
        env["LIBVIRT_LOG_FILTERS"] = "1:libvirt 4:*";
        uri = "test://" + (dir / "node.xml").string();
        std::ofstream node(dir / "node.xml");
        node << "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n";
        for (int i = 0; i < machines; ++i)
            node << "<domain type='test'><name>berth-m" << i << "</name><memory>1048576</memory><vcpu>1</vcpu>"
                 << "<os><type>hvm</type></os><devices><interface type='user'><mac address='52:54:00:00:00:"
                 << std::hex << (0x10 + i) << std::dec << "'/></interface></devices><test:runstate>" << (i % 2 == 0 ? 1 : 5)
                 << "</test:runstate></domain>\n";
        node << "</node>\n";
        node.close();
        Store store(dir / "store");
        REQUIRE(store.ensure_layout());
        for (int i = 0; i < machines; ++i) {
            MachineRecord r;
            r.name = "m" + std::to_string(i);
            r.driver_name = "libvirt";
            r.status = MachineStatus::Ready;
            r.created_at = "2026-12-06T10:00:00Z";
            r.driver = {{"uri", uri}, {"domain", "berth-" + r.name}, {"ssh_user", "docker"}};
            REQUIRE(store.save(r));
        }
    }

    CommandResult berth(std::vector<std::string> args) {
        Command c;
        c.argv = {BERTH_BINARY};
        c.argv.insert(c.argv.end(), args.begin(), args.end());
        c.env_set = env;
        c.env_unset = {"DOCKER_HOST", "LIBVIRT_DEFAULT_URI"};
        c.timeout = std::chrono::seconds(120);
        ProcessRunner runner;
        auto r = runner.run(c);
        REQUIRE(r);
        return *r;
    }

    /// The API calls logged since the last take, in order.
    std::vector<std::string> take_calls() {
        std::ifstream in(dir / "libvirt.log");
        std::vector<std::string> out;
        static const std::regex entry(": debug : (vir[A-Za-z]+):");
        for (std::string line; std::getline(in, line);) {
            std::smatch m;
            if (!std::regex_search(line, m, entry)) continue;
            const std::string name = m[1];
            if (k_local.contains(name) || name.starts_with("virRegister")) continue;
            out.push_back(name);
        }
        in.close();
        std::filesystem::remove(dir / "libvirt.log");
        return out;
    }

    /// Runs berth and returns the calls it made.
    std::vector<std::string> calls_of(std::vector<std::string> args) {
        take_calls();
        auto r = berth(args);
        INFO(r.err);
        REQUIRE(r.exit_status == 0);
        return take_calls();
    }
};

}  // namespace

TEST_CASE("cli libvirt: ls of 3 and of 12 machines make the same libvirt calls - status a constant number",
          "[cli][libvirt][ls-calls]") {
    const std::vector<std::vector<std::string>> runs = {
        {"ls"},
        {"ls", "--format", "{{.Name}} {{.Active}} {{.State}} {{.URL}} {{.Errors}}"},
        {"ls", "--json"},
        {"status", "m0"}};
    auto calls_of = [&](int machines) {
        LibvirtCli t(machines);
        // Every running machine's address looked up once (as create does), kept for ls.
        for (int i = 0; i < machines; i += 2) {
            auto url = t.berth({"url", "m" + std::to_string(i)});
            INFO(url.err);
            REQUIRE(url.exit_status == 0);
            REQUIRE(url.out.starts_with("tcp://"));
        }
        auto ls = t.berth({"ls", "--format", "{{.Name}} {{.State}} {{.URL}}"});
        INFO(ls.err);
        REQUIRE(ls.exit_status == 0);
        CHECK(std::count(ls.out.begin(), ls.out.end(), '\n') == machines);
        CHECK(ls.out.find("m0 Running tcp://") != std::string::npos);
        CHECK(ls.out.find("m1 Stopped \n") != std::string::npos);
        std::vector<std::vector<std::string>> out;
        for (const auto& args : runs) out.push_back(t.calls_of(args));
        return out;
    };
    auto few = calls_of(3);
    auto many = calls_of(12);
    REQUIRE(few.size() == runs.size());
    // The calls are counted at all: ls opens one connection and reads every domain's state at once.
    CHECK(std::count(few[0].begin(), few[0].end(), "virConnectGetAllDomainStats") == 1);
    CHECK(std::count(few[0].begin(), few[0].end(), "virDomainGetState") == 0);
    for (size_t i = 0; i < runs.size(); ++i) {
        INFO(runs[i].front() << " " << (runs[i].size() > 1 ? runs[i][1] : ""));
        CHECK_FALSE(few[i].empty());
        CHECK(many[i] == few[i]);
    }
}

TEST_CASE("cli libvirt: ls looks up the address of a running machine once - then reads the kept one",
          "[cli][libvirt][ls-calls]") {
    LibvirtCli t(2);
    const auto kept = t.dir / "store" / "machines" / "m0" / "libvirt-address";
    REQUIRE_FALSE(std::filesystem::exists(kept));
    auto first = t.calls_of({"ls", "--format", "{{.Name}} {{.URL}}"});
    CHECK(std::count(first.begin(), first.end(), "virDomainInterfaceAddresses") >= 1);
    REQUIRE(std::filesystem::exists(kept));
    auto second = t.calls_of({"ls", "--format", "{{.Name}} {{.URL}}"});
    CHECK(std::count(second.begin(), second.end(), "virDomainInterfaceAddresses") == 0);
    CHECK(second.size() < first.size());
    auto ls = t.berth({"ls", "--format", "{{.Name}} {{.URL}}"});
    std::ifstream in(kept);
    std::string address;
    std::getline(in, address);
    CHECK(ls.out == "m0 tcp://" + address + ":2376\nm1 \n");
}
