// berth's image cache against tests/support/image_server.py on 127.0.0.1: pulls by URL with
// checksums, resumed and restarted downloads, local imports, ls/rm, and the `image` verb through
// the real binary. Nothing here leaves loopback: known images are only resolved, never fetched.

#include <berth/core/digest.h>
#include <berth/image/image_cache.h>
#include <berth/image/progress.h>
#include <berth/process/runner.h>

#include <catch2/catch.hpp>

#include <optional>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include "port_server.h"
#include "temp_dir.h"
#include "test_gpg.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using berth::CachedImage;
using berth::ImageCache;
using berth::PullOptions;
using berth::test::TempDir;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::size_t k_fixture_size = 3 * 1024 * 1024;
constexpr std::size_t k_cut = 1000000;

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string sha512_hex(const std::string& data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha512(), nullptr);
    std::string out;
    static constexpr char k_hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < len; ++i) {
        out += k_hex[md[i] >> 4];
        out += k_hex[md[i] & 0x0F];
    }
    return out;
}

/// Pseudo-random bytes; with `qcow2`, behind a qcow2 version 3 header without a backing file
/// (all zeros after the version), which is all berth looks at.
std::string fixture_bytes(std::size_t size, unsigned seed, bool qcow2) {
    std::mt19937 gen(seed);
    std::string data(size, '\0');
    for (auto& c : data) c = static_cast<char>(gen() & 0xff);
    if (qcow2) {
        data.replace(0, 8, std::string("QFI\xfb\0\0\0\3", 8));
        data.replace(8, 96, std::string(96, '\0'));
    }
    return data;
}

std::string describe(const berth::Error& error) {
    std::string text = error.line();
    for (const auto& [key, value] : error.context) text += "\n  " + key + ": " + value;
    return text;
}

/// A served directory holding fixture.qcow2 (3 MiB), raw.img (256 KiB) and their SHA256SUMS
/// and SHA512SUMS, as a distribution publishes them.
struct Fixture {
    TempDir root;
    std::string image = fixture_bytes(k_fixture_size, 7, true);
    std::string raw = fixture_bytes(256 * 1024, 8, false);

    Fixture() {
        berth::test::write_text(root / "fixture.qcow2", image);
        berth::test::write_text(root / "raw.img", raw);
        berth::test::write_text(root / "SHA256SUMS", berth::sha256_hex("other") + "  other.qcow2\n" +
                                                         berth::sha256_hex(image) + " *fixture.qcow2\n" +
                                                         berth::sha256_hex(raw) + "  raw.img\n");
        berth::test::write_text(root / "SHA512SUMS", sha512_hex(image) + "  fixture.qcow2\n" +
                                                         sha512_hex(raw) + "  raw.img\n");
    }
    [[nodiscard]] std::string sha256() const { return berth::sha256_hex(image); }
};

/// tests/support/image_server.py serving a Fixture, stopped with the object.
class ImageServer {
public:
    explicit ImageServer(const Fixture& fixture, std::vector<std::string> flags = {}) {
        std::vector<std::string> args = {"python3", std::string(BERTH_TESTS_DIR) + "/support/image_server.py",
                                         "--root", fixture.root.path().string(), "--log", log_path().string()};
        args.insert(args.end(), flags.begin(), flags.end());
        m_server.emplace(std::move(args), m_dir / "stderr");
    }
    ImageServer(const ImageServer&) = delete;
    ImageServer& operator=(const ImageServer&) = delete;

    [[nodiscard]] int port() const { return m_server->port(); }
    [[nodiscard]] std::string url(const std::string& file) const {
        return "http://127.0.0.1:" + std::to_string(port()) + "/" + file;
    }
    /// For a server started with --tls-cert/--tls-key.
    [[nodiscard]] std::string https_url(const std::string& file) const {
        return "https://127.0.0.1:" + std::to_string(port()) + "/" + file;
    }
    /// The requests so far, one JSON object each.
    [[nodiscard]] std::vector<nlohmann::json> requests() const {
        std::vector<nlohmann::json> out;
        std::istringstream in(slurp(log_path()));
        for (std::string line; std::getline(in, line);)
            if (!line.empty()) out.push_back(nlohmann::json::parse(line));
        return out;
    }
    /// The requests for `file` (not for the sums files).
    [[nodiscard]] std::vector<nlohmann::json> requests_for(const std::string& file) const {
        std::vector<nlohmann::json> out;
        for (auto& r : requests())
            if (r["target"].get<std::string>().ends_with("/" + file)) out.push_back(r);
        return out;
    }

private:
    [[nodiscard]] fs::path log_path() const { return m_dir / "requests.log"; }
    TempDir m_dir;
    std::optional<berth::test::PortServer> m_server;
};

/// Keeps the cache's story lines out of the test output while it lives.
struct QuietLog {
    spdlog::level::level_enum saved = spdlog::get_level();
    QuietLog() { spdlog::set_level(spdlog::level::warn); }
    ~QuietLog() { spdlog::set_level(saved); }
    QuietLog(const QuietLog&) = delete;
    QuietLog& operator=(const QuietLog&) = delete;
};

/// A cache in a fresh store, as berth lays it out.
struct Cache {
    QuietLog quiet;
    TempDir store;
    ImageCache cache{ImageCache::images_dir(store.path())};
    [[nodiscard]] fs::path dir(const std::string& name) const { return cache.dir() / name; }
};

PullOptions with_checksum_url(const std::string& url) {
    PullOptions options;
    options.checksum_url = url;
    return options;
}

}  // namespace

