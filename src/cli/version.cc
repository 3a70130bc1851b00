// berth version: berth's own version, or the Docker version recorded for a machine.

#include "app.h"

#include <berth/core/version.h>

namespace berth::cli {

void add_version(CLI::App& app, Context& ctx) {
    add_machine_text_verb(
        app, ctx, "version", "Print berth's version, or the Docker version of a machine",
        [](Services&, Machine& machine) -> Result<std::string> {
            if (machine.record.docker_version.empty())
                return fail("the Docker version of \"" + machine.record.name + "\" is not known",
                            "berth records it when it provisions a machine; machines of the none driver "
                            "are not provisioned");
            return machine.record.docker_version;
        },
        [] { return "berth version " + std::string(version()) + ", build " + std::string(git_revision()); });
}

}  // namespace berth::cli
