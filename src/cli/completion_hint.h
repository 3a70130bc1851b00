#pragma once
/// What a word of the command line completes to, kept on the CLI definition itself: a verb marks
/// an option or positional with `->check(completes_machines())` (or images, or fixed words), and
/// `berth completion` reads the mark back when it walks the CLI11 tree. The mark is a CLI11
/// Validator that accepts every value and has no description, so it changes neither parsing nor
/// --help.

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace berth::cli {

struct CompletionHint {
    enum class Kind { None, Machine, Image, Words };
    Kind kind = Kind::None;
    std::vector<std::string> words;  ///< Kind::Words: the values offered
};

/// Marks a value as a machine name (offered from `berth ls -q` while completing).
[[nodiscard]] CLI::Validator completes_machines();
/// Marks a value as a cached image's name (offered from `berth image ls -q`).
[[nodiscard]] CLI::Validator completes_images();
/// Marks a value as one of `words` (no check: the verb still validates what it is given).
[[nodiscard]] CLI::Validator completes_words(const std::vector<std::string>& words);

/// The mark on `option`; Kind::None when it has none.
[[nodiscard]] CompletionHint completion_hint(const CLI::Option& option);

}  // namespace berth::cli