TEST_CASE("pull by URL with --checksum-url verifies it and records the sha256", "[image]") {
    const Fixture fixture;
    const ImageServer server(fixture);
    Cache c;
    const std::string sums = GENERATE(as<std::string>{}, "SHA512SUMS", "SHA256SUMS");
    CAPTURE(sums);

    auto image = c.cache.pull(server.url("fixture.qcow2"), with_checksum_url(server.url(sums)));
    INFO((image ? std::string() : describe(image.error())));
    REQUIRE(image.has_value());
    CHECK(image->name == "fixture");
    CHECK(image->format == "qcow2");
    CHECK(image->disk_file == "disk.qcow2");
    CHECK(image->sha256 == fixture.sha256());
    CHECK(image->size == k_fixture_size);
    CHECK(image->source == server.url("fixture.qcow2"));
    CHECK(image->checksum ==
          (sums == "SHA512SUMS" ? "sha512:" + sha512_hex(fixture.image) : "sha256:" + fixture.sha256()));
    CHECK(image->checksum_source == server.url(sums));
    CHECK(slurp(c.dir("fixture") / "disk.qcow2") == fixture.image);

    // The record on disk says the same; the partial files are gone; directories are private.
    const auto record = nlohmann::json::parse(slurp(c.dir("fixture") / "image.json"));
    CHECK(record["sha256"] == fixture.sha256());
    CHECK(record["source"] == server.url("fixture.qcow2"));
    CHECK(record["size"] == k_fixture_size);
    CHECK(record["pulled_at"].get<std::string>().ends_with("Z"));
    CHECK_FALSE(fs::exists(c.dir("fixture") / "download.partial"));
    CHECK_FALSE(fs::exists(c.dir("fixture") / "download.partial.json"));
    CHECK(berth::test::file_mode(c.cache.dir()) == 0700);
    CHECK(berth::test::file_mode(c.dir("fixture")) == 0700);
    CHECK(berth::test::file_mode(c.store / "cache") == 0700);
    CHECK(berth::test::file_mode(c.dir("fixture") / "image.json") == 0600);

    auto found = c.cache.find("fixture");
    REQUIRE(found.has_value());
    CHECK(found->sha256 == fixture.sha256());
    auto files = berth::to_image_files(*found);
    REQUIRE(files.has_value());
    CHECK(files->name == "fixture");
    CHECK(files->disk == c.dir("fixture") / "disk.qcow2");
    CHECK(files->sha256 == fixture.sha256());
    CHECK(files->kernel.empty());
}

TEST_CASE("a second pull of an unchanged image fetches only the checksum file", "[image]") {
    const Fixture fixture;
    const ImageServer server(fixture);
    Cache c;
    const auto options = with_checksum_url(server.url("SHA512SUMS"));
    auto first = c.cache.pull(server.url("fixture.qcow2"), options);
    REQUIRE(first.has_value());
    auto second = c.cache.pull(server.url("fixture.qcow2"), options);
    INFO((second ? std::string() : describe(second.error())));
    REQUIRE(second.has_value());
    CHECK(second->pulled_at == first->pulled_at);
    CHECK(server.requests_for("fixture.qcow2").size() == 1);
    CHECK(server.requests_for("SHA512SUMS").size() == 2);

    auto forced_options = options;
    forced_options.force = true;
    auto forced = c.cache.pull(server.url("fixture.qcow2"), forced_options);
    REQUIRE(forced.has_value());
    CHECK(server.requests_for("fixture.qcow2").size() == 2);
    CHECK(forced->sha256 == fixture.sha256());
}

TEST_CASE("a wrong checksum fails with both digests and leaves no image and no partial file", "[image]") {
    const Fixture fixture;
    Cache c;

    SECTION("from a checksum file") {
        const ImageServer server(fixture, {"--wrong-checksum"});
        auto image = c.cache.pull(server.url("fixture.qcow2"), with_checksum_url(server.url("SHA512SUMS")));
        REQUIRE_FALSE(image.has_value());
        const std::string line = image.error().line();
        INFO(line);
        CHECK(contains(line, "checksum mismatch for " + server.url("fixture.qcow2")));
        CHECK(contains(line, "got sha512:" + sha512_hex(fixture.image)));
        CHECK(contains(line, "expected sha512:"));
        CHECK_FALSE(contains(line, "expected sha512:" + sha512_hex(fixture.image)));
        CHECK(contains(line, "the download was deleted"));
    }
    SECTION("given with --checksum") {
        const ImageServer server(fixture);
        PullOptions options;
        options.checksum = "sha256:" + std::string(64, 'a');
        auto image = c.cache.pull(server.url("fixture.qcow2"), options);
        REQUIRE_FALSE(image.has_value());
        const std::string line = image.error().line();
        INFO(line);
        CHECK(contains(line, "expected sha256:" + std::string(64, 'a') + " (from --checksum)"));
        CHECK(contains(line, "got sha256:" + fixture.sha256()));
    }
    CHECK_FALSE(fs::exists(c.dir("fixture") / "image.json"));
    CHECK_FALSE(fs::exists(c.dir("fixture") / "disk.qcow2"));
    CHECK_FALSE(fs::exists(c.dir("fixture") / "download.partial"));
    auto listed = c.cache.list();
    REQUIRE(listed.has_value());
    CHECK(listed->empty());
    CHECK(c.cache.find("fixture").error().kind == berth::ErrorKind::NotFound);
}

