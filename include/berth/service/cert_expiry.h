#pragma once
/// When a machine's certificates expire: the dates read from the certificate files themselves
/// (the files are what dockerd and the docker CLI use), the record's dates only when a file cannot
/// be read; how close each is to its end (`ls`, `inspect`); and which ones `regenerate-certs
/// --if-expiring` makes anew.

#include <berth/store/machine_record.h>
#include <berth/store/store.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

using SystemTime = std::chrono::system_clock::time_point;

/// How far ahead `ls` and `inspect` look: a certificate that ends within 30 days is flagged.
inline constexpr std::chrono::hours k_expiry_warning_window{24 * 30};

/// One of a machine's certificates and its dates.
struct CertDates {
    enum class Kind { Ca, Server, Client, User };
    Kind kind = Kind::Ca;
    std::string user;                  ///< the CN of a per-user certificate (Kind::User)
    std::filesystem::path file;        ///< where it was read
    std::optional<SystemTime> not_before;  ///< none when the file could not be read
    std::optional<SystemTime> not_after;   ///< none: neither the file nor the record has it
    std::string problem;               ///< why the file could not be read ("" when it was)
};

/// "ca", "server", "client", or "user:CN": the certificate's short name in ls and JSON.
[[nodiscard]] std::string cert_key(const CertDates& cert);
/// "CA certificate", "server certificate", "client certificate", "certificate of user CN".
[[nodiscard]] std::string cert_title(const CertDates& cert);

/// The machine's CA, server and client certificate, in that order, then each per-user certificate
/// of the record that is not revoked, in the record's order. A file that cannot be read gets
/// `problem`, and the record's date where it keeps one (server_not_after, client_not_after, a
/// user's not_after). Never fails: what cannot be known is left empty.
[[nodiscard]] std::vector<CertDates> read_cert_dates(const Store& store, const MachineRecord& record);

enum class Expiry {
    Valid,     ///< ends after now + window
    Expiring,  ///< ends within the window
    Expired,   ///< ended at or before now
    Unknown,   ///< no date: no file and no recorded date
};
[[nodiscard]] std::string_view to_string(Expiry expiry);

[[nodiscard]] Expiry classify(const CertDates& cert, SystemTime now, std::chrono::seconds window);

/// What `ls` says of a certificate that is not Valid: "client certificate expires in 9 days
/// (2026-12-17)", "CA certificate expired on 2026-12-01", "server certificate cannot be read
/// (PROBLEM)"; "" for a Valid one.
[[nodiscard]] std::string expiry_warning(const CertDates& cert, SystemTime now, std::chrono::seconds window);

/// The machine's own certificate (CA, server or client) that ends first; none when no date is known.
[[nodiscard]] std::optional<CertDates> earliest_own(const std::vector<CertDates>& certs);

/// Which of a machine's own certificates to make anew. A new CA means a new server and client
/// certificate too (they must be signed by it); a new server certificate must reach the host.
struct CertRenewal {
    bool ca = false;
    bool server = false;
    bool client = false;
    /// Install on the host what the store has (TlsSettings::install_pending), nothing made anew.
    bool install = false;
    [[nodiscard]] bool any() const { return ca || server || client || install; }
    [[nodiscard]] bool needs_host() const { return ca || server || install; }
    /// "a new CA, server and client certificate", "a new server and client certificate", ...
    [[nodiscard]] std::string describe() const;
    [[nodiscard]] static CertRenewal server_only() { return {false, true, false}; }
    [[nodiscard]] static CertRenewal everything() { return {true, true, true}; }
};

/// What `--if-expiring WINDOW` renews of `machine`'s certificates (read_cert_dates order):
/// everything when the CA ends within the window; else the server and/or the client certificate
/// that ends within it or cannot be read. A CA with no date is an error (a new CA would cut off
/// every certificate issued from it: that is `--new-ca`'s to do, not a cron job's). Per-user
/// certificates are never renewed here: their owners need the new key.
[[nodiscard]] Result<CertRenewal> renewal_for(std::string_view machine, const std::vector<CertDates>& certs,
                                              SystemTime now, std::chrono::seconds window);

}  // namespace berth
