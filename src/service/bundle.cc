// What one person needs to reach a machine: `berth bundle` (a .tar.gz made with libarchive) and
// the docker CLI's contexts (`berth context`, `create --context`), laid out as the docker CLI lays
// them out (docker/cli cli/context/store: meta/<sha256(name)>/meta.json, tls/<sha256(name)>/docker/).

#include <berth/service/user_certs.h>

#include <berth/core/digest.h>
#include <berth/shell/env_script.h>
#include <berth/store/atomic_file.h>

#include <archive.h>
#include <archive_entry.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <ctime>
#include <memory>

namespace berth {
namespace {

/// One member of a tar archive.
struct TarMember {
    std::string path;
    std::string content;
    unsigned mode = 0644;
    bool directory = false;
};

la_ssize_t append_to_string(struct archive*, void* out, const void* buffer, size_t length) {
    static_cast<std::string*>(out)->append(static_cast<const char*>(buffer), length);
    return static_cast<la_ssize_t>(length);
}

/// A ustar archive of `members` in order (gzip-compressed when `gzip`), owned by root, in memory.
Result<std::string> make_tar(const std::vector<TarMember>& members, bool gzip) {
    std::unique_ptr<struct archive, decltype(&archive_write_free)> a(archive_write_new(), archive_write_free);
    std::string out;
    auto failed = [&](const std::string& what) {
        const char* why = archive_error_string(a.get());
        return fail("cannot write the archive: " + what + (why ? std::string(": ") + why : std::string()));
    };
    if (!a || archive_write_set_format_ustar(a.get()) != ARCHIVE_OK) return failed("ustar");
    if (gzip && archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK) return failed("gzip");
    if (archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
        archive_write_open(a.get(), &out, nullptr, append_to_string, nullptr) != ARCHIVE_OK)
        return failed("open");
    const std::time_t now = std::time(nullptr);
    for (const auto& m : members) {
        std::unique_ptr<struct archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(), archive_entry_free);
        archive_entry_set_pathname(e.get(), m.path.c_str());
        archive_entry_set_filetype(e.get(), m.directory ? AE_IFDIR : AE_IFREG);
        archive_entry_set_perm(e.get(), m.mode);
        archive_entry_set_size(e.get(), m.directory ? 0 : static_cast<la_int64_t>(m.content.size()));
        archive_entry_set_mtime(e.get(), now, 0);
        archive_entry_set_uid(e.get(), 0);
        archive_entry_set_gid(e.get(), 0);
        if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) return failed(m.path);
        if (!m.directory && archive_write_data(a.get(), m.content.data(), m.content.size()) !=
                                static_cast<la_ssize_t>(m.content.size()))
            return failed(m.path);
    }
    if (archive_write_close(a.get()) != ARCHIVE_OK) return failed("close");
    return out;
}

/// The Description berth writes into the contexts it makes, and recognises them by.
std::string context_mark(std::string_view machine) { return "berth machine " + std::string(machine); }

/// A context's meta.json as `docker context create` writes it (the docker endpoint with TLS).
std::string context_meta(std::string_view machine, const std::string& url) {
    nlohmann::json meta = {
        {"Name", std::string(machine)},
        {"Metadata", {{"Description", context_mark(machine)}}},
        {"Endpoints", {{"docker", {{"Host", url}, {"SkipTLSVerify", false}}}}},
    };
    return meta.dump();
}

/// The three files the docker CLI reads, for the machine's owner (user "") or one user.
struct ClientFiles {
    std::string ca, cert, key;
};

Result<ClientFiles> client_files(const Store& store, const MachineRecord& record, std::string_view user) {
    const std::string& name = record.name;
    ClientFiles files;
    auto ca = read_file(store.machine_file(name, k_ca_cert_file));
    if (!ca) return fail("machine \"" + name + "\" has no ca.pem", "run `berth regenerate-certs --new-ca " + name + "`");
    files.ca = *ca;
    if (user.empty()) {
        auto cert = read_file(store.machine_file(name, k_client_cert_file));
        auto key = read_file(store.machine_file(name, k_client_key_file));
        if (!cert || !key)
            return fail("machine \"" + name + "\" has no client certificate",
                        "run `berth regenerate-certs --new-ca " + name + "`");
        files.cert = *cert;
        files.key = *key;
        return files;
    }
    const auto& users = record.users;
    const bool active = std::any_of(users.begin(), users.end(), [&](const UserCert& u) { return u.cn == user && !u.revoked; });
    if (!active) {
        const bool known = std::any_of(users.begin(), users.end(), [&](const UserCert& u) { return u.cn == user; });
        return fail_kind(ErrorKind::NotFound,
                         "user \"" + std::string(user) + "\" " + (known ? "has only revoked certificates" : "has no certificate") +
                             " on machine \"" + name + "\"",
                         "issue one with `berth certs issue " + name + " --user " + std::string(user) + "`");
    }
    const auto dir = user_cert_dir(store, name, user);
    auto cert = read_file(dir / "cert.pem");
    auto key = read_file(dir / "key.pem");
    if (!cert || !key)
        return fail("the certificate files of user \"" + std::string(user) + "\" are missing from " + dir.string(),
                    "issue it again with `berth certs issue " + name + " --user " + std::string(user) + "`");
    files.cert = *cert;
    files.key = *key;
    return files;
}

