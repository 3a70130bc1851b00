#include <berth/driver/tool_probe.h>

#include <cctype>

namespace berth {

namespace {

bool digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

std::string joined(const std::vector<int>& numbers) {
    std::string out;
    for (int n : numbers) out += (out.empty() ? "" : ".") + std::to_string(n);
    return out;
}

}  // namespace

bool ToolVersion::at_least(const std::vector<int>& minimum) const {
    for (std::size_t i = 0; i < minimum.size(); ++i) {
        const int have = i < numbers.size() ? numbers[i] : 0;
        if (have != minimum[i]) return have > minimum[i];
    }
    return true;
}

std::optional<ToolVersion> parse_tool_version(std::string_view output) {
    for (std::size_t start = 0; start < output.size(); ++start) {
        if (!digit(output[start]) || (start > 0 && digit(output[start - 1]))) continue;
        ToolVersion v;
        std::size_t pos = start;
        while (pos < output.size() && digit(output[pos])) {
            int n = 0;
            while (pos < output.size() && digit(output[pos]) && n < 100000) n = n * 10 + (output[pos++] - '0');
            v.numbers.push_back(n);
            if (pos + 1 < output.size() && output[pos] == '.' && digit(output[pos + 1])) ++pos;
            else break;
        }
        if (v.numbers.size() < 2) continue;
        v.text = std::string(output.substr(start, pos - start));
        return v;
    }
    return std::nullopt;
}

Result<std::optional<ToolVersion>> probe_tool(Runner& runner, const ToolProbe& probe) {
    const std::string hint = !probe.hint.empty() ? probe.hint : "install the Debian package " + probe.package;
    Command command;
    command.argv = {probe.program};
    command.argv.insert(command.argv.end(), probe.version_args.begin(), probe.version_args.end());
    command.timeout = std::chrono::seconds(10);
    auto ran = runner.run(command);
    if (!ran || ran->exit_status != 0)
        return fail_kind(ErrorKind::PrecreateCheck, !probe.missing.empty() ? probe.missing : probe.program + " is missing",
                         hint);
    auto version = parse_tool_version(ran->out + "\n" + ran->err);
    if (probe.minimum.empty()) return version;
    if (!version)
        return fail_kind(ErrorKind::PrecreateCheck,
                         probe.program + " printed no version berth can read (it needs " + joined(probe.minimum) +
                             " or later)",
                         hint);
    if (!version->at_least(probe.minimum))
        return fail_kind(ErrorKind::PrecreateCheck,
                         probe.program + " " + version->text + " is too old: berth needs " + joined(probe.minimum) +
                             " or later",
                         hint);
    return version;
}

}  // namespace berth