TEST_CASE("a cut-off transfer fails, and the next pull resumes it with a Range request", "[image]") {
    const Fixture fixture;
    const ImageServer server(fixture, {"--cut-after", std::to_string(k_cut)});
    Cache c;
    const auto options = with_checksum_url(server.url("SHA256SUMS"));

    auto cut = c.cache.pull(server.url("fixture.qcow2"), options);
    REQUIRE_FALSE(cut.has_value());
    INFO(describe(cut.error()));
    CHECK(contains(cut.error().message, "broke off"));
    CHECK(contains(cut.error().hint, "again to resume"));
    CHECK(fs::file_size(c.dir("fixture") / "download.partial") == k_cut);
    CHECK_FALSE(fs::exists(c.dir("fixture") / "image.json"));

    auto resumed = c.cache.pull(server.url("fixture.qcow2"), options);
    INFO((resumed ? std::string() : describe(resumed.error())));
    REQUIRE(resumed.has_value());
    CHECK(resumed->sha256 == fixture.sha256());
    CHECK(slurp(resumed->disk_path()) == fixture.image);
    const auto requests = server.requests_for("fixture.qcow2");
    REQUIRE(requests.size() == 2);
    CHECK(requests[0]["range"].is_null());
    CHECK(requests[1]["range"] == "bytes=" + std::to_string(k_cut) + "-");
    CHECK(requests[1]["if_range"].is_string());
    CHECK(requests[1]["status"] == 206);
    CHECK_FALSE(fs::exists(c.dir("fixture") / "download.partial"));
}

TEST_CASE("a server that ignores Range makes the download start over cleanly", "[image]") {
    const Fixture fixture;
    const ImageServer server(fixture, {"--cut-after", std::to_string(k_cut), "--ignore-range"});
    Cache c;
    const auto options = with_checksum_url(server.url("SHA512SUMS"));
    REQUIRE_FALSE(c.cache.pull(server.url("fixture.qcow2"), options).has_value());
    REQUIRE(fs::file_size(c.dir("fixture") / "download.partial") == k_cut);

    auto again = c.cache.pull(server.url("fixture.qcow2"), options);
    INFO((again ? std::string() : describe(again.error())));
    REQUIRE(again.has_value());
    CHECK(again->sha256 == fixture.sha256());
    CHECK(slurp(again->disk_path()) == fixture.image);
    const auto requests = server.requests_for("fixture.qcow2");
    REQUIRE(requests.size() == 2);
    CHECK(requests[1]["range"] == "bytes=" + std::to_string(k_cut) + "-");
    CHECK(requests[1]["status"] == 200);
}

