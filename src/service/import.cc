// MachineService::import_machine (`berth import`): a docker-machine machine taken over, checked
// whole before anything is written, its record saved last; and the first provision of such a
// machine, which gives it a CA of its own.

#include <berth/service/machine_service.h>

#include <berth/core/log.h>
#include <berth/core/machine_name.h>
#include <berth/pki/pki.h>
#include <berth/provision/engine_checks.h>
#include <berth/provision/engine_options.h>
#include <berth/service/docker_machine_store.h>
#include <berth/service/driver_table.h>
#include <berth/store/atomic_file.h>
#include <berth/store/store.h>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace berth {
namespace {

/// One TLS file of the machine: berth's name for it, its content, its mode.
struct TlsFile {
    const char* name;
    std::string content;
    unsigned mode;
};

/// docker-machine's TLS files, read and checked (certificates that parse, a private key).
struct ImportedTls {
    std::vector<TlsFile> files;
    TlsSettings settings;
};

Result<ImportedTls> read_imported_tls(const DockerMachineHost& host) {
    ImportedTls tls;
    struct Source {
        const char* name;
        const std::filesystem::path& path;
        unsigned mode;
    };
    for (const auto& s : {Source{k_ca_cert_file, host.ca_cert, 0644}, Source{k_client_cert_file, host.client_cert, 0644},
                          Source{k_client_key_file, host.client_key, 0600}, Source{k_server_cert_file, host.server_cert, 0644},
                          Source{k_server_key_file, host.server_key, 0600}}) {
        if (s.path.empty()) continue;
        auto text = read_file(s.path);
        if (!text) return std::unexpected(text.error());
        const bool key = s.mode == 0600;
        if (key && (text->find("-----BEGIN") == std::string::npos || text->find("PRIVATE KEY-----") == std::string::npos))
            return fail(s.path.string() + " of machine " + host.name + " is not a PEM private key");
        tls.files.push_back({s.name, std::move(*text), s.mode});
    }
    auto content = [&](const char* name) -> std::string {
        for (const auto& f : tls.files)
            if (std::string_view(f.name) == name) return f.content;
        return "";
    };
    auto ca = pki::read_cert(content(k_ca_cert_file));
    if (!ca) return fail(host.ca_cert.string() + " of machine " + host.name + ": " + ca.error().message);
    auto client = pki::read_cert(content(k_client_cert_file));
    if (!client) return fail(host.client_cert.string() + " of machine " + host.name + ": " + client.error().message);
    tls.settings.ca_fingerprint = ca->sha256_fingerprint;
    tls.settings.client_not_after = rfc3339(client->not_after);
    if (const auto server_pem = content(k_server_cert_file); !server_pem.empty()) {
        auto server = pki::read_cert(server_pem);
        if (!server) return fail(host.server_cert.string() + " of machine " + host.name + ": " + server.error().message);
        tls.settings.server_not_after = rfc3339(server->not_after);
        tls.settings.sans = server->ip_sans;
        tls.settings.sans.insert(tls.settings.sans.end(), server->dns_sans.begin(), server->dns_sans.end());
    }
    return tls;
}

/// The driver's settings, the engine's and the TLS files, all checked: what the import writes.
struct CheckedImport {
    DockerMachineHost host;
    std::unique_ptr<Driver> driver;
    ImportedTls tls;
};

Error about(const std::string& name, Error e) {
    e.message = "docker-machine's settings of " + name + ": " + e.message;
    return e;
}

}  // namespace

