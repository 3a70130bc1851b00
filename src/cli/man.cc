// berth man: print berth(1) as roff, generated from this very CLI definition (man_page.h). Hidden
// from --help and completion: the build writes the page and installs it, `man berth` reads it.

#include "app.h"
#include "man_page.h"

#include <berth/core/version.h>

#include <iostream>

namespace berth::cli {

void add_man(CLI::App& app, Context& ctx) {
    auto date = std::make_shared<std::string>();
    auto* sub = app.add_subcommand("man", "Print berth's man page, berth(1), as roff (man -l - reads it)");
    sub->group("");  // hidden
    sub->add_option("--date", *date, "The page's date, YYYY-MM-DD (the build passes the configure date)");
    sub->callback([&app, &ctx, date] {
        set_action(ctx, [&app, date]() -> Result<void> {
            std::cout << man_page(app, {std::string(version()), *date});
            return {};
        });
    });
}

}  // namespace berth::cli
