// berth's entry point: parse the command line, run the chosen verb, map its result to an exit
// code (0 ok, 1 error, 2 usage, 3 pre-create check failed; docs/cli.md).

#include "app.h"

#include <berth/core/log.h>
#include <berth/core/version.h>

#include <cstdio>
#include <exception>
#include <iostream>

namespace {

void print_error(const berth::Error& e, bool debug) {
    std::string text = "berth: error: " + e.line() + "\n";
    if (debug)
        for (const auto& [key, value] : e.context) text += "  " + key + ": " + value + "\n";
    std::fputs(text.c_str(), stderr);
}

std::string version_line() {
    return "berth version " + std::string(berth::version()) + ", build " + std::string(berth::git_revision());
}

/// Runs the chosen verb. Whatever escapes it as an exception (a bug: every failure berth expects
/// is an Error value) is reported as an internal error, exit 1, after the stack has unwound: every
/// FileLock is released and a create in progress has rolled back (MachineService::create).
int run_action(berth::cli::Context& ctx) {
    std::string what;
    try {
        auto result = ctx.action();
        if (!result) {
            print_error(result.error(), ctx.debug);
            return result.error().exit_code();
        }
        return *result;
    } catch (const std::exception& e) {
        what = e.what();
    } catch (...) {
        what = "an unknown exception";
    }
    print_error(berth::Error{berth::ErrorKind::Failed, "internal error: " + what,
                             "this is a bug in berth; please report it with the output of the command run with --debug",
                             {}},
                ctx.debug);
    return berth::k_exit_error;
}

/// Every verb, in the order --help lists them.
void add_verbs(CLI::App& app, berth::cli::Context& ctx) {
    namespace cli = berth::cli;
    cli::add_create(app, ctx);
    cli::add_ls(app, ctx);
    cli::add_env(app, ctx);
    cli::add_inspect(app, ctx);
    cli::add_ip(app, ctx);
    cli::add_url(app, ctx);
    cli::add_config(app, ctx);
    cli::add_status(app, ctx);
    cli::add_active(app, ctx);
    cli::add_lifecycle(app, ctx);
    cli::add_ssh(app, ctx);
    cli::add_ssh_config(app, ctx);
    cli::add_scp(app, ctx);
    cli::add_provision(app, ctx);
    cli::add_set(app, ctx);
    cli::add_regenerate_certs(app, ctx);
    cli::add_upgrade(app, ctx);
    cli::add_rm(app, ctx);
    cli::add_version(app, ctx);
    cli::add_image(app, ctx);
    cli::add_audit(app, ctx);
    cli::add_apply(app, ctx);
    cli::add_certs(app, ctx);
    cli::add_bundle(app, ctx);
    cli::add_context(app, ctx);
    cli::add_completion(app, ctx);
    cli::add_import(app, ctx);
    cli::add_man(app, ctx);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace berth;
    cli::Context ctx;
    ctx.argv.assign(argv, argv + argc);

    CLI::App app{"berth makes hardened Docker hosts: it creates a machine, installs Docker on it and\n"
                 "locks it down, then points your docker CLI at it over mutual TLS.",
                 "berth"};
    app.set_version_flag("--version", version_line(), "Print berth's version and exit");
    app.add_option("-s,--storage-path", ctx.storage_path,
                   "Where berth keeps machines, keys and certificates (default ~/.berth): a new path, an "
                   "empty directory or a berth store; any other directory is refused")
        ->envname("BERTH_STORAGE_PATH");
    app.add_flag("-D,--debug", ctx.debug, "Show debug output, every command berth runs");
    app.require_subcommand(1);
    app.footer("Exit codes: 0 ok, 1 error (also an internal error), 2 usage error, 3 pre-create check failed.\n"
               "Run 'berth COMMAND --help' for a command's options.");

    add_verbs(app, ctx);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        if (argc == 1) {  // plain `berth`: show what it can do
            std::cout << app.help();
            return k_exit_usage;
        }
        std::string where = "berth";
        for (const auto* sub : app.get_subcommands()) where += " " + sub->get_name();
        std::string message = e.what();
        if (app.get_subcommands().empty()) {
            // CLI11 reports an unknown verb as a missing subcommand; name the word instead.
            for (int i = 1; i < argc; ++i) {
                std::string_view arg = argv[i];
                if (arg == "-s" || arg == "--storage-path") {
                    ++i;
                    continue;
                }
                if (!arg.starts_with("-")) {
                    message = "unknown command \"" + std::string(arg) + "\"";
                    break;
                }
            }
        }
        std::fprintf(stderr, "berth: error: %s; see '%s --help'\n", message.c_str(), where.c_str());
        return k_exit_usage;
    }

    init_logging(ctx.debug);
    if (!ctx.action) return k_exit_usage;
    return run_action(ctx);
}