Result<ImportReport> MachineService::import_machine(const ImportRequest& request) const {
    MachineLogScope log_scope{request.name};
    auto host = read_docker_machine(request.from, request.name);
    if (!host) return std::unexpected(host.error());
    auto info = find_driver(m_ports.drivers, host->driver_name);
    if (!info) return std::unexpected(info.error());
    auto driver = make_driver(**info, host->name, std::nullopt);
    if (!driver) return std::unexpected(driver.error());
    if (auto ok = (*driver)->configure(host->driver_options); !ok) return std::unexpected(about(host->name, ok.error()));
    if (auto ok = validate_engine_options(host->engine); !ok) return std::unexpected(about(host->name, ok.error()));
    if (auto ok = check_engine_config(host->engine); !ok) return std::unexpected(about(host->name, ok.error()));
    auto tls = read_imported_tls(*host);
    if (!tls) return std::unexpected(tls.error());
    CheckedImport checked{std::move(*host), std::move(*driver), std::move(*tls)};

    const Store& store = *m_ports.store;
    const std::string& name = checked.host.name;
    if (auto ok = store.ensure_layout(); !ok) return std::unexpected(ok.error());
    auto locked = store.lock(name);
    if (!locked) return std::unexpected(locked.error());
    std::optional<FileLock> lock = std::move(*locked);
    if (store.exists(name))
        return fail_kind(ErrorKind::Conflict, "machine \"" + name + "\" already exists in berth's store",
                         "import it under its name after `berth rm " + name + "`, or leave it: nothing was imported");

    ImportReport report;
    report.ignored = checked.host.ignored;
    MachineRecord& record = report.record;
    record.name = name;
    record.driver_name = checked.host.driver_name;
    record.status = MachineStatus::Ready;
    record.created_at = now_rfc3339();
    record.engine = checked.host.engine;
    record.tls = checked.tls.settings;
    record.imported = ImportedFrom{"docker-machine", (request.from / "machines" / name).string(), record.created_at, false};
    auto written = [&]() -> Result<void> {
        if (auto ok = ensure_private_dir(store.machine_dir(name)); !ok) return ok;
        if (auto ok = checked.driver->adopt(checked.host.adopted); !ok) return ok;
        for (const auto& f : checked.tls.files)
            if (auto ok = store.write_file(name, f.name, f.content, f.mode); !ok) return ok;
        record.driver = checked.driver->save();
        return store.save(record);  // last: a record is whole, or there is none
    }();
    if (!written) {
        (void)store.remove_machine_dir(name);
        lock->release_and_remove();
        Error e = written.error();
        e.message = "cannot import " + name + ": " + e.message;
        if (e.hint.empty()) e.hint = "nothing was imported; docker-machine's store is unchanged";
        return std::unexpected(e);
    }
    spdlog::info("[{}] Imported from {} ({} driver), not hardened yet", name, record.imported.from, record.driver_name);
    lock.reset();  // provision takes the lock itself
    if (!request.provision) return report;
    auto provisioned = provision(name, request.options);
    if (!provisioned) {
        Error e = provisioned.error();
        e.message = "imported " + name + ", but its provision failed: " + e.message;
        if (e.hint.empty()) e.hint = "it is kept, not hardened; run `berth provision " + name + "` again";
        return std::unexpected(e);
    }
    report.provision = std::move(*provisioned);
    if (auto saved = store.load(name); saved) record = std::move(*saved);
    return report;
}

Result<ProvisionReport> MachineService::provision_imported(Machine& machine, const ProvisionOptions& options,
                                                           bool upgrade) const {
    MachineRecord& record = machine.record;
    const Store& store = *m_ports.store;
    // What to put back when the provision fails before it touched the host.
    const TlsSettings old_tls = record.tls;
    std::vector<std::pair<const char*, std::optional<std::string>>> old_files;
    for (const char* f : {k_ca_cert_file, k_ca_key_file, k_client_cert_file, k_client_key_file, k_server_cert_file,
                          k_server_key_file}) {
        auto text = read_file(store.machine_file(record.name, f));
        old_files.emplace_back(f, text ? std::optional<std::string>(*text) : std::nullopt);
    }
    spdlog::info("[{}] Making certificates (a CA of its own for {}, replacing docker-machine's)...", record.name, record.name);
    if (auto ok = issue_certificates(record, *machine.driver); !ok) return std::unexpected(ok.error());
    if (auto ok = store.save(record); !ok) return std::unexpected(ok.error());
    auto report = provision_locked(machine, options, false, upgrade);
    if (report) {
        record.imported.hardened = true;
        return report;
    }
    Error e = report.error();
    const bool changed = std::any_of(e.context.begin(), e.context.end(), [](const auto& kv) { return kv.first == "host_changed"; });
    if (!changed) {
        record.tls = old_tls;
        for (const auto& [file, text] : old_files) {
            std::error_code ec;
            if (!text) std::filesystem::remove(store.machine_file(record.name, file), ec);
            else (void)store.write_file(record.name, file, *text, std::string_view(file).find("key") != std::string_view::npos ? 0600 : 0644);
        }
        e.hint += std::string(e.hint.empty() ? "" : "; ") + "docker-machine's certificates are kept until a provision succeeds";
    }
    return std::unexpected(e);
}

}  // namespace berth
