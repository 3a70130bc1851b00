// berth status: the live state of a machine, as its driver reports it.

#include "app.h"

namespace berth::cli {

void add_status(CLI::App& app, Context& ctx) {
    add_machine_item_verb(app, ctx,
                          {.verb = "status",
                           .help = "Print the state of a machine (Running, Stopped...)",
                           .fields = {"Name", "State"},
                           .item = [](Services&, Machine& machine) -> Result<nlohmann::json> {
                               auto state = machine.driver->state();
                               if (!state) return std::unexpected(state.error());
                               return nlohmann::json{{"Name", machine.record.name},
                                                     {"State", std::string(to_string(*state))}};
                           },
                           .text = [](const nlohmann::json& item) -> Result<std::string> {
                               return item["State"].get<std::string>();
                           }});
}

}  // namespace berth::cli
