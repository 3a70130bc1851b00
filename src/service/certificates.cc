// The machine's certificates: a CA of its own, the server and client certificates, re-issued
// when its address changes or when asked (regenerate-certs).

#include <berth/service/machine_service.h>

#include <berth/core/log.h>
#include <berth/core/machine_name.h>
#include <berth/pki/pki.h>
#include <berth/service/driver_table.h>

#include <spdlog/spdlog.h>

namespace berth {
namespace {

// What the machine's certificates carry: the driver's addresses plus --tls-san, the recorded key
// type and validity.
Result<pki::MachineCertRequest> cert_request(const MachineRecord& record, Driver& driver) {
    auto key_type = pki::parse_key_type(record.tls.key_type);
    if (!key_type) return std::unexpected(key_type.error());
    pki::MachineCertRequest req;
    req.machine = record.name;
    req.sans = driver.cert_sans();
    req.sans.insert(req.sans.end(), record.tls.extra_sans.begin(), record.tls.extra_sans.end());
    req.key_type = *key_type;
    req.validity.ca_days = record.tls.ca_days;
    req.validity.leaf_days = record.tls.leaf_days;
    return req;
}

/// The machine's CA certificate and key from the store.
Result<pki::CertAndKey> load_ca(const Store& store, const std::string& name) {
    auto ca_cert = read_file(store.machine_file(name, k_ca_cert_file));
    auto ca_key = read_file(store.machine_file(name, k_ca_key_file));
    if (!ca_cert || !ca_key)
        return fail("machine \"" + name + "\" has no CA in " + store.machine_dir(name).string(),
                    "make a new CA with `berth regenerate-certs --new-ca " + name + "`");
    return pki::CertAndKey{*ca_cert, *ca_key};
}

}  // namespace

Result<void> MachineService::issue_certificates(MachineRecord& record, Driver& driver) const {
    // The CA and client certificate are made once; regenerate-certs --new-ca (or --if-expiring, for
    // a CA near its end) replaces them.
    auto req = cert_request(record, driver);
    if (!req) return std::unexpected(req.error());
    const std::vector<std::string>& sans = req->sans;
    auto certs = pki::make_machine_certs(*req);
    if (!certs) return std::unexpected(certs.error());

    struct File {
        const char* name;
        const std::string& content;
        unsigned mode;
    };
    const File files[] = {
        {k_ca_key_file, certs->ca.key_pem, 0600},       {k_ca_cert_file, certs->ca.cert_pem, 0644},
        {k_server_key_file, certs->server.key_pem, 0600}, {k_server_cert_file, certs->server.cert_pem, 0644},
        {k_client_key_file, certs->client.key_pem, 0600}, {k_client_cert_file, certs->client.cert_pem, 0644},
    };
    for (const auto& f : files)
        if (auto ok = m_ports.store->write_file(record.name, f.name, f.content, f.mode); !ok) return ok;

    auto ca = pki::read_cert(certs->ca.cert_pem);
    auto server = pki::read_cert(certs->server.cert_pem);
    auto client = pki::read_cert(certs->client.cert_pem);
    if (!ca) return std::unexpected(ca.error());
    if (!server) return std::unexpected(server.error());
    if (!client) return std::unexpected(client.error());
    record.tls.sans = pki::server_sans(sans);
    record.tls.ca_fingerprint = ca->sha256_fingerprint;
    record.tls.server_not_after = rfc3339(server->not_after);
    record.tls.client_not_after = rfc3339(client->not_after);
    return {};
}

Result<void> MachineService::reissue_server_cert(Machine& machine) const {
    auto& record = machine.record;
    const std::string& name = record.name;
    auto ca = load_ca(*m_ports.store, name);
    if (!ca) return std::unexpected(ca.error());
    auto req = cert_request(record, *machine.driver);
    if (!req) return std::unexpected(req.error());
    auto server = pki::issue_server_cert(*ca, *req);
    if (!server) return std::unexpected(server.error());
    if (auto ok = m_ports.store->write_file(name, k_server_key_file, server->key_pem, 0600); !ok) return ok;
    if (auto ok = m_ports.store->write_file(name, k_server_cert_file, server->cert_pem, 0644); !ok) return ok;
    auto info = pki::read_cert(server->cert_pem);
    if (!info) return std::unexpected(info.error());
    record.tls.sans = pki::server_sans(req->sans);
    record.tls.server_not_after = rfc3339(info->not_after);
    return {};
}

Result<void> MachineService::reissue_client_cert(MachineRecord& record) const {
    const std::string& name = record.name;
    auto ca = load_ca(*m_ports.store, name);
    if (!ca) return std::unexpected(ca.error());
    auto key_type = pki::parse_key_type(record.tls.key_type);
    if (!key_type) return std::unexpected(key_type.error());
    pki::MachineCertRequest req;
    req.machine = name;
    req.key_type = *key_type;
    req.validity.leaf_days = record.tls.leaf_days;
    auto client = pki::issue_client_cert(*ca, req);
    if (!client) return std::unexpected(client.error());
    auto info = pki::read_cert(client->cert_pem);
    if (!info) return std::unexpected(info.error());
    if (auto ok = m_ports.store->write_file(name, k_client_key_file, client->key_pem, 0600); !ok) return ok;
    if (auto ok = m_ports.store->write_file(name, k_client_cert_file, client->cert_pem, 0644); !ok) return ok;
    record.tls.client_not_after = rfc3339(info->not_after);
    return {};
}

Result<std::optional<ProvisionReport>> MachineService::regenerate_certs(
    std::string_view name, const CertRenewal& renew, const ProvisionOptions& options,
    const std::optional<std::vector<std::string>>& tls_sans) const {
    MachineLogScope log_scope{std::string(name)};
    auto locked = open_locked(name);
    if (!locked) return std::unexpected(locked.error());
    Machine* machine = &locked->machine;
    auto& record = machine->record;
    if (record.imported.not_hardened())
        return fail("machine \"" + std::string(name) + "\" was imported from docker-machine and is not hardened yet: "
                    "berth does not re-issue docker-machine's certificates (it did not copy its shared CA's key)",
                    "run `berth provision " + std::string(name) + "`, which gives it a CA of its own and hardens it");
    if (tls_sans) record.tls.extra_sans = *tls_sans;
    // A host berth provisions must be reachable before anything is made: a stopped VM has no
    // address to put in its server certificate.
    auto info = find_driver(m_ports.drivers, record.driver_name);
    const bool to_host = renew.needs_host() && info && (*info)->provisions;
    if (to_host)
        if (auto endpoint = machine->driver->ssh_endpoint(); !endpoint)
            return fail("the new certificates of \"" + std::string(name) + "\" must be installed on it, and it cannot be "
                            "reached: " + endpoint.error().message,
                        "start it with `berth start " + std::string(name) + "` and run this again; nothing was changed");
    if (renew.ca) {
        spdlog::info("[{}] Making a new CA, server and client certificate...", name);
        if (auto ok = issue_certificates(record, *machine->driver); !ok) return std::unexpected(ok.error());
    } else {
        if (renew.server) {
            spdlog::info("[{}] Making a new server certificate from the machine's CA...", name);
            if (auto ok = reissue_server_cert(*machine); !ok) return std::unexpected(ok.error());
        }
        if (renew.client) {
            spdlog::info("[{}] Making a new client certificate from the machine's CA...", name);
            if (auto ok = reissue_client_cert(record); !ok) return std::unexpected(ok.error());
        }
    }
    // A client certificate alone changes nothing on the host; a host berth does not reach gets
    // its server.pem from the user. What the host must get stays pending until a provision
    // installs it, so a failed install is retried (--if-expiring) rather than forgotten.
    if (to_host) record.tls.install_pending = true;
    if (auto ok = m_ports.store->save(record); !ok) return std::unexpected(ok.error());
    if (!to_host) return std::optional<ProvisionReport>();
    auto report = provision_locked(*machine, options, false, false);
    if (!report) {
        if (record.status == MachineStatus::Error) (void)m_ports.store->save(record);  // an open API
        return std::unexpected(report.error());
    }
    if (auto ok = m_ports.store->save(machine->record); !ok) return std::unexpected(ok.error());
    return std::optional<ProvisionReport>(std::move(*report));
}

}  // namespace berth
