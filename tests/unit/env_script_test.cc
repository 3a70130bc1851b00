#include <berth/shell/env_script.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace berth;

namespace {

std::string golden(const std::string& name) {
    std::ifstream in(std::string(BERTH_GOLDEN_DIR) + "/env/" + name);
    REQUIRE(in.good());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

TEST_CASE("env script matches docker-machines format for every shell - set and unset", "[env]") {
    const char* shells[] = {"bash", "zsh", "fish", "powershell", "cmd", "tcsh", "emacs"};
    for (const char* shell_name : shells) {
        for (bool unset : {false, true}) {
            for (bool no_proxy : {false, true}) {
                const std::string file = std::string(shell_name) + (unset ? "-unset" : "-set") +
                                         (no_proxy ? "-noproxy" : "") + ".txt";
                CAPTURE(file);
                auto shell = parse_shell(shell_name);
                REQUIRE(shell);
                EnvRequest req;
                req.shell = *shell;
                req.unset = unset;
                req.command_line = {"berth", "env", "--shell", shell_name};
                if (unset) req.command_line.push_back("-u");
                if (no_proxy) req.command_line.push_back("--no-proxy");
                if (!unset) {
                    req.command_line.push_back("n1");
                    req.docker_host = "tcp://10.1.2.3:2376";
                    req.cert_path = "<store>/machines/n1/certs";
                    req.machine_name = "n1";
                }
                if (no_proxy) {
                    NoProxy np = no_proxy_with("", "localhost,example.com", "10.1.2.3");
                    req.no_proxy_var = np.var;
                    req.no_proxy_value = np.value;
                }
                CHECK(render_env_script(req) == golden(file));
            }
        }
    }
}

TEST_CASE("the issues bash block - byte for byte", "[env]") {
    EnvRequest req;
    req.shell = Shell::Bash;
    req.docker_host = "tcp://10.1.2.3:2376";
    req.cert_path = "/s/machines/n1";
    req.machine_name = "n1";
    req.command_line = {"berth", "env", "--shell", "bash", "n1"};
    CHECK(render_env_script(req) ==
          "export DOCKER_TLS_VERIFY=\"1\"\n"
          "export DOCKER_HOST=\"tcp://10.1.2.3:2376\"\n"
          "export DOCKER_CERT_PATH=\"/s/machines/n1\"\n"
          "export DOCKER_MACHINE_NAME=\"n1\"\n"
          "# Run this command to configure your shell:\n"
          "# eval $(berth env --shell bash n1)\n");
}

TEST_CASE("the usage hint quotes a program path with a space", "[env]") {
    EnvRequest req;
    req.shell = Shell::Bash;
    req.unset = true;
    req.command_line = {"/opt/my tools/berth", "env", "-u"};
    CHECK(render_env_script(req).ends_with("# eval $(\"/opt/my tools/berth\" env -u)\n"));
}

TEST_CASE("NO_PROXY gets the host once - as an exact entry", "[env]") {
    SECTION("empty: the host alone, in NO_PROXY") {
        NoProxy np = no_proxy_with("", "", "10.1.2.3");
        CHECK(np.var == "NO_PROXY");
        CHECK(np.value == "10.1.2.3");
    }
    SECTION("lowercase no_proxy wins when set") {
        NoProxy np = no_proxy_with("example.com", "other", "10.1.2.3");
        CHECK(np.var == "no_proxy");
        CHECK(np.value == "example.com,10.1.2.3");
    }
    SECTION("already present: unchanged") {
        CHECK(no_proxy_with("", "a, 10.1.2.3 ,b", "10.1.2.3").value == "a, 10.1.2.3 ,b");
    }
    SECTION("a longer address that contains the host is another entry (docker-machine got this wrong)") {
        CHECK(no_proxy_with("", "10.1.2.30", "10.1.2.3").value == "10.1.2.30,10.1.2.3");
    }
}

TEST_CASE("shell detection from $SHELL", "[env]") {
    CHECK(detect_shell("/bin/bash").value() == Shell::Bash);
    CHECK(detect_shell("/usr/bin/zsh").value() == Shell::Zsh);
    CHECK(detect_shell("/usr/local/bin/fish").value() == Shell::Fish);
    CHECK(detect_shell("/bin/csh").value() == Shell::Tcsh);
    CHECK(detect_shell("/bin/tcsh").value() == Shell::Tcsh);
    CHECK(detect_shell("/bin/dash").value() == Shell::Sh);
    CHECK(detect_shell("/usr/bin/pwsh").value() == Shell::PowerShell);
    auto none = detect_shell("");
    REQUIRE_FALSE(none);
    CHECK(none.error().message.find("$SHELL is not set") != std::string::npos);
    CHECK(none.error().hint.find("--shell") != std::string::npos);
    auto odd = detect_shell("/usr/bin/xonsh");
    REQUIRE_FALSE(odd);
    CHECK(odd.error().message.find("xonsh") != std::string::npos);
    auto bad = parse_shell("ksh93");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().kind == ErrorKind::Usage);
}

TEST_CASE("shell_names lists exactly what parse_shell takes", "[env]") {
    const auto& names = berth::shell_names();
    REQUIRE(names.size() == 8);
    for (const auto& name : names) CHECK(berth::parse_shell(name).has_value());
    CHECK_FALSE(berth::parse_shell("csh").has_value());
}