TEST_CASE("a partial file from another URL is not resumed", "[image]") {
    const Fixture fixture;
    const ImageServer server(fixture);
    Cache c;
    berth::test::write_text(c.dir("fixture") / "download.partial", std::string(k_cut, 'x'));
    berth::test::write_text(c.dir("fixture") / "download.partial.json", R"({"url":"http://elsewhere/fixture.qcow2"})");
    auto image = c.cache.pull(server.url("fixture.qcow2"), with_checksum_url(server.url("SHA256SUMS")));
    REQUIRE(image.has_value());
    CHECK(image->sha256 == fixture.sha256());
    const auto requests = server.requests_for("fixture.qcow2");
    REQUIRE(requests.size() == 1);
    CHECK(requests[0]["range"].is_null());
}

TEST_CASE("a stalled transfer is aborted, keeping what arrived for a resume", "[image]") {
    const Fixture fixture;
    // Few bytes: libcurl averages the speed over a few seconds, and a burst would hide the stall.
    const ImageServer server(fixture, {"--stall-after", "1000"});
    Cache c;
    auto options = with_checksum_url(server.url("SHA256SUMS"));
    options.http.stall_time = 1s;
    const auto start = Clock::now();
    auto image = c.cache.pull(server.url("fixture.qcow2"), options);
    REQUIRE_FALSE(image.has_value());
    INFO(describe(image.error()));
    CHECK(std::chrono::duration<double>(Clock::now() - start).count() < 4.0);
    CHECK(contains(image.error().message, "stalled"));
    CHECK(contains(image.error().hint, "resume"));
    CHECK(fs::file_size(c.dir("fixture") / "download.partial") == 1000);
}

TEST_CASE("HTTP errors and an unlisted file say what failed", "[image]") {
    const Fixture fixture;
    const ImageServer server(fixture);
    Cache c;
    auto missing = c.cache.pull(server.url("missing.qcow2"), with_checksum_url(server.url("SHA256SUMS")));
    REQUIRE_FALSE(missing.has_value());
    CHECK(contains(missing.error().message, "lists no checksum for missing.qcow2"));

    PullOptions options;
    options.checksum = "sha256:" + fixture.sha256();
    auto not_found = c.cache.pull(server.url("missing.qcow2"), options);
    REQUIRE_FALSE(not_found.has_value());
    INFO(describe(not_found.error()));
    CHECK(contains(not_found.error().message, "answered HTTP 404"));
    CHECK(contains(not_found.error().hint, "check the URL"));
}

TEST_CASE("a local file is imported with its sha256 computed", "[image]") {
    const Fixture fixture;
    Cache c;
    const fs::path file = fixture.root / "fixture.qcow2";

    auto image = c.cache.pull(file.string(), {});
    INFO((image ? std::string() : describe(image.error())));
    REQUIRE(image.has_value());
    CHECK(image->name == "fixture");
    CHECK(image->source == file.string());
    CHECK(image->sha256 == fixture.sha256());
    CHECK(image->checksum.empty());
    CHECK(slurp(image->disk_path()) == fixture.image);
    CHECK(berth::test::file_mode(image->disk_path()) == 0600);

    SECTION("again: up to date") {
        auto again = c.cache.pull(file.string(), {});
        REQUIRE(again.has_value());
        CHECK(again->pulled_at == image->pulled_at);
    }
    SECTION("a raw disk keeps its extension, and drivers are told to convert it") {
        PullOptions options;
        options.name = "plain";
        options.checksum = "sha512:" + sha512_hex(fixture.raw);
        auto raw = c.cache.pull((fixture.root / "raw.img").string(), options);
        REQUIRE(raw.has_value());
        CHECK(raw->format == "raw");
        CHECK(raw->disk_file == "disk.img");
        CHECK(raw->checksum == options.checksum);
        auto files = berth::to_image_files(*raw);
        REQUIRE_FALSE(files.has_value());
        CHECK(contains(files.error().hint, "qemu-img convert"));
    }
    SECTION("with a kernel and initrd for direct kernel boot") {
        berth::test::write_text(fixture.root / "vmlinuz-6.1", "kernel");
        berth::test::write_text(fixture.root / "initrd.img-6.1", "initrd");
        PullOptions options;
        options.name = "direct";
        options.kernel = fixture.root / "vmlinuz-6.1";
        options.initrd = fixture.root / "initrd.img-6.1";
        options.kernel_cmdline = "root=/dev/vda rw console=ttyS0";
        auto direct = c.cache.pull(file.string(), options);
        INFO((direct ? std::string() : describe(direct.error())));
        REQUIRE(direct.has_value());
        auto files = berth::to_image_files(*direct);
        REQUIRE(files.has_value());
        CHECK(slurp(files->kernel) == "kernel");
        CHECK(slurp(files->initrd) == "initrd");
        CHECK(files->kernel_cmdline == "root=/dev/vda rw console=ttyS0");
        auto found = c.cache.find("direct");
        REQUIRE(found.has_value());
        CHECK(found->kernel == "vmlinuz");
    }
    SECTION("a wrong --checksum deletes the copy") {
        PullOptions options;
        options.name = "bad";
        options.checksum = "sha256:" + std::string(64, '0');
        auto bad = c.cache.pull(file.string(), options);
        REQUIRE_FALSE(bad.has_value());
        CHECK(contains(bad.error().message, "got sha256:" + fixture.sha256()));
        CHECK_FALSE(fs::exists(c.dir("bad") / "download.partial"));
        CHECK_FALSE(fs::exists(c.dir("bad") / "image.json"));
    }
    SECTION("a damaged image is reported by find") {
        ::truncate(image->disk_path().c_str(), 100);
        auto damaged = c.cache.find("fixture");
        REQUIRE_FALSE(damaged.has_value());
        CHECK(contains(damaged.error().message, "is damaged"));
    }
}

TEST_CASE("list in natural order, remove, and clear errors for unknown names", "[image]") {
    const Fixture fixture;
    Cache c;
    for (const char* name : {"n10", "n2", "alpha"}) {
        PullOptions options;
        options.name = name;
        REQUIRE(c.cache.pull((fixture.root / "raw.img").string(), options).has_value());
    }
    auto listed = c.cache.list();
    REQUIRE(listed.has_value());
    REQUIRE(listed->size() == 3);
    CHECK((*listed)[0].name == "alpha");
    CHECK((*listed)[1].name == "n2");
    CHECK((*listed)[2].name == "n10");

    REQUIRE(c.cache.remove("n2").has_value());
    CHECK_FALSE(fs::exists(c.dir("n2")));
    listed = c.cache.list();
    REQUIRE(listed.has_value());
    CHECK(listed->size() == 2);

    auto gone = c.cache.remove("n2");
    REQUIRE_FALSE(gone.has_value());
    CHECK(gone.error().kind == berth::ErrorKind::NotFound);
    CHECK(contains(gone.error().line(), "no image named \"n2\""));
    CHECK(contains(gone.error().line(), "berth image ls"));
    CHECK(c.cache.remove("../store").error().kind == berth::ErrorKind::Usage);
    CHECK(c.cache.find("n2").error().kind == berth::ErrorKind::NotFound);
}

TEST_CASE("two concurrent pulls of one image download it once and both succeed", "[image]") {
    const Fixture fixture;
    // 3 MiB at 6 MiB/s: half a second in which the second pull must wait.
    const ImageServer server(fixture, {"--rate", std::to_string(6 * 1024 * 1024)});
    Cache c;
    const auto options = with_checksum_url(server.url("SHA512SUMS"));
    berth::Result<CachedImage> results[2] = {berth::fail("not run"), berth::fail("not run")};
    std::thread first([&] { results[0] = ImageCache(c.cache.dir()).pull(server.url("fixture.qcow2"), options); });
    std::this_thread::sleep_for(100ms);
    std::thread second([&] { results[1] = ImageCache(c.cache.dir()).pull(server.url("fixture.qcow2"), options); });
    first.join();
    second.join();
    for (auto& result : results) {
        INFO((result ? std::string() : describe(result.error())));
        REQUIRE(result.has_value());
        CHECK(result->sha256 == fixture.sha256());
    }
    CHECK(server.requests_for("fixture.qcow2").size() == 1);
    CHECK(slurp(c.dir("fixture") / "disk.qcow2") == fixture.image);
}

TEST_CASE("known names resolve to the distributions' URLs without any network access", "[image]") {
    auto debian = berth::resolve_pull_source("debian-12", {});
    REQUIRE(debian.has_value());
    CHECK(debian->kind == berth::SourceKind::Known);
    CHECK(debian->name == "debian-12");
    CHECK(debian->location ==
          "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2");
    CHECK(debian->sums_url == "https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS");
    CHECK(debian->file_name == "debian-12-genericcloud-amd64.qcow2");
    CHECK_FALSE(debian->checksum.has_value());

    auto ubuntu = berth::resolve_pull_source("ubuntu-24.04", {});
    REQUIRE(ubuntu.has_value());
    CHECK(ubuntu->location == "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img");
    CHECK(ubuntu->sums_url == "https://cloud-images.ubuntu.com/noble/current/SHA256SUMS");
    CHECK(ubuntu->file_name == "noble-server-cloudimg-amd64.img");

    // The sums files as the distributions write them.
    const std::string hex512(128, 'c');
    auto from_debian = berth::find_in_sums(hex512 + "  debian-12-genericcloud-amd64.json\n" + std::string(128, 'd') +
                                               "  debian-12-genericcloud-amd64.qcow2\n",
                                           debian->file_name, debian->sums_url);
    REQUIRE(from_debian.has_value());
    CHECK(from_debian->text() == "sha512:" + std::string(128, 'd'));
    auto from_ubuntu = berth::find_in_sums(std::string(64, 'E') + " *noble-server-cloudimg-amd64.img\n",
                                           ubuntu->file_name, ubuntu->sums_url);
    REQUIRE(from_ubuntu.has_value());
    CHECK(from_ubuntu->text() == "sha256:" + std::string(64, 'e'));
    auto bsd = berth::find_in_sums("SHA256 (disk.qcow2) = " + std::string(64, '1') + "\n", "disk.qcow2", "x");
    REQUIRE(bsd.has_value());
    CHECK(bsd->hex == std::string(64, '1'));

    PullOptions checksum;
    checksum.checksum = "sha256:" + std::string(64, '0');
    CHECK(berth::resolve_pull_source("debian-12", checksum).error().kind == berth::ErrorKind::Usage);
    PullOptions named;
    named.name = "deb";
    CHECK(berth::resolve_pull_source("debian-12", named).error().kind == berth::ErrorKind::Usage);

    auto unknown = berth::resolve_pull_source("fedora-40", {});
    REQUIRE_FALSE(unknown.has_value());
    CHECK(unknown.error().kind == berth::ErrorKind::NotFound);
    CHECK(contains(unknown.error().message, "debian-12, ubuntu-24.04"));
}

TEST_CASE("URL pulls need a way to verify, and are named after the file", "[image]") {
    auto bare = berth::resolve_pull_source("https://example.org/images/my-image.qcow2", {});
    REQUIRE_FALSE(bare.has_value());
    CHECK(bare.error().kind == berth::ErrorKind::Usage);
    CHECK(contains(bare.error().hint, "--checksum"));

    PullOptions skip;
    skip.insecure_skip_checksum = true;
    auto skipped = berth::resolve_pull_source("https://example.org/images/my-image.qcow2?x=1", skip);
    REQUIRE(skipped.has_value());
    CHECK(skipped->name == "my-image");
    CHECK(skipped->file_name == "my-image.qcow2");
    CHECK_FALSE(skipped->verify);

    PullOptions both = skip;
    both.checksum = "sha256:" + std::string(64, '0');
    CHECK(berth::resolve_pull_source("https://example.org/a.qcow2", both).error().kind == berth::ErrorKind::Usage);

    PullOptions bad;
    bad.checksum = "md5:abc";
    CHECK(berth::resolve_pull_source("https://example.org/a.qcow2", bad).error().kind == berth::ErrorKind::Usage);
    bad.checksum = "sha256:abc";
    CHECK(berth::resolve_pull_source("https://example.org/a.qcow2", bad).error().kind == berth::ErrorKind::Usage);

    PullOptions renamed = skip;
    renamed.name = "bad/name";
    CHECK(berth::resolve_pull_source("https://example.org/a.qcow2", renamed).error().kind ==
          berth::ErrorKind::Usage);
    CHECK(berth::resolve_pull_source("ftp://example.org/a.qcow2", skip).error().kind == berth::ErrorKind::Usage);
}

TEST_CASE("progress is a bar on a terminal and a line every 10% in a pipe", "[image]") {
    TempDir dir;
    const fs::path out_path = dir / "out";
    std::FILE* out = std::fopen(out_path.c_str(), "w");
    REQUIRE(out != nullptr);
    auto plain = berth::make_progress_printer("img", out, false);
    for (std::uint64_t done = 0; done <= 1000; done += 50) {
        berth::TransferProgress p;
        p.done = done;
        p.total = 1000;
        p.rate = 2048;
        p.finished = done == 1000;
        plain(p);
    }
    auto bar = berth::make_progress_printer("img", out, true);
    berth::TransferProgress half;
    half.done = 512 * 1024;
    half.total = 1024 * 1024;
    half.rate = 1024 * 1024;
    bar(half);
    std::fclose(out);
    const std::string text = slurp(out_path);
    CHECK(contains(text, "img: 10% (100 B of 1000 B, 2.0 KiB/s)\n"));
    CHECK(contains(text, "img: 100% (1000 B of 1000 B, 2.0 KiB/s)\n"));
    CHECK(std::count(text.begin(), text.end(), '\n') == 10);
    CHECK(contains(text, "\rimg  [===============>              ]  50%  512.0 KiB / 1.0 MiB  1.0 MiB/s"));
}

// --- the `image` verb through the binary -----------------------------------------------------

namespace {

struct Berth {
    TempDir dir;
    std::map<std::string, std::string> env;

    Berth() {
        const char* path = std::getenv("PATH");
        env["PATH"] = path != nullptr ? path : "/usr/bin:/bin";
        env["BERTH_STORAGE_PATH"] = (dir / "store").string();
    }
    berth::CommandResult run(std::vector<std::string> args) {
        berth::Command c;
        c.argv = {BERTH_BINARY};
        c.argv.insert(c.argv.end(), args.begin(), args.end());
        c.env_set = env;
        c.env_unset = {"NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"};
        if (!env.contains("http_proxy")) c.env_unset.push_back("http_proxy");
        c.timeout = std::chrono::seconds(20);
        berth::ProcessRunner runner;
        auto r = runner.run(c);
        REQUIRE(r);
        return *r;
    }
};

}  // namespace

TEST_CASE("berth image pull, ls and rm through the binary", "[image][cli]") {
    const Fixture fixture;
    const ImageServer server(fixture);
    Berth b;

    auto pull = b.run({"image", "pull", server.url("fixture.qcow2"), "--checksum-url", server.url("SHA512SUMS")});
    INFO(pull.err);
    REQUIRE(pull.exit_status == 0);
    CHECK(pull.out == "fixture\n");
    CHECK(contains(pull.err, "Pulling fixture from " + server.url("fixture.qcow2")));
    CHECK(contains(pull.err, "fixture: 100% (3.0 MiB of 3.0 MiB"));  // piped: plain lines
    CHECK(contains(pull.err, "Verified its sha512 checksum against " + server.url("SHA512SUMS")));

    auto ls = b.run({"image", "ls"});
    REQUIRE(ls.exit_status == 0);
    CHECK(ls.out.starts_with("NAME      SIZE      SOURCE"));
    CHECK(contains(ls.out, "fixture   3.0 MiB   " + server.url("fixture.qcow2") + "   less than a minute ago\n"));

    auto quiet = b.run({"image", "ls", "-q"});
    CHECK(quiet.out == "fixture\n");

    auto json = b.run({"image", "ls", "--json"});
    REQUIRE(json.exit_status == 0);
    const auto list = nlohmann::json::parse(json.out);
    REQUIRE(list.size() == 1);
    CHECK(list[0]["sha256"] == fixture.sha256());
    CHECK(list[0]["disk_path"] == (b.dir / "store/cache/images/fixture/disk.qcow2").string());

    auto rm = b.run({"image", "rm", "fixture"});
    CHECK(rm.exit_status == 0);
    CHECK(rm.out == "Removed image fixture\n");
    auto again = b.run({"image", "rm", "fixture"});
    CHECK(again.exit_status == 1);
    CHECK(contains(again.err, "berth: error: no image named \"fixture\" in "));
    CHECK(b.run({"image", "ls", "-q"}).out.empty());
}

TEST_CASE("berth image pull refuses what it cannot verify, with exit code 2", "[image][cli]") {
    Berth b;
    auto bare = b.run({"image", "pull", "http://127.0.0.1:9/x.qcow2"});
    CHECK(bare.exit_status == 2);
    CHECK(contains(bare.err, "pulling a URL needs a checksum"));
    auto known = b.run({"image", "pull", "debian-12", "--checksum", "sha256:" + std::string(64, '0')});
    CHECK(known.exit_status == 2);
    auto nothing = b.run({"image"});
    CHECK(nothing.exit_status == 2);
    auto unknown = b.run({"image", "pull", "fedora-40"});
    CHECK(unknown.exit_status == 1);
    CHECK(contains(unknown.err, "unknown image \"fedora-40\": berth knows debian-12, ubuntu-24.04"));
}

TEST_CASE("downloads go through the proxy in the environment, except to loopback", "[image][cli]") {
    const Fixture fixture;
    const ImageServer server(fixture);
    Berth b;
    // The image server also answers proxy requests: the host below is never resolved.
    b.env["http_proxy"] = "http://127.0.0.1:" + std::to_string(server.port());
    auto proxied = b.run({"image", "pull", "http://images.invalid/fixture.qcow2", "--checksum",
                          "sha256:" + fixture.sha256()});
    INFO(proxied.err);
    REQUIRE(proxied.exit_status == 0);
    const auto requests = server.requests_for("fixture.qcow2");
    REQUIRE(requests.size() == 1);
    CHECK(requests[0]["target"] == "http://images.invalid/fixture.qcow2");
    CHECK(requests[0]["proxied"] == true);

    // A proxy that refuses everything: loopback is still reached directly.
    b.env["http_proxy"] = "http://127.0.0.1:9";
    auto direct = b.run({"image", "pull", server.url("raw.img"), "--checksum-url", server.url("SHA256SUMS")});
    INFO(direct.err);
    CHECK(direct.exit_status == 0);
    CHECK(direct.out == "raw\n");
}

namespace {

/// A self-signed certificate for 127.0.0.1 (made with the openssl tool), for an https image server.
struct TestCert {
    TempDir dir;
    fs::path cert = dir / "cert.pem";
    fs::path key = dir / "key.pem";
    TestCert() {
        berth::ProcessRunner runner;
        berth::Command c;
        c.argv = {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.string(),
                  "-out", cert.string(), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                  "subjectAltName=IP:127.0.0.1"};
        auto r = runner.run(c);
        REQUIRE(r);
        INFO(r->err);
        REQUIRE(r->exit_status == 0);
    }
    [[nodiscard]] std::vector<std::string> flags() const {
        return {"--tls-cert", cert.string(), "--tls-key", key.string()};
    }
};

}  // namespace

TEST_CASE("an https pull that is redirected to plain http is refused before anything comes over http",
          "[image][trust]") {
    const Fixture fixture;
    const ImageServer plain(fixture);
    const TestCert cert;
    std::vector<std::string> flags = cert.flags();
    flags.push_back("--redirect");
    flags.push_back("/fixture.qcow2=" + plain.url("fixture.qcow2"));
    flags.push_back("--redirect");
    flags.push_back("/SHA256SUMS=" + plain.url("SHA256SUMS"));
    const ImageServer tls(fixture, flags);
    Cache c;

    PullOptions pinned;
    pinned.checksum = "sha256:" + fixture.sha256();
    pinned.http.ca_file = cert.cert.string();
    auto image = c.cache.pull(tls.https_url("fixture.qcow2"), pinned);
    REQUIRE_FALSE(image.has_value());
    INFO(describe(image.error()));
    CHECK(contains(image.error().message, "redirected the https download to plain http"));
    CHECK(contains(image.error().hint, "https"));
    CHECK(plain.requests().empty());
    CHECK_FALSE(fs::exists(c.dir("fixture") / "image.json"));

    // The checksum file, too.
    PullOptions sums;
    sums.checksum_url = tls.https_url("SHA256SUMS");
    sums.http.ca_file = cert.cert.string();
    auto listed = c.cache.pull(tls.https_url("raw.img"), sums);
    REQUIRE_FALSE(listed.has_value());
    CHECK(contains(listed.error().message, "redirected the https download to plain http"));
    CHECK(plain.requests().empty());

    // Redirects that stay on https are followed.
    auto direct = c.cache.pull(tls.https_url("raw.img"), [&] {
        PullOptions o = pinned;
        o.checksum = "sha256:" + berth::sha256_hex(fixture.raw);
        return o;
    }());
    INFO((direct ? std::string() : describe(direct.error())));
    CHECK(direct.has_value());
}

TEST_CASE("a checksum file over plain http is refused unless it is on this machine", "[image][trust]") {
    CHECK(berth::is_secure_source_url("https://cloud.debian.org/SHA512SUMS"));
    CHECK(berth::is_secure_source_url("HTTPS://example.org/x"));
    CHECK(berth::is_secure_source_url("http://127.0.0.1:8080/SHA256SUMS"));
    CHECK(berth::is_secure_source_url("http://localhost/SHA256SUMS"));
    CHECK(berth::is_secure_source_url("http://[::1]:80/SHA256SUMS"));
    CHECK_FALSE(berth::is_secure_source_url("http://example.org/SHA256SUMS"));
    CHECK_FALSE(berth::is_secure_source_url("http://127.0.0.1.example.org/SHA256SUMS"));
    CHECK_FALSE(berth::is_secure_source_url("http://localhost@example.org/SHA256SUMS"));
    CHECK_FALSE(berth::is_secure_source_url("http://[::1].example.org/SHA256SUMS"));
    CHECK_FALSE(berth::is_secure_source_url("ftp://127.0.0.1/SHA256SUMS"));

    PullOptions over_http;
    over_http.checksum_url = "http://images.example.org/SHA256SUMS";
    auto refused = berth::resolve_pull_source("http://images.example.org/a.qcow2", over_http);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().kind == berth::ErrorKind::Usage);
    CHECK(contains(refused.error().message, "refusing --checksum-url http://images.example.org/SHA256SUMS"));
    CHECK(contains(refused.error().hint, "--checksum sha256:HEX"));

    // Pinned by digest, the image itself may come over http.
    PullOptions pinned;
    pinned.checksum = "sha256:" + std::string(64, 'a');
    CHECK(berth::resolve_pull_source("http://images.example.org/a.qcow2", pinned).has_value());
    PullOptions over_https;
    over_https.checksum_url = "https://images.example.org/SHA256SUMS";
    CHECK(berth::resolve_pull_source("http://images.example.org/a.qcow2", over_https).has_value());

    Berth b;
    auto cli = b.run({"image", "pull", "http://images.example.org/a.qcow2", "--checksum-url",
                      "http://images.example.org/SHA256SUMS"});
    CHECK(cli.exit_status == 2);
    CHECK(contains(cli.err, "refusing --checksum-url"));
}

