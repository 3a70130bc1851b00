#pragma once
/// `berth completion`'s scripts, generated from the CLI11 tree itself: every verb and nested verb,
/// every option's names and whether it takes a value, and what values complete where (the marks
/// of completion_hint.h). Machine and image names are asked of berth while completing
/// (`berth ls -q`, `berth image ls -q`). Every word put into a script goes through the quoting
/// function for that shell (shell_quote for bash and zsh, quote_fish for fish). Pure: no I/O.

#include "completion_hint.h"

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace berth::cli {

/// One option as completion sees it.
struct CompletionOption {
    std::vector<std::string> names;  ///< "-d", "--driver"
    bool takes_value = false;
    std::string help;
    CompletionHint hint;
};

/// One verb (or the root): its path ("berth", "berth image ls"), what follows it.
struct CompletionCommand {
    std::string path;
    std::string help;
    std::vector<CompletionOption> options;
    std::vector<std::pair<std::string, std::string>> subcommands;  ///< name, help
    CompletionHint positional;  ///< the first marked positional's hint
};

/// The root and every verb under it, root first, parents before their verbs.
[[nodiscard]] std::vector<CompletionCommand> completion_model(const CLI::App& root);

/// The scripts. bash: `complete -F _berth berth`; zsh: a #compdef file (autoloaded from fpath,
/// or sourced after compinit); fish: `complete -c berth` lines.
[[nodiscard]] std::string bash_completion(const std::vector<CompletionCommand>& model);
[[nodiscard]] std::string zsh_completion(const std::vector<CompletionCommand>& model);
[[nodiscard]] std::string fish_completion(const std::vector<CompletionCommand>& model);

}  // namespace berth::cli
