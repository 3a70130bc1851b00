#include <berth/drivers/virtualbox/vboxmanage.h>

#include <berth/core/text.h>

#include <spdlog/spdlog.h>

#include <cctype>
#include <sstream>
#include <thread>

namespace berth::virtualbox {

namespace {

std::string unquote(std::string_view s) {
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return std::string(s.substr(1, s.size() - 2));
    return std::string(s);
}

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto eol = text.find('\n', pos);
        if (eol == std::string_view::npos) eol = text.size();
        std::string_view line = text.substr(pos, eol - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        out.push_back(line);
        pos = eol + 1;
    }
    return out;
}

/// VBoxManage's own words for what went wrong: its "error:" lines without the prefix, the
/// Details/Context lines left out ("" if it printed none).
std::string error_text(std::string_view err) {
    std::string out;
    for (auto line : lines_of(err)) {
        auto at = line.find("error: ");
        if (at == std::string_view::npos) continue;
        std::string text(trim(line.substr(at + 7)));
        if (text.empty() || text.starts_with("Details: ") || text.starts_with("Context: ")) continue;
        out += (out.empty() ? "" : "; ") + text;
    }
    return out;
}

bool has_error(std::string_view err) { return err.find("error:") != std::string_view::npos; }

bool not_ready(std::string_view err) { return err.find("The object is not ready") != std::string_view::npos; }

bool not_found(std::string_view err) {
    return err.find("VBOX_E_OBJECT_NOT_FOUND") != std::string_view::npos ||
           err.find("Could not find a registered machine") != std::string_view::npos;
}

}  // namespace

Result<VBoxVersion> parse_version(std::string_view out) {
    const std::string text(trim(out));
    VBoxVersion v;
    v.text = text;
    int* parts[] = {&v.major, &v.minor, &v.build};
    std::size_t pos = 0;
    for (int i = 0; i < 3; ++i) {
        if (pos >= text.size() || !std::isdigit(static_cast<unsigned char>(text[pos])))
            return fail("VBoxManage --version printed \"" + text + "\", not a version",
                        "check the VirtualBox installation (`VBoxManage --version`)");
        int n = 0;
        while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])) && n < 100000)
            n = n * 10 + (text[pos++] - '0');
        *parts[i] = n;
        if (i < 2) {
            if (pos >= text.size() || text[pos] != '.')
                return fail("VBoxManage --version printed \"" + text + "\", not a version",
                            "check the VirtualBox installation (`VBoxManage --version`)");
            ++pos;
        }
    }
    return v;
}

std::map<std::string, std::string> parse_machinereadable(std::string_view out) {
    std::map<std::string, std::string> values;
    for (auto line : lines_of(out)) {
        auto eq = line.find('=');
        if (eq == std::string_view::npos || eq == 0) continue;
        values[unquote(line.substr(0, eq))] = unquote(line.substr(eq + 1));
    }
    return values;
}

std::vector<VmListing> parse_vm_list(std::string_view out) {
    std::vector<VmListing> vms;
    for (auto line : lines_of(out)) {
        // "name" {uuid}: the name may itself hold quotes and braces, so take the uuid from the end.
        auto open = line.rfind(" {");
        if (line.size() < 4 || line.front() != '"' || open == std::string_view::npos || line.back() != '}') continue;
        if (open < 1 || line[open - 1] != '"') continue;
        vms.push_back({std::string(line.substr(1, open - 2)),
                       std::string(line.substr(open + 2, line.size() - open - 3))});
    }
    return vms;
}

std::vector<std::map<std::string, std::string>> parse_blocks(std::string_view out) {
    std::vector<std::map<std::string, std::string>> blocks;
    std::map<std::string, std::string> current;
    for (auto line : lines_of(out)) {
        if (trim(line).empty()) {
            if (!current.empty()) blocks.push_back(std::move(current));
            current.clear();
            continue;
        }
        if (line.starts_with(" ") || line.starts_with("\t")) continue;  // nested (DHCP options)
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        current[std::string(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
    }
    if (!current.empty()) blocks.push_back(std::move(current));
    return blocks;
}

std::string find_hostonly_if(std::string_view list_output, const std::string& ip, const std::string& mask) {
    for (const auto& block : parse_blocks(list_output)) {
        auto found_ip = block.find("IPAddress");
        auto found_mask = block.find("NetworkMask");
        auto name = block.find("Name");  // a block without one names no adapter
        if (found_ip != block.end() && found_ip->second == ip && found_mask != block.end() &&
            found_mask->second == mask && name != block.end() && !name->second.empty())
            return name->second;
    }
    return {};
}

Result<CommandResult> VBoxManage::run(const std::vector<std::string>& args,
                                      std::optional<std::chrono::milliseconds> timeout) const {
    Command command;
    command.argv = {m_options.program};
    command.argv.insert(command.argv.end(), args.begin(), args.end());
    command.timeout = timeout.value_or(m_options.timeout);
    const std::string what = "VBoxManage " + (args.empty() ? std::string() : args.front());
    for (int attempt = 1;; ++attempt) {
        spdlog::debug("running {}", format_argv(command.argv));
        auto result = m_runner.run(command);
        if (!result) {
            Error e = result.error();
            if (e.message.find("not found") != std::string::npos || e.message.find("No such file") != std::string::npos)
                return fail_kind(ErrorKind::Failed,
                                 "VBoxManage was not found (" + m_options.program + "): VirtualBox is not installed here",
                                 "install VirtualBox 6.1 or later, or put the folder that holds VBoxManage on PATH");
            return std::unexpected(e);
        }
        if (result->timed_out)
            return fail(what + " did not finish in " +
                            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(command.timeout).count()) +
                            " s",
                        "VirtualBox may be hung; check `VBoxManage list runningvms`");
        if (result->exit_status == 0 && !has_error(result->err)) return result;
        if (not_ready(result->err) && attempt < m_options.attempts) {
            spdlog::debug("{}: the object is not ready (attempt {} of {}); retrying", what, attempt, m_options.attempts);
            std::this_thread::sleep_for(m_options.retry_delay * attempt);
            continue;
        }
        spdlog::debug("{} failed (exit {}): {}", format_argv(command.argv), result->exit_status, result->err);
        std::string text = error_text(result->err);
        if (text.empty()) text = trim(result->err.empty() ? result->out : result->err);
        if (text.empty()) text = "exit status " + std::to_string(result->exit_status);
        const ErrorKind kind = not_found(result->err) ? ErrorKind::NotFound : ErrorKind::Failed;
        std::string hint = not_ready(result->err)
                               ? "VirtualBox kept the machine locked for " + std::to_string(m_options.attempts) +
                                     " attempts; wait for other VirtualBox tools (the GUI) to let go, then try again"
                               : "run it with --debug to see the whole VBoxManage call";
        return fail_kind(kind, what + " failed: " + text, hint);
    }
}

}  // namespace berth::virtualbox
