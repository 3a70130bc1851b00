// Certificate dates for ls, inspect and regenerate-certs --if-expiring: read from the files,
// the record's dates only as a fallback.

#include <berth/service/cert_expiry.h>

#include <berth/pki/pki.h>
#include <berth/service/user_certs.h>

#include <algorithm>
#include <ctime>

namespace berth {
namespace {

/// An RFC 3339 UTC time as the record writes it ("2026-11-23T19:30:00Z"); none for anything else.
std::optional<SystemTime> parse_recorded(const std::string& text) {
    std::tm tm{};
    const char* end = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == nullptr || *end != '\0') return std::nullopt;
    return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

CertDates read_one(CertDates::Kind kind, std::string user, std::filesystem::path file, const std::string& recorded) {
    CertDates cert;
    cert.kind = kind;
    cert.user = std::move(user);
    cert.file = std::move(file);
    auto pem = read_file(cert.file);
    auto info = pem ? pki::read_cert(*pem) : Result<pki::CertInfo>(std::unexpected(pem.error()));
    if (info) {
        cert.not_before = info->not_before;
        cert.not_after = info->not_after;
        return cert;
    }
    cert.problem = info.error().message;
    cert.not_after = parse_recorded(recorded);
    return cert;
}

/// "2026-12-17": the date part of an RFC 3339 time.
std::string date_of(SystemTime t) { return rfc3339(t).substr(0, 10); }

/// "in 9 days", "in 5 hours", "in less than an hour".
std::string time_left(std::chrono::seconds left) {
    const auto hours = std::chrono::duration_cast<std::chrono::hours>(left).count();
    if (hours >= 36) return "in " + std::to_string((hours + 12) / 24) + " days";
    if (hours >= 24) return "in 1 day";
    if (hours >= 2) return "in " + std::to_string(hours) + " hours";
    if (hours == 1) return "in 1 hour";
    return "in less than an hour";
}

}  // namespace

std::string cert_key(const CertDates& cert) {
    switch (cert.kind) {
        case CertDates::Kind::Ca: return "ca";
        case CertDates::Kind::Server: return "server";
        case CertDates::Kind::Client: return "client";
        case CertDates::Kind::User: return "user:" + cert.user;
    }
    return "ca";
}

std::string cert_title(const CertDates& cert) {
    switch (cert.kind) {
        case CertDates::Kind::Ca: return "CA certificate";
        case CertDates::Kind::Server: return "server certificate";
        case CertDates::Kind::Client: return "client certificate";
        case CertDates::Kind::User: return "certificate of user " + cert.user;
    }
    return "certificate";
}

std::vector<CertDates> read_cert_dates(const Store& store, const MachineRecord& record) {
    const std::string& name = record.name;
    std::vector<CertDates> certs;
    certs.push_back(read_one(CertDates::Kind::Ca, "", store.machine_file(name, k_ca_cert_file), ""));
    certs.push_back(read_one(CertDates::Kind::Server, "", store.machine_file(name, k_server_cert_file),
                             record.tls.server_not_after));
    certs.push_back(read_one(CertDates::Kind::Client, "", store.machine_file(name, k_client_cert_file),
                             record.tls.client_not_after));
    for (const auto& user : record.users)
        if (!user.revoked)
            certs.push_back(read_one(CertDates::Kind::User, user.cn, user_cert_dir(store, name, user.cn) / "cert.pem",
                                     user.not_after));
    return certs;
}

std::string_view to_string(Expiry expiry) {
    switch (expiry) {
        case Expiry::Valid: return "valid";
        case Expiry::Expiring: return "expiring";
        case Expiry::Expired: return "expired";
        case Expiry::Unknown: return "unknown";
    }
    return "unknown";
}

Expiry classify(const CertDates& cert, SystemTime now, std::chrono::seconds window) {
    if (!cert.not_after) return Expiry::Unknown;
    if (*cert.not_after <= now) return Expiry::Expired;
    if (*cert.not_after <= now + window) return Expiry::Expiring;
    return Expiry::Valid;
}

std::string expiry_warning(const CertDates& cert, SystemTime now, std::chrono::seconds window) {
    switch (classify(cert, now, window)) {
        case Expiry::Valid: return "";
        case Expiry::Expiring:
            return cert_title(cert) + " expires " +
                   time_left(std::chrono::duration_cast<std::chrono::seconds>(*cert.not_after - now)) + " (" +
                   date_of(*cert.not_after) + ")";
        case Expiry::Expired: return cert_title(cert) + " expired on " + date_of(*cert.not_after);
        case Expiry::Unknown: return cert_title(cert) + " cannot be read (" + cert.problem + ")";
    }
    return "";
}

std::optional<CertDates> earliest_own(const std::vector<CertDates>& certs) {
    std::optional<CertDates> first;
    for (const auto& cert : certs)
        if (cert.kind != CertDates::Kind::User && cert.not_after && (!first || *cert.not_after < *first->not_after))
            first = cert;
    return first;
}

std::string CertRenewal::describe() const {
    if (!ca && !server && !client) return "the certificates in the store, installed on the host";
    std::vector<std::string> parts;
    if (ca) parts.push_back("CA");
    if (server) parts.push_back("server");
    if (client) parts.push_back("client");
    std::string text = "a new ";
    for (std::size_t i = 0; i < parts.size(); ++i)
        text += (i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ") + parts[i];
    return text + " certificate";
}

Result<CertRenewal> renewal_for(std::string_view machine, const std::vector<CertDates>& certs, SystemTime now,
                                std::chrono::seconds window) {
    CertRenewal renew;
    for (const auto& cert : certs) {
        const Expiry state = classify(cert, now, window);
        const bool due = state != Expiry::Valid;
        switch (cert.kind) {
            case CertDates::Kind::Ca:
                if (state == Expiry::Unknown)
                    return fail("the CA certificate of \"" + std::string(machine) + "\" cannot be read (" + cert.problem +
                                    "), so berth cannot tell when it expires",
                                "make a new CA (every certificate issued from the old one stops working) with "
                                "`berth regenerate-certs --new-ca " + std::string(machine) + "`");
                if (due) return CertRenewal::everything();
                break;
            case CertDates::Kind::Server: renew.server = due; break;
            case CertDates::Kind::Client: renew.client = due; break;
            case CertDates::Kind::User: break;
        }
    }
    return renew;
}

}  // namespace berth
