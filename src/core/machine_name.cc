#include <berth/core/machine_name.h>

#include <cctype>

namespace berth {

Result<void> validate_machine_name(std::string_view name) {
    const char* rule =
        "a name starts with a letter or digit and has only letters, digits, '.' and '-'";
    if (name.empty()) return fail_usage("machine name is empty", rule);
    if (name.size() > k_max_machine_name)
        return fail_usage("machine name \"" + std::string(name) + "\" is longer than " +
                              std::to_string(k_max_machine_name) + " characters",
                          "it becomes the host name; choose a shorter one");
    auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
    bool ok = alnum(name.front());
    for (char c : name) ok = ok && (alnum(c) || c == '.' || c == '-');
    if (!ok) return fail_usage("invalid machine name \"" + std::string(name) + "\"", rule);
    return {};
}

}  // namespace berth
