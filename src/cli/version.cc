// berth version: berth's own version (the client), or the Docker version recorded for a machine.
// As JSON: {"Version", "GitRevision"}, with a machine also {"Name", "DockerVersion"} ("" until
// berth has provisioned it).

#include "app.h"

#include <berth/core/version.h>

namespace berth::cli {
namespace {

nlohmann::json client_item() { return {{"Version", std::string(version())}, {"GitRevision", std::string(git_revision())}}; }

Result<std::string> version_text(const nlohmann::json& item) {
    if (!item.contains("Name"))
        return "berth version " + item["Version"].get<std::string>() + ", build " + item["GitRevision"].get<std::string>();
    const std::string docker = item["DockerVersion"];
    if (docker.empty())
        return fail("the Docker version of \"" + item["Name"].get<std::string>() + "\" is not known",
                    "berth records it when it provisions a machine; machines of the none driver are not provisioned");
    return docker;
}

}  // namespace

void add_version(CLI::App& app, Context& ctx) {
    add_machine_item_verb(app, ctx,
                          {.verb = "version",
                           .help = "Print berth's version, or the Docker version of a machine",
                           .fields = {"Version", "GitRevision", "Name", "DockerVersion"},
                           .item = [](Services&, Machine& machine) -> Result<nlohmann::json> {
                               nlohmann::json item = client_item();
                               item["Name"] = machine.record.name;
                               item["DockerVersion"] = machine.record.docker_version;
                               return item;
                           },
                           .text = version_text,
                           .without_name = client_item});
}

}  // namespace berth::cli
