// berth image build: the mirrors are checked as plain http(s) URLs before anything is made, and
// the build script's text holds no value: the whole script runs here with a fake debootstrap,
// mke2fs and qemu-img on PATH, and values full of shell characters arrive literally.

#include <berth/image/image_builder.h>
#include <berth/process/runner.h>
#include <berth/provision/templates.h>
#include <berth/store/atomic_file.h>

#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <sstream>

using namespace berth;

TEST_CASE("a mirror must be a plain http or https URL", "[image][security]") {
    for (const std::string good : {"http://deb.debian.org/debian", "https://mirror.example.com:8443/debian/",
                                   "http://192.0.2.1/debian", "http://[2001:db8::1]:3142/debian",
                                   "http://apt-cacher:3142/deb.debian.org/debian", "http://mirror.example.com",
                                   "http://m.example.com/a%20b/~x/debian+1,y=z@v"}) {
        CAPTURE(good);
        CHECK(check_mirror_url(good, "--mirror"));
    }
    for (const std::string bad :
         {"http://x\";id;\"", "ftp://x/debian", "file:///srv/debian", "http://x/debian id", "http://x/$(id)",
          "http://x/`id`", "http://x/a'b", "http://x/a\"b", "http://x/a\\b", "http://x/a;id", "http://x/a&id",
          "http://x/a|id", "http://user:pw@x/debian", "http://x/debian?q=1", "http://x/debian#f", "http://-oProxy/",
          "http://x:0/", "http://x:99999/", "http://x:/", "http://x/a\nb", "http://x/a\tb", "http://", "http:///debian",
          "-http://x", " http://x", "http://x/%zz", "http://[::1/", "http://[x]/", "HTTP://x/", "http://x y/"}) {
        CAPTURE(bad);
        auto r = check_mirror_url(bad, "--mirror");
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::Usage);
        CHECK(r.error().message.starts_with("--mirror must be an http:// or https:// URL"));
        CHECK(r.error().message.find('\n') == std::string::npos);
    }
}

TEST_CASE("build options are checked before anything is made", "[image][security]") {
    BuildOptions o;
    CHECK(check_build_options(o));
    o.security_mirror = "http://x/$(id)";
    auto bad_security = check_build_options(o);
    REQUIRE_FALSE(bad_security);
    CHECK(bad_security.error().message.starts_with("--security-mirror must be"));
    o = {};
    o.name = "ubuntu-24.04";
    CHECK_FALSE(check_build_options(o));

    // build_image refuses before it makes the cache's build directory or runs anything.
    test::TempDir dir;
    ImageCache cache(dir / "images");
    struct NoRunner final : Runner {
        int calls = 0;
        Result<CommandResult> run(const Command&) override {
            ++calls;
            return CommandResult{};
        }
    } runner;
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    o = {};
    o.mirror = "http://x\";id;\"";
    auto r = build_image(cache, runner, *templates, o);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::Usage);
    CHECK(runner.calls == 0);
    CHECK_FALSE(std::filesystem::exists(dir / "images"));
}

TEST_CASE("the build script's text carries no value - every value comes from the environment", "[image][security]") {
    for (const auto& t : embedded_templates()) {
        if (t.name != "image-build-debian.sh") continue;
        CHECK(t.content.find("{{") == std::string_view::npos);
    }
    auto templates = TemplateSet::load();
    REQUIRE(templates);
    // Whatever a caller would put in the context, the script's text stays the same.
    auto empty = templates->render("image-build-debian.sh", nlohmann::json::object());
    auto hostile = templates->render("image-build-debian.sh",
                                     {{"suite", "MARK-suite"}, {"mirror", "MARK-mirror"}, {"security_mirror", "MARK-sec"}});
    REQUIRE(empty);
    REQUIRE(hostile);
    CHECK(*empty == *hostile);
    CHECK(hostile->find("MARK") == std::string::npos);
    const Command c = build_script_command(*empty, "/out", "bookworm", "http://m/debian", "http://m/debian-security");
    CHECK(c.argv == std::vector<std::string>{"bash", "-s"});
    CHECK(c.stdin_data == *empty);
    CHECK(c.env_set == std::map<std::string, std::string>{{"OUT", "/out"}, {"SUITE", "bookworm"},
                                                          {"MIRROR", "http://m/debian"},
                                                          {"SECURITY_MIRROR", "http://m/debian-security"}});
}