std::string bundle_readme(std::string_view machine, std::string_view user, const std::string& url,
                          const std::string& dir) {
    const std::string who = user.empty() ? "the owner of " + std::string(machine) : std::string(user);
    return "berth bundle: the Docker host " + std::string(machine) + " (" + url + ") for " + who + ".\n\n"
           "Keep it private: key.pem opens that host. It holds no CA key: it cannot make certificates.\n\n"
           "  ca.pem, cert.pem, key.pem   the host's CA and your client certificate and key\n"
           "  env.sh                      bash, zsh:  . " + dir + "/env.sh   (sh: cd into it, . ./env.sh)\n"
           "  env.fish                    fish:       source " + dir + "/env.fish\n"
           "  env.csh                     tcsh:       cd " + dir + "; source env.csh\n"
           "  env.ps1                     PowerShell: . " + dir + "\\env.ps1\n"
           "  env.cmd                     cmd:        CALL " + dir + "\\env.cmd\n"
           "  env.el                      Emacs:      M-x load-file " + dir + "/env.el\n"
           "  context.tar                 docker context import " + std::string(machine) + " " + dir + "/context.tar\n"
           "                              then: docker --context " + std::string(machine) + " ps\n\n"
           "Each env script sets DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (this directory,\n"
           "wherever you unpacked it), then `docker run ...` works against the host. The host's\n"
           "berth-authz policy decides what your certificate may do; a revoked one is refused.\n";
}

/// The machine's URL and record, for a bundle or a context.
Result<std::pair<std::string, MachineRecord>> machine_url(MachineService& machines, std::string_view machine) {
    auto opened = machines.open(machine);
    if (!opened) return std::unexpected(opened.error());
    auto endpoint = machines.docker_endpoint(*opened);
    if (!endpoint) return std::unexpected(endpoint.error());
    return std::pair{endpoint->url, opened->record};
}

Result<void> make_dir(const std::filesystem::path& dir, std::filesystem::perms mode) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (!ec) std::filesystem::permissions(dir, mode, ec);
    if (ec) return fail("cannot make " + dir.string() + ": " + ec.message());
    return {};
}

}  // namespace

Result<void> write_bundle(MachineService& machines, std::string_view machine, std::string_view user,
                          const std::filesystem::path& out) {
    if (!user.empty())
        if (auto ok = validate_user_cn(user); !ok) return ok;
    auto opened = machine_url(machines, machine);
    if (!opened) return std::unexpected(opened.error());
    const auto& [url, record] = *opened;
    auto files = client_files(machines.store(), record, user);
    if (!files) return std::unexpected(files.error());
    const std::string dir = std::string(machine) + (user.empty() ? "" : "-" + std::string(user));
    auto context = make_tar({{"meta.json", context_meta(machine, url), 0644},
                             {"tls", "", 0700, true},
                             {"tls/docker", "", 0700, true},
                             {"tls/docker/ca.pem", files->ca, 0600},
                             {"tls/docker/cert.pem", files->cert, 0600},
                             {"tls/docker/key.pem", files->key, 0600}},
                            false);
    if (!context) return std::unexpected(context.error());
    std::vector<TarMember> members = {{dir, "", 0700, true},
                                      {dir + "/README.txt", bundle_readme(machine, user, url, dir), 0644},
                                      {dir + "/ca.pem", files->ca, 0644},
                                      {dir + "/cert.pem", files->cert, 0644},
                                      {dir + "/key.pem", files->key, 0600}};
    for (Shell shell : {Shell::Bash, Shell::Fish, Shell::Tcsh, Shell::PowerShell, Shell::Cmd, Shell::Emacs}) {
        auto script = write_bundle_env_script(shell, url, machine);
        if (!script) return std::unexpected(script.error());
        members.push_back({dir + "/" + std::string(bundle_env_file(shell)), *script, 0644});
    }
    members.push_back({dir + "/context.tar", *context, 0600});
    auto bytes = make_tar(members, true);
    if (!bytes) return std::unexpected(bytes.error());
    if (auto ok = write_file_atomic(out, *bytes, 0600); !ok) {
        Error e = ok.error();
        e.message = "cannot write the bundle " + out.string() + ": " + e.message;
        return std::unexpected(e);
    }
    return {};
}