namespace {

/// `image` with a backing file named in its qcow2 header (what `qemu-img create -b` writes).
std::string with_backing_file(std::string image, const std::string& backing) {
    image[15] = static_cast<char>(0xc0);                         // backing_file_offset = 0xc0
    image[19] = static_cast<char>(backing.size());               // backing_file_size
    image.replace(0xc0, backing.size(), backing);
    return image;
}

}  // namespace

TEST_CASE("a qcow2 image with a backing file is refused at pull and at cache use", "[image][trust]") {
    Fixture fixture;
    const std::string overlay = with_backing_file(fixture.image, "/etc/shadow");
    berth::test::write_text(fixture.root / "overlay.qcow2", overlay);
    const ImageServer server(fixture);
    Cache c;

    PullOptions options;
    options.checksum = "sha256:" + berth::sha256_hex(overlay);
    auto refused = c.cache.pull(server.url("overlay.qcow2"), options);
    REQUIRE_FALSE(refused.has_value());
    INFO(describe(refused.error()));
    CHECK(contains(refused.error().message, "names a backing file"));
    CHECK(contains(refused.error().hint, "qemu-img convert"));
    CHECK_FALSE(fs::exists(c.dir("overlay") / "image.json"));
    CHECK_FALSE(fs::exists(c.dir("overlay") / "download.partial"));

    // Imported from a file, too.
    berth::test::TempDir local;
    berth::test::write_text(local / "overlay.qcow2", overlay);
    auto imported = c.cache.pull((local / "overlay.qcow2").string(), {});
    REQUIRE_FALSE(imported.has_value());
    CHECK(contains(imported.error().message, "names a backing file"));

    // A cached disk swapped for an overlay of the same size is refused when a driver asks for it.
    PullOptions clean;
    clean.checksum = "sha256:" + fixture.sha256();
    auto image = c.cache.pull(server.url("fixture.qcow2"), clean);
    REQUIRE(image.has_value());
    REQUIRE(berth::to_image_files(*image).has_value());
    berth::test::write_text(image->disk_path(), overlay);
    auto found = c.cache.find("fixture");
    REQUIRE(found.has_value());
    auto files = berth::to_image_files(*found);
    REQUIRE_FALSE(files.has_value());
    CHECK(contains(files.error().message, "names a backing file"));
}

