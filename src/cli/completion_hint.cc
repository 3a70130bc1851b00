#include "completion_hint.h"

#include <sstream>

namespace berth::cli {
namespace {

constexpr const char* k_machine = "completes:machine";
constexpr const char* k_image = "completes:image";
constexpr const char* k_words = "completes:words:";  // then the words, each followed by '\n'

CLI::Validator mark(std::string name) {
    return CLI::Validator([](std::string&) { return std::string(); }, "", std::move(name));
}

}  // namespace

CLI::Validator completes_machines() { return mark(k_machine); }
CLI::Validator completes_images() { return mark(k_image); }

CLI::Validator completes_words(const std::vector<std::string>& words) {
    std::string name = k_words;
    for (const auto& w : words) name += w + "\n";
    return mark(name);
}

CompletionHint completion_hint(const CLI::Option& option) {
    // CLI11 2.1 has no const way to list an option's validators; looking one up does not change it.
    auto& opt = const_cast<CLI::Option&>(option);
    for (int i = 0;; ++i) {
        const CLI::Validator* v = nullptr;
        try {
            v = opt.get_validator(i);
        } catch (const CLI::OptionNotFound&) {
            return {};
        }
        const std::string& name = v->get_name();
        if (name == k_machine) return {CompletionHint::Kind::Machine, {}};
        if (name == k_image) return {CompletionHint::Kind::Image, {}};
        if (name.starts_with(k_words)) {
            CompletionHint hint{CompletionHint::Kind::Words, {}};
            std::istringstream in(name.substr(std::string_view(k_words).size()));
            for (std::string w; std::getline(in, w);) hint.words.push_back(w);
            return hint;
        }
    }
}

}  // namespace berth::cli
