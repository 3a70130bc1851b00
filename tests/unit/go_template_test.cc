#include <berth/core/go_template.h>

#include <catch2/catch.hpp>

using namespace berth;

namespace {

std::string render(const std::string& tmpl, const nlohmann::json& data) {
    auto t = GoTemplate::parse(tmpl);
    REQUIRE(t);
    auto out = t->render(data);
    REQUIRE(out);
    return *out;
}

}  // namespace

TEST_CASE("template fields - nested fields and json", "[template]") {
    nlohmann::json data = {{"name", "n1"},
                           {"driver_name", "none"},
                           {"driver", {{"url", "tcp://1.2.3.4:2376"}}},
                           {"engine", {{"port", 2376}, {"labels", {"a=b"}}}}};
    CHECK(render("{{.Name}}", data) == "n1");
    CHECK(render("{{ .DriverName }}/{{.name}}", data) == "none/n1");
    CHECK(render("{{.Driver.URL}}", data) == "tcp://1.2.3.4:2376");
    CHECK(render("{{.Engine.Port}}", data) == "2376");
    CHECK(render("{{json .Engine.Labels}}", data) == "[\"a=b\"]");
    CHECK(render("{{json .Driver}}", data) == "{\"url\":\"tcp://1.2.3.4:2376\"}");
    CHECK(render("plain text", data) == "plain text");
}

TEST_CASE("template errors name the problem", "[template]") {
    auto unclosed = GoTemplate::parse("{{.Name");
    REQUIRE_FALSE(unclosed);
    CHECK(unclosed.error().kind == ErrorKind::Usage);

    auto bad = GoTemplate::parse("{{Name}}");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("{{Name}}") != std::string::npos);

    auto t = GoTemplate::parse("{{.Nope}}");
    REQUIRE(t);
    auto out = t->render(nlohmann::json{{"name", "n1"}});
    REQUIRE_FALSE(out);
    CHECK(out.error().message.find("Nope") != std::string::npos);
    CHECK(out.error().hint.find("name") != std::string::npos);
}
