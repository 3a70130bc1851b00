// berth config: the docker CLI flags for a machine, exactly as docker-machine prints them, e.g.
// docker $(berth config n1) ps

#include "app.h"

namespace berth::cli {

void add_config(CLI::App& app, Context& ctx) {
    add_machine_text_verb(app, ctx, "config", "Print the docker CLI flags that reach a machine",
                          [](Services& services, Machine& machine) -> Result<std::string> {
                              if (auto ok = require_running(machine); !ok) return std::unexpected(ok.error());
                              auto url = machine.driver->docker_url();
                              if (!url) return std::unexpected(url.error());
                              const auto tls = machine_tls(services.store(), machine.record.name);
                              return "--tlsverify\n--tlscacert=\"" + tls.ca.string() + "\"\n--tlscert=\"" +
                                     tls.cert.string() + "\"\n--tlskey=\"" + tls.key.string() + "\"\n-H=" + *url;
                          });
}

}  // namespace berth::cli