namespace {

/// A served fixture whose SHA256SUMS is signed (SHA256SUMS.gpg) by a key made for the test, with
/// the keyrings to check it against.
struct SignedFixture {
    Fixture fixture;
    berth::test::TestGpg gpg;
    TempDir keys;
    std::string signer = gpg.make_key("berth test images <images@berth.invalid>");
    std::string stranger = gpg.make_key("someone else <else@berth.invalid>");
    SignedFixture() {
        gpg.detach_sign(signer, fixture.root / "SHA256SUMS", fixture.root / "SHA256SUMS.gpg");
        gpg.export_keys(signer, keys / "signer.gpg", false);
        gpg.export_keys(stranger, keys / "stranger.gpg", false);
    }
    [[nodiscard]] PullOptions options(const ImageServer& server, const std::string& signature,
                                      const std::string& keyring) const {
        PullOptions o;
        o.checksum_url = server.url("SHA256SUMS");
        o.signature_url = server.url(signature);
        o.keyring = keys / keyring;
        return o;
    }
};

}  // namespace

TEST_CASE("a signed checksum file is checked with gpgv against the keyring", "[image][trust]") {
    SignedFixture signed_fixture;
    const ImageServer server(signed_fixture.fixture);
    Cache c;

    auto good = c.cache.pull(server.url("fixture.qcow2"), signed_fixture.options(server, "SHA256SUMS.gpg", "signer.gpg"));
    INFO((good ? std::string() : describe(good.error())));
    REQUIRE(good.has_value());
    CHECK(good->sha256 == signed_fixture.fixture.sha256());
    CHECK_FALSE(fs::exists(c.dir("fixture") / ".verify"));  // the work files are gone

    auto stranger = c.cache.pull(server.url("raw.img"), signed_fixture.options(server, "SHA256SUMS.gpg", "stranger.gpg"));
    REQUIRE_FALSE(stranger.has_value());
    CHECK(contains(stranger.error().message, "is signed by a key that is not in"));
    CHECK_FALSE(fs::exists(c.dir("raw") / "image.json"));

    auto missing = c.cache.pull(server.url("raw.img"), signed_fixture.options(server, "SHA256SUMS.sig", "signer.gpg"));
    REQUIRE_FALSE(missing.has_value());
    CHECK(contains(missing.error().message, "cannot fetch the signature of"));
    CHECK(contains(missing.error().message, "HTTP 404"));

    auto no_keyring = c.cache.pull(server.url("raw.img"), signed_fixture.options(server, "SHA256SUMS.gpg", "none.gpg"));
    REQUIRE_FALSE(no_keyring.has_value());
    CHECK(contains(no_keyring.error().message, "none.gpg is not there"));

    // Nothing of the image was fetched for any refused pull.
    CHECK(server.requests_for("raw.img").empty());
    CHECK_FALSE(fs::exists(c.dir("raw") / "image.json"));
}

