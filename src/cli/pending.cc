// Verbs whose implementation has not landed yet. They are listed in --help with what they will
// do, and say plainly that this berth cannot do it yet (exit 1) rather than pretend.

#include "app.h"

namespace berth::cli {
namespace {

struct Pending {
    const char* name;
    const char* help;
    const char* needs;
};

}  // namespace

void add_pending(CLI::App& app, Context& ctx) {
    static const Pending verbs[] = {
        {"image", "Manage cached VM images: ls, pull, build, rm (not yet available)", "the libvirt driver"},
    };
    for (const auto& verb : verbs) {
        auto* sub = app.add_subcommand(verb.name, verb.help);
        sub->allow_extras();
        sub->callback([&ctx, &verb] {
            set_action(ctx, [&verb]() -> Result<void> {
                return fail(std::string("`berth ") + verb.name + "` is not available in this version of berth",
                            std::string("it comes with ") + verb.needs + "; see docs/cli.md");
            });
        });
    }
}

}  // namespace berth::cli
