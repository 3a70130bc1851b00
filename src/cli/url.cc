// berth url: the Docker daemon URL of a machine.

#include "app.h"

namespace berth::cli {

void add_url(CLI::App& app, Context& ctx) {
    add_machine_item_verb(app, ctx,
                          {.verb = "url",
                           .help = "Print the Docker daemon URL of a machine",
                           .fields = {"Name", "URL"},
                           .item = [](Services&, Machine& machine) -> Result<nlohmann::json> {
                               if (auto ok = require_running(machine); !ok) return std::unexpected(ok.error());
                               auto url = machine.driver->docker_url();
                               if (!url) return std::unexpected(url.error());
                               return nlohmann::json{{"Name", machine.record.name}, {"URL", *url}};
                           },
                           .text = [](const nlohmann::json& item) -> Result<std::string> {
                               return item["URL"].get<std::string>();
                           }});
}

}  // namespace berth::cli