Result<std::filesystem::path> docker_contexts_dir(const GetEnv& env) {
    if (auto config = env("DOCKER_CONFIG"); config && !config->empty())
        return std::filesystem::path(*config) / "contexts";
    auto home = env("HOME");
    if (!home || home->empty())
        return fail("cannot find the docker CLI's configuration: neither $DOCKER_CONFIG nor $HOME is set",
                    "set DOCKER_CONFIG to the docker CLI's configuration directory");
    return std::filesystem::path(*home) / ".docker" / "contexts";
}

namespace {

/// Whether the context named `machine` under `contexts` exists, and whether berth wrote it.
struct ContextState {
    bool exists = false;
    bool ours = false;
};

ContextState context_state(const std::filesystem::path& contexts, std::string_view machine) {
    auto text = read_file(contexts / "meta" / sha256_hex(machine) / "meta.json");
    if (!text) return {};
    auto meta = nlohmann::json::parse(*text, nullptr, false);
    const bool ours = meta.is_object() && meta.value("Name", "") == machine && meta.contains("Metadata") &&
                      meta["Metadata"].is_object() && meta["Metadata"].value("Description", "") == context_mark(machine);
    return {true, ours};
}

}  // namespace

Result<std::filesystem::path> write_docker_context(MachineService& machines, std::string_view machine) {
    auto opened = machine_url(machines, machine);
    if (!opened) return std::unexpected(opened.error());
    const auto& [url, record] = *opened;
    auto files = client_files(machines.store(), record, "");
    if (!files) return std::unexpected(files.error());
    auto contexts = docker_contexts_dir(machines.ports().env ? machines.ports().env : process_env());
    if (!contexts) return std::unexpected(contexts.error());
    if (auto state = context_state(*contexts, machine); state.exists && !state.ours)
        return fail_kind(ErrorKind::Conflict,
                         "the docker CLI already has a context named \"" + std::string(machine) + "\" that berth did not write",
                         "remove it with `docker context rm " + std::string(machine) + "` if it is stale, or keep "
                         "using `berth env`");
    const std::string id = sha256_hex(machine);
    const auto meta_dir = *contexts / "meta" / id;
    const auto tls_dir = *contexts / "tls" / id / "docker";
    using P = std::filesystem::perms;
    const P open_dir = P::owner_all | P::group_read | P::group_exec | P::others_read | P::others_exec;
    if (auto ok = make_dir(meta_dir, open_dir); !ok) return std::unexpected(ok.error());
    if (auto ok = make_dir(tls_dir.parent_path(), open_dir); !ok) return std::unexpected(ok.error());
    if (auto ok = make_dir(tls_dir, P::owner_all); !ok) return std::unexpected(ok.error());
    for (const auto& [file, content] : {std::pair{"ca.pem", &files->ca}, std::pair{"cert.pem", &files->cert},
                                        std::pair{"key.pem", &files->key}})
        if (auto ok = write_file_atomic(tls_dir / file, *content, 0600); !ok) return std::unexpected(ok.error());
    if (auto ok = write_file_atomic(meta_dir / "meta.json", context_meta(machine, url), 0644); !ok)
        return std::unexpected(ok.error());
    spdlog::debug("{}: wrote the docker context {}", machine, meta_dir.string());
    return meta_dir;
}

Result<bool> remove_docker_context(std::string_view machine, const GetEnv& env) {
    auto contexts = docker_contexts_dir(env);
    if (!contexts) return std::unexpected(contexts.error());
    const auto state = context_state(*contexts, machine);
    if (!state.exists) return false;
    if (!state.ours) {
        spdlog::info("The docker context {} was not written by berth: left in place", machine);
        return false;
    }
    const std::string id = sha256_hex(machine);
    std::error_code ec;
    std::filesystem::remove_all(*contexts / "tls" / id, ec);
    if (!ec) std::filesystem::remove_all(*contexts / "meta" / id, ec);
    if (ec) return fail("cannot remove the docker context " + std::string(machine) + ": " + ec.message());
    return true;
}

Result<bool> remove_docker_context(std::string_view machine) { return remove_docker_context(machine, process_env()); }

}  // namespace berth