TEST_CASE("a checksum file changed after it was signed is refused", "[image][trust]") {
    SignedFixture signed_fixture;
    const ImageServer server(signed_fixture.fixture, {"--wrong-checksum"});  // every digest changed in transit
    Cache c;
    auto changed = c.cache.pull(server.url("fixture.qcow2"), signed_fixture.options(server, "SHA256SUMS.gpg", "signer.gpg"));
    REQUIRE_FALSE(changed.has_value());
    INFO(describe(changed.error()));
    CHECK(contains(changed.error().message, "does not match"));
    CHECK(server.requests_for("fixture.qcow2").empty());
    CHECK_FALSE(fs::exists(c.dir("fixture") / "image.json"));
}

TEST_CASE("known images carry their distribution's signature and keyring where there is one", "[image][trust]") {
    auto ubuntu = berth::resolve_pull_source("ubuntu-24.04", {});
    REQUIRE(ubuntu.has_value());
    CHECK(ubuntu->signature_url == "https://cloud-images.ubuntu.com/noble/current/SHA256SUMS.gpg");
    CHECK(ubuntu->keyring == "/usr/share/keyrings/ubuntu-cloudimage-keyring.gpg");
    auto debian = berth::resolve_pull_source("debian-12", {});
    REQUIRE(debian.has_value());
    CHECK(debian->signature_url.empty());

    PullOptions half;
    half.checksum_url = "https://example.org/SHA256SUMS";
    half.signature_url = "https://example.org/SHA256SUMS.gpg";
    CHECK(berth::resolve_pull_source("https://example.org/a.qcow2", half).error().kind == berth::ErrorKind::Usage);
    half.keyring = "/k.gpg";
    half.signature_url = "http://example.org/SHA256SUMS.gpg";
    CHECK(berth::resolve_pull_source("https://example.org/a.qcow2", half).error().kind == berth::ErrorKind::Usage);
}