TEST_CASE("the whole build script with fake tools: values with shell characters arrive literally", "[image][security]") {
    test::TempDir dir;
    const auto bin = dir / "bin";
    const auto log = dir / "log";
    const auto out = dir / "out";
    std::filesystem::create_directories(log);
    std::filesystem::create_directories(out);
    // debootstrap: records its arguments and makes the few files the script reads.
    test::write_text(bin / "debootstrap", R"(#!/bin/bash
printf '%s\0' "$@" > "$FAKE_LOG/debootstrap.args"
R="${@: -2:1}"
mkdir -p "$R/boot" "$R/etc/apt" "$R/etc/network" "$R/etc/systemd/system" "$R/var/lib/dbus" "$R/var/cache/apt/archives"
touch "$R/boot/vmlinuz-6.1.0" "$R/boot/initrd.img-6.1.0"
)");
    // mke2fs -q -F -t ext4 -L root -d ROOT DISK SIZE: keeps the sources.list the image would get.
    test::write_text(bin / "mke2fs", R"(#!/bin/bash
set -e
cp "$8/etc/apt/sources.list" "$FAKE_LOG/sources.list"
[ -f "$8/var/lib/berth/apt-lists-updated" ] && touch "$FAKE_LOG/lists-stamp"
ls "$8/etc/systemd/system" > "$FAKE_LOG/masked"
ls "$8/etc/systemd/system/multi-user.target.wants" > "$FAKE_LOG/wants"
[ -x "$8/usr/local/lib/berth/firstboot" ] && cp "$8/usr/local/lib/berth/firstboot" "$FAKE_LOG/firstboot"
touch "$9"
)");
    test::write_text(bin / "qemu-img", "#!/bin/bash\ntouch \"${@: -1}\"\n");
    // chroot ROOT apt-get ... update: the image's lists are updated at build time.
    test::write_text(bin / "chroot", "#!/bin/bash\nprintf '%s\\0' \"${@:2}\" > \"$FAKE_LOG/chroot.args\"\n");
    for (const char* tool : {"debootstrap", "mke2fs", "qemu-img", "chroot"})
        std::filesystem::permissions(bin / tool, std::filesystem::perms::owner_all);

    auto templates = TemplateSet::load();
    REQUIRE(templates);
    auto script = templates->render("image-build-debian.sh", nlohmann::json::object());
    REQUIRE(script);
    // Values no check would let through, to show the script never evaluates them.
    const std::string mirror = "http://x/$(touch pwned1)/`touch pwned2`/\";touch pwned3;\"/'q'/\\/%s";
    const std::string security = "http://y/$(touch pwned4) ; touch pwned5";
    Command c = build_script_command(*script, out, "bookworm", mirror, security);
    const char* path = std::getenv("PATH");
    c.env_set["PATH"] = bin.string() + ":" + (path ? path : "/usr/bin:/bin");
    c.env_set["FAKE_LOG"] = log.string();
    c.cwd = dir.path().string();
    c.timeout = std::chrono::seconds(60);
    ProcessRunner runner;
    auto r = runner.run(c);
    REQUIRE(r);
    INFO(r->out << r->err);
    CHECK(r->exit_status == 0);
    for (const char* marker : {"pwned1", "pwned2", "pwned3", "pwned4", "pwned5"}) {
        CAPTURE(marker);
        CHECK_FALSE(std::filesystem::exists(dir / marker));
        CHECK_FALSE(std::filesystem::exists(out / marker));
    }
    auto args = read_file(log / "debootstrap.args");
    REQUIRE(args);
    const std::string tail = std::string("\0", 1) + "bookworm" + '\0';
    CHECK(args->find(tail) != std::string::npos);
    CHECK(args->ends_with('\0' + mirror + '\0'));
    CHECK(read_file(log / "sources.list").value() ==
          "deb " + mirror + " bookworm main\ndeb " + mirror + " bookworm-updates main\ndeb " + security +
              " bookworm-security main\n");
    CHECK(read_file(log / "chroot.args").value() == std::string("apt-get\0-o\0Acquire::Retries=5\0update\0-q\0", 40));
    CHECK(std::filesystem::exists(log / "lists-stamp"));
    const std::string masked = read_file(log / "masked").value();
    for (const char* unit : {"apt-daily.timer", "e2scrub_reap.service", "berth-firstboot.service"})
        CHECK(masked.find(unit) != std::string::npos);
    // No cloud-init: the first boot is berth-firstboot.service, enabled, running the seed's script.
    CHECK(args->find("cloud-init") == std::string::npos);
    CHECK(read_file(log / "wants").value() == "berth-firstboot.service\n");
    CHECK(read_file(log / "firstboot").value().find("sh /run/berth-seed/berth-firstboot.sh") != std::string::npos);
    CHECK(std::filesystem::exists(out / "disk.qcow2"));
    CHECK(std::filesystem::exists(out / "vmlinuz"));
    CHECK(std::filesystem::exists(out / "initrd.img"));
}
