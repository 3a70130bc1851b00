// berth completion bash|zsh|fish: print a completion script for that shell, generated from this
// very CLI definition (src/cli/completion_script.h), so it cannot drift from the verbs.

#include "app.h"
#include "completion_hint.h"
#include "completion_script.h"

#include <iostream>

namespace berth::cli {

void add_completion(CLI::App& app, Context& ctx) {
    auto shell = std::make_shared<std::string>();
    auto* sub = app.add_subcommand("completion", "Print a shell completion script: bash, zsh or fish");
    sub->add_option("shell", *shell, "bash, zsh or fish")->required()->check(completes_words({"bash", "zsh", "fish"}));
    sub->callback([&app, &ctx, shell] {
        set_action(ctx, [&app, shell]() -> Result<void> {
            auto model = completion_model(app);
            if (*shell == "bash") std::cout << bash_completion(model);
            else if (*shell == "zsh") std::cout << zsh_completion(model);
            else if (*shell == "fish") std::cout << fish_completion(model);
            else return fail_usage("unknown shell \"" + *shell + "\"", "berth completion takes bash, zsh or fish");
            return {};
        });
    });
}

}  // namespace berth::cli
