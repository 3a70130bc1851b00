#include "completion_script.h"

#include <berth/core/escape.h>
#include <berth/shell/shell_quote.h>

namespace berth::cli {
namespace {

using Kind = CompletionHint::Kind;

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

void walk(const CLI::App& app, const std::string& path, std::vector<CompletionCommand>& out) {
    CompletionCommand cmd{path, first_line(app.get_description()), {}, {}, {}};
    for (const CLI::Option* o : app.get_options()) {
        if (!o->nonpositional()) {
            if (cmd.positional.kind == Kind::None) cmd.positional = completion_hint(*o);
            continue;
        }
        CompletionOption opt;
        for (const auto& s : o->get_snames()) opt.names.push_back("-" + s);
        for (const auto& l : o->get_lnames()) opt.names.push_back("--" + l);
        opt.takes_value = o->get_items_expected_max() > 0;  // a flag expects 0
        opt.help = first_line(o->get_description());
        opt.hint = completion_hint(*o);
        cmd.options.push_back(std::move(opt));
    }
    // Named verbs that are not hidden (CLI11 hides an empty group, as `berth man`).
    auto subs = app.get_subcommands(
        [](const CLI::App* s) { return !s->get_name().empty() && !s->get_group().empty(); });
    for (const CLI::App* s : subs) cmd.subcommands.emplace_back(s->get_name(), first_line(s->get_description()));
    out.push_back(std::move(cmd));
    for (const CLI::App* s : subs) walk(*s, path + " " + s->get_name(), out);
}

// ---- bash and zsh: one function, __berth_candidates, that both shells run ----

/// 'a'|'b'|'c' (a case pattern), each word through shell_quote.
std::string sh_alternatives(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) out += (out.empty() ? "" : "|") + shell_quote(w);
    return out;
}

/// 'a' 'b' 'c' (array elements), each word through shell_quote.
std::string sh_words(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) out += (out.empty() ? "" : " ") + shell_quote(w);
    return out;
}

/// What a hint offers, as shell statements: fixed words into `all`, or the kind to ask berth for.
std::string sh_offer(const CompletionHint& hint) {
    switch (hint.kind) {
        case Kind::Machine: return "kind=machine;";
        case Kind::Image: return "kind=image;";
        case Kind::Words: return "all+=(" + sh_words(hint.words) + ");";
        case Kind::None: break;
    }
    return "";
}

/// The case branches: verbs that extend the path, options that take the next word, what each
/// option's value offers, each command's options, each command's verbs and positional values.
struct ShCases {
    std::vector<std::string> verbs, valued;
    std::string values, dashed, plain;
};

ShCases sh_cases(const std::vector<CompletionCommand>& model) {
    ShCases c;
    for (const auto& cmd : model) {
        std::vector<std::string> names, subs;
        for (const auto& [name, help] : cmd.subcommands) {
            c.verbs.push_back(cmd.path + " " + name);
            subs.push_back(name);
        }
        for (const auto& opt : cmd.options) {
            names.insert(names.end(), opt.names.begin(), opt.names.end());
            if (!opt.takes_value) continue;
            std::vector<std::string> keys;
            for (const auto& n : opt.names) keys.push_back(cmd.path + " " + n);
            c.valued.insert(c.valued.end(), keys.begin(), keys.end());
            if (opt.hint.kind != Kind::None)
                c.values += "        " + sh_alternatives(keys) + ") " + sh_offer(opt.hint) + " ;;\n";
        }
        c.dashed += "        " + shell_quote(cmd.path) + ") all=(" + sh_words(names) + ") ;;\n";
        if (!subs.empty() || cmd.positional.kind != Kind::None)
            c.plain += "        " + shell_quote(cmd.path) + ") all=(" + sh_words(subs) + "); " +
                       sh_offer(cmd.positional) + " ;;\n";
    }
    return c;
}

/// __berth_candidates CUR WORD...: sets __berth_reply to the candidates for CUR after the words
/// before it (the command name left out), or __berth_files=1 when an option takes a file.
std::string sh_core(const std::vector<CompletionCommand>& model) {
    const ShCases c = sh_cases(model);
    return "__berth_candidates() {\n"
           "    local cur=$1 cmd=berth skip=0 w opt='' kind=''\n"
           "    local -a all\n"
           "    shift\n"
           "    __berth_reply=()\n"
           "    __berth_files=0\n"
           "    for w in \"$@\"; do\n"
           "        if (( skip )); then skip=0; continue; fi\n"
           "        case \"$cmd $w\" in\n"
           "        " + sh_alternatives(c.verbs) + ") cmd=\"$cmd $w\" ;;\n"
           "        " + sh_alternatives(c.valued) + ") skip=1; opt=$w ;;\n"
           "        esac\n"
           "    done\n"
           "    if (( skip )); then\n"
           "        case \"$cmd $opt\" in\n" + c.values +
           "        *) __berth_files=1; return ;;\n"
           "        esac\n"
           "    elif [[ $cur == -* ]]; then\n"
           "        case \"$cmd\" in\n" + c.dashed +
           "        esac\n"
           "    else\n"
           "        case \"$cmd\" in\n" + c.plain +
           "        esac\n"
           "    fi\n"
           "    case \"$kind\" in\n"
           "    machine) while IFS= read -r w; do all+=(\"$w\"); done < <(command berth ls -q 2>/dev/null) ;;\n"
           "    image) while IFS= read -r w; do all+=(\"$w\"); done < <(command berth image ls -q 2>/dev/null) ;;\n"
           "    esac\n"
           "    for w in \"${all[@]}\"; do\n"
           "        if [[ $w == \"$cur\"* ]]; then __berth_reply+=(\"$w\"); fi\n"
           "    done\n"
           "}\n";
}

