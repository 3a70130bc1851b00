// berth url: the Docker daemon URL of a machine.

#include "app.h"

namespace berth::cli {

void add_url(CLI::App& app, Context& ctx) {
    add_machine_text_verb(app, ctx, "url", "Print the Docker daemon URL of a machine",
                          [](Services&, Machine& machine) -> Result<std::string> {
                              if (auto ok = require_running(machine); !ok) return std::unexpected(ok.error());
                              return machine.driver->docker_url();
                          });
}

}  // namespace berth::cli
