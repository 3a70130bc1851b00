// berth status: the live state of a machine, as its driver reports it.

#include "app.h"

namespace berth::cli {

void add_status(CLI::App& app, Context& ctx) {
    add_machine_text_verb(app, ctx, "status", "Print the state of a machine (Running, Stopped...)",
                          [](Services&, Machine& machine) -> Result<std::string> {
                              auto state = machine.driver->state();
                              if (!state) return std::unexpected(state.error());
                              return std::string(to_string(*state));
                          });
}

}  // namespace berth::cli
