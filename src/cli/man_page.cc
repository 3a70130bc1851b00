#include "man_page.h"

#include "roff.h"

#include <berth/core/error.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace berth::cli {
namespace {

std::string bold(std::string_view text) { return "\\fB" + roff_escape(text) + "\\fR"; }
std::string italic(std::string_view text) { return "\\fI" + roff_escape(text) + "\\fR"; }

/// A macro line whose one argument is text: `.SS "berth image ls"`.
std::string macro(std::string_view name, std::string_view text) {
    return "." + std::string(name) + " \"" + roff_escape(text) + "\"\n";
}

/// A paragraph of text.
std::string paragraph(std::string_view text) { return ".PP\n" + roff_escape(text) + "\n"; }

/// An indented item: TERM (already roff) on its own line, then the text under it.
std::string item(const std::string& term_roff, std::string_view text) {
    return ".TP\n" + term_roff + "\n" + roff_escape(text) + "\n";
}

/// The verbs under `app` that the page shows: named, not hidden (CLI11 hides an empty group).
std::vector<const CLI::App*> shown_verbs(const CLI::App& app) {
    return app.get_subcommands([](const CLI::App* s) { return !s->get_name().empty() && !s->get_group().empty(); });
}

std::string value_name(const CLI::Option& o) {
    const std::string type = o.get_type_name();
    return type.empty() ? "VALUE" : type;
}

/// "-d, --driver TEXT" in bold names and an italic value; a positional: its italic name.
std::string option_term(const CLI::Option& o) {
    if (!o.nonpositional()) return italic(o.get_name());
    std::string term;
    for (const auto& s : o.get_snames()) term += (term.empty() ? "" : ", ") + bold("-" + s);
    for (const auto& l : o.get_lnames()) term += (term.empty() ? "" : ", ") + bold("--" + l);
    if (o.get_items_expected_max() > 0) term += " " + italic(value_name(o));
    return term;
}

/// The option's help and what CLI11 knows besides: [required], [default: X], [env: VAR].
std::string option_text(const CLI::Option& o) {
    std::string text = o.get_description();
    if (o.get_required()) text += " [required]";
    if (!o.get_default_str().empty()) text += " [default: " + o.get_default_str() + "]";
    if (!o.get_envname().empty()) text += " [env: " + o.get_envname() + "]";
    return text;
}

/// `berth image pull [OPTIONS] [NAME]`: the path, then options, verbs and positionals.
std::string synopsis(const CLI::App& app, const std::string& path) {
    std::string line = ".B \"" + roff_escape(path) + "\"\n";
    const CLI::Option* help = app.get_help_ptr();
    bool has_options = false;
    for (const CLI::Option* o : app.get_options())
        has_options = has_options || (o->nonpositional() && o != help && !o->get_group().empty());
    if (has_options) line += "[" + italic("OPTIONS") + "]\n";
    if (!shown_verbs(app).empty()) line += italic("COMMAND") + "\n";
    for (const CLI::Option* o : app.get_options()) {
        if (o->nonpositional()) continue;
        std::string word = italic(o->get_name());
        if (o->get_items_expected_max() > 1) word += "\\&...";
        line += (o->get_required() ? word : "[" + word + "]") + "\n";
    }
    return line;
}

/// Positionals first, then each group of options in the order CLI11's --help shows them; a group
/// other than CLI11's default ("Options") gets a bold heading. -h/--help is left out but for root.
std::string option_list(const CLI::App& app, bool with_help) {
    std::string out;
    for (const CLI::Option* o : app.get_options())
        if (!o->nonpositional()) out += item(option_term(*o), option_text(*o));
    std::vector<std::string> groups;
    for (const CLI::Option* o : app.get_options())
        if (o->nonpositional() && !o->get_group().empty() &&
            std::find(groups.begin(), groups.end(), o->get_group()) == groups.end())
            groups.push_back(o->get_group());
    for (const auto& group : groups) {
        if (group != "Options") out += ".PP\n" + bold(group) + "\n";
        for (const CLI::Option* o : app.get_options()) {
            if (!o->nonpositional() || o->get_group() != group) continue;
            if (o == app.get_help_ptr() && !with_help) continue;
            out += item(option_term(*o), option_text(*o));
        }
    }
    return out;
}

/// One subsection per verb, depth first: `berth image`, then `berth image ls`, ...
void verb_sections(const CLI::App& app, const std::string& path, std::string& out) {
    out += macro("SS", path) + synopsis(app, path) + paragraph(app.get_description());
    // A verb's own footer; CLI11 copies the parent's to every verb it adds.
    const CLI::App* parent = app.get_parent();
    if (!app.get_footer().empty() && (parent == nullptr || app.get_footer() != parent->get_footer()))
        out += paragraph(app.get_footer());
    const auto verbs = shown_verbs(app);
    if (!verbs.empty()) {
        std::string names;
        for (const CLI::App* v : verbs) names += (names.empty() ? "" : ", ") + v->get_name();
        out += paragraph("Commands: " + names + ".");
    }
    out += option_list(app, false);
    for (const CLI::App* v : verbs) verb_sections(*v, path + " " + v->get_name(), out);
}

/// YYYY-MM-DD, digits and hyphens only: written as it is, so mandoc and man-db read it as a date.
bool iso_date(std::string_view text) {
    if (text.size() != 10) return false;
    for (std::size_t i = 0; i < text.size(); ++i)
        if ((i == 4 || i == 7) ? text[i] != '-' : (text[i] < '0' || text[i] > '9')) return false;
    return true;
}

std::string header(const ManPageInfo& info) {
    const std::string date = iso_date(info.date) ? info.date : roff_escape(info.date);
    return ".\\\" berth(1), generated by `berth man` from berth's own CLI definition: do not edit.\n"
           ".TH BERTH 1 \"" + date + "\" \"" + roff_escape("berth " + info.version) + "\" \"User Commands\"\n"
           ".SH NAME\n"
           "berth \\- make hardened Docker hosts\n"
           ".SH SYNOPSIS\n"
           ".B berth\n"
           "[" + italic("GLOBAL OPTIONS") + "] " + italic("COMMAND") + " [" + italic("OPTIONS") + "] [" +
           italic("ARGS") + "]\n";
}

std::string description(const CLI::App& root) {
    return ".SH DESCRIPTION\n" + roff_escape(root.get_description()) + "\n" +
           paragraph("A machine is a VM berth made (drivers libvirt and virtualbox), a host it hardened over SSH "
                     "(generic) or a host it only records (none). Docker on it listens over TLS only, and every "
                     "machine has a CA of its own, so a client certificate opens only the machine it was issued "
                     "for. eval \"$(berth env NAME)\" points the docker CLI at a machine.") +
           paragraph("A machine argument that is left out means the machine named default, as in docker-machine. "
                     "Machine names match ^[a-zA-Z0-9][a-zA-Z0-9.-]*$, at most 63 characters.") +
           paragraph("Errors are one line on standard error, berth: error: WHAT FAILED; WHAT TO DO. With --debug, "
                     "context lines (command, exit status, standard error) follow it.");
}

/// The variables of the tree's options (-s's BERTH_STORAGE_PATH), then those berth reads itself.
void environment_from_tree(const CLI::App& app, std::string& out) {
    for (const CLI::Option* o : app.get_options()) {
        if (o->get_envname().empty()) continue;
        std::string names;
        for (const auto& l : o->get_lnames()) names += (names.empty() ? "" : ", ") + ("--" + l);
        out += item(bold(o->get_envname()), "The value of " + names + " when it is not given: " + o->get_description());
    }
    for (const CLI::App* v : shown_verbs(app)) environment_from_tree(*v, out);
}

std::string environment(const CLI::App& root) {
    std::string out = ".SH ENVIRONMENT\n";
    environment_from_tree(root, out);
    const std::pair<const char*, const char*> vars[] = {
        {"BERTH_<DRIVER>_<OPTION>",
         "The value of create's --<driver>-<option> when the flag is not given, e.g. BERTH_LIBVIRT_MEMORY for "
         "--libvirt-memory (a list as comma-separated values); each option's help under create names its variable."},
        {"BERTH_AUTHZ_BINARY",
         "The berth-authz program that provisioning installs on hosts, instead of the one berth looks for beside "
         "itself and at ../lib/berth/berth-authz from its own directory."},
        {"HOME", "The default store is $HOME/.berth."},
        {"DOCKER_HOST", "Which machine is active: berth active prints it, berth ls marks it with *."},
        {"DOCKER_CONFIG", "Where the docker CLI keeps its contexts (berth context, create --context, rm); default "
                          "$HOME/.docker."},
        {"SHELL", "The shell berth env writes for when --shell is not given."},
        {"https_proxy, HTTPS_PROXY, http_proxy, all_proxy, ALL_PROXY, no_proxy, NO_PROXY",
         "Proxies for image downloads (berth image pull), as curl reads them; berth env --no-proxy adds the "
         "machine to no_proxy or NO_PROXY."},
    };
    for (const auto& [name, text] : vars) out += item(bold(name), text);
    return out;
}

std::string exit_status() {
    const std::pair<int, const char*> codes[] = {
        {k_exit_ok, "Success."},
        {k_exit_error,
         "An error: unknown machine, a failure while doing the work, a lock held by another berth, or an internal "
         "error (a bug in berth; every lock is released and a create in progress rolls back). berth audit: a scored "
         "check warns."},
        {k_exit_usage, "A usage error: bad flag, argument or machine name, bad --format template or --filter, a -s "
                       "directory that is not a store."},
        {k_exit_precreate, "The driver's pre-create check failed; nothing was made."},
    };
    std::string out = ".SH EXIT STATUS\n";
    for (const auto& [code, text] : codes) out += item(bold(std::to_string(code)), text);
    return out;
}

std::string files() {
    const std::pair<const char*, const char*> entries[] = {
        {"~/.berth", "The store (or -s DIR, or $BERTH_STORAGE_PATH); directories 0700, every file written "
                     "atomically."},
        {"~/.berth/machines/NAME/machine.json", "The machine's record (0600)."},
        {"~/.berth/machines/NAME/certs/", "DOCKER_CERT_PATH: the machine's CA certificate and the client's "
                                          "certificate and key; no key that could mint certificates."},
        {"~/.berth/machines/NAME/ca-key.pem", "The key of the machine's own CA (0600); it never leaves this host."},
        {"~/.berth/machines/NAME/known_hosts", "The machine's pinned SSH host keys."},
        {"~/.berth/locks/NAME.lock", "Held by the berth process changing that machine."},
        {"~/.berth/cache/images/", "Cached VM images (berth image)."},
        {"/usr/lib/berth/berth-authz", "berth's Docker authorization plugin, installed on every host berth "
                                       "provisions: looked for beside berth, then at ../lib/berth/ from berth's "
                                       "directory (/usr/local/lib/berth/ after cmake --install)."},
    };
    std::string out = ".SH FILES\n";
    for (const auto& [path, text] : entries) out += item(italic(path), text);
    return out;
}

std::string see_also() {
    return ".SH SEE ALSO\n"
           ".BR docker (1),\n"
           ".BR ssh (1),\n"
           ".BR virsh (1)\n" +
           paragraph("The full reference: /usr/share/doc/berth/docs/cli.md (every verb, output formats), "
                     "hardening.md (every file berth writes on a host, and why), images.md, fleet.md and "
                     "drivers/*.md beside it.");
}

}  // namespace

std::string man_page(const CLI::App& root, const ManPageInfo& info) {
    std::string out = header(info) + description(root);
    out += ".SH OPTIONS\n" + roff_escape("Global options, given before the command. Every command also takes -h, "
                                         "--help.") + "\n" + option_list(root, true);
    out += ".SH COMMANDS\n";
    for (const CLI::App* v : shown_verbs(root)) verb_sections(*v, "berth " + v->get_name(), out);
    return out + environment(root) + files() + exit_status() + see_also();
}

}  // namespace berth::cli