// ---- fish ----

/// -n '__berth_at "berth image"': true when the words typed so far lead to `path`.
std::string fish_condition(const std::string& path) { return "-n " + quote_fish("__berth_at " + quote_fish(path)); }

/// -a's argument, which fish expands while completing: each word quoted for that, then the whole.
std::string fish_arguments(const CompletionHint& hint) {
    switch (hint.kind) {
        case Kind::Machine: return " -a " + quote_fish("(__berth_machines)");
        case Kind::Image: return " -a " + quote_fish("(__berth_images)");
        case Kind::Words: {
            std::string list;
            for (const auto& w : hint.words) list += (list.empty() ? "" : " ") + quote_fish(w);
            return " -a " + quote_fish(list);
        }
        case Kind::None: break;
    }
    return "";
}

std::string fish_option(const std::string& path, const CompletionOption& opt) {
    std::string line = "complete -c berth " + fish_condition(path);
    for (const auto& n : opt.names) {
        if (n.starts_with("--")) line += " -l " + quote_fish(n.substr(2));
        else line += " -s " + quote_fish(n.substr(1));
    }
    if (opt.takes_value) line += opt.hint.kind == Kind::None ? " -r -F" : " -x" + fish_arguments(opt.hint);
    return line + " -d " + quote_fish(opt.help) + "\n";
}

std::string fish_walk(const std::vector<CompletionCommand>& model) {
    std::vector<std::string> verbs, valued;
    for (const auto& cmd : model) {
        for (const auto& sub : cmd.subcommands) verbs.push_back(quote_fish(cmd.path + " " + sub.first));
        for (const auto& opt : cmd.options)
            if (opt.takes_value)
                for (const auto& n : opt.names) valued.push_back(quote_fish(cmd.path + " " + n));
    }
    auto join = [](const std::vector<std::string>& words) {
        std::string out;
        for (const auto& w : words) out += " " + w;
        return out;
    };
    return "function __berth_path\n"
           "    set -l tokens (commandline -opc)\n"
           "    set -e tokens[1]\n"
           "    set -l path berth\n"
           "    set -l skip 0\n"
           "    for w in $tokens\n"
           "        if test $skip = 1\n"
           "            set skip 0\n"
           "            continue\n"
           "        end\n"
           "        switch \"$path $w\"\n"
           "            case" + join(verbs) + "\n"
           "                set path \"$path $w\"\n"
           "            case" + join(valued) + "\n"
           "                set skip 1\n"
           "        end\n"
           "    end\n"
           "    echo $path\n"
           "end\n";
}

}  // namespace

std::vector<CompletionCommand> completion_model(const CLI::App& root) {
    std::vector<CompletionCommand> out;
    walk(root, "berth", out);
    return out;
}

std::string bash_completion(const std::vector<CompletionCommand>& model) {
    return "# bash completion for berth, generated by `berth completion bash`\n" + sh_core(model) +
           "_berth() {\n"
           "    __berth_candidates \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"\n"
           "    if (( __berth_files )); then\n"
           "        mapfile -t COMPREPLY < <(compgen -f -- \"${COMP_WORDS[COMP_CWORD]}\")\n"
           "    else\n"
           "        COMPREPLY=(\"${__berth_reply[@]}\")\n"
           "    fi\n"
           "}\n"
           "complete -F _berth berth\n";
}

std::string zsh_completion(const std::vector<CompletionCommand>& model) {
    return "#compdef berth\n# zsh completion for berth, generated by `berth completion zsh`\n" + sh_core(model) +
           "_berth() {\n"
           "    __berth_candidates \"${words[CURRENT]}\" \"${(@)words[2,CURRENT-1]}\"\n"
           "    if (( __berth_files )); then _files; else compadd -- \"${__berth_reply[@]}\"; fi\n"
           "}\n"
           "if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then _berth \"$@\"; else compdef _berth berth; fi\n";
}

std::string fish_completion(const std::vector<CompletionCommand>& model) {
    std::string out = "# fish completion for berth, generated by `berth completion fish`\n" + fish_walk(model) +
                      "function __berth_at\n    set -l path (__berth_path)\n    test \"$path\" = \"$argv[1]\"\nend\n"
                      "function __berth_machines\n    command berth ls -q 2>/dev/null\nend\n"
                      "function __berth_images\n    command berth image ls -q 2>/dev/null\nend\n"
                      "complete -c berth -f\n";
    for (const auto& cmd : model) {
        for (const auto& [name, help] : cmd.subcommands)
            out += "complete -c berth " + fish_condition(cmd.path) + " -a " + quote_fish(quote_fish(name)) +
                   " -d " + quote_fish(help) + "\n";
        if (cmd.positional.kind != Kind::None)
            out += "complete -c berth " + fish_condition(cmd.path) + fish_arguments(cmd.positional) + "\n";
        for (const auto& opt : cmd.options) out += fish_option(cmd.path, opt);
    }
    return out;
}

}  // namespace berth::cli
