// Certificate expiry: --if-expiring's duration parser (core/duration.h), the dates read from the
// certificate files with the record as fallback, their classification against a window, ls's
// warning text and what --if-expiring renews (service/cert_expiry.h).

#include <berth/core/duration.h>
#include <berth/pki/pki.h>
#include <berth/service/cert_expiry.h>

#include "temp_dir.h"

#include <catch2/catch.hpp>

using namespace berth;
using namespace std::chrono_literals;
using berth::test::TempDir;

namespace {

constexpr std::chrono::hours k_day{24};

/// A certificate of `kind` that ends at `end` (no file).
CertDates cert_ending(CertDates::Kind kind, SystemTime end, std::string user = "") {
    CertDates c;
    c.kind = kind;
    c.user = std::move(user);
    c.not_after = end;
    return c;
}

/// CA, server and client ending in `ca`, `server`, `client` days after `now`.
std::vector<CertDates> own_certs(SystemTime now, int ca, int server, int client) {
    return {cert_ending(CertDates::Kind::Ca, now + ca * k_day), cert_ending(CertDates::Kind::Server, now + server * k_day),
            cert_ending(CertDates::Kind::Client, now + client * k_day)};
}

bool same(const CertRenewal& a, const CertRenewal& b) { return a.ca == b.ca && a.server == b.server && a.client == b.client; }

}  // namespace

TEST_CASE("parse_duration takes Nd, Nh and a plain N (days) - nothing else", "[duration]") {
    CHECK(parse_duration("30d").value() == 30 * k_day);
    CHECK(parse_duration("30").value() == 30 * k_day);
    CHECK(parse_duration("12h").value() == 12h);
    CHECK(parse_duration("0d").value() == 0s);
    CHECK(parse_duration("36500d").value() == 36500 * k_day);
    CHECK(parse_duration("876000h").value() == 36500 * k_day);
    for (const char* bad : {"", "d", "-1d", "+3d", "30D", "30 d", " 30d", "30d ", "1.5d", "30days", "30m", "30s",
                            "1d12h", "36501d", "876001h", "99999999999999999999d", "3\n0d", "0x10"}) {
        CAPTURE(bad);
        auto r = parse_duration(bad);
        REQUIRE_FALSE(r);
        CHECK(r.error().kind == ErrorKind::Usage);
        CHECK(r.error().hint == "write a number of days or hours: 30d, 12h (a plain number is days)");
    }
    CHECK(parse_duration("30x").error().message == "\"30x\" is not a duration: its unit is not d (days) or h (hours)");
    CHECK(parse_duration("3\n0d").error().message.find('\n') == std::string::npos);  // quoted safely
    CHECK(describe_duration(30 * k_day) == "30 days");
    CHECK(describe_duration(k_day) == "1 day");
    CHECK(describe_duration(12h) == "12 hours");
}

TEST_CASE("classify: expired at or before now - expiring within the window - else valid - unknown without a date",
          "[cert-expiry]") {
    const SystemTime now = std::chrono::system_clock::now();
    const auto window = std::chrono::duration_cast<std::chrono::seconds>(30 * k_day);
    using K = CertDates::Kind;
    CHECK(classify(cert_ending(K::Client, now - 1s), now, window) == Expiry::Expired);
    CHECK(classify(cert_ending(K::Client, now), now, window) == Expiry::Expired);
    CHECK(classify(cert_ending(K::Client, now + 1s), now, window) == Expiry::Expiring);
    CHECK(classify(cert_ending(K::Client, now + 10 * k_day), now, window) == Expiry::Expiring);
    CHECK(classify(cert_ending(K::Client, now + window), now, window) == Expiry::Expiring);
    CHECK(classify(cert_ending(K::Client, now + window + 1s), now, window) == Expiry::Valid);
    CHECK(classify(CertDates{}, now, window) == Expiry::Unknown);
    // A window of 0: only what has ended.
    CHECK(classify(cert_ending(K::Client, now + 1s), now, 0s) == Expiry::Valid);

    const SystemTime t0 = std::chrono::system_clock::from_time_t(1796342400);  // 2026-12-04T00:00:00Z
    CHECK(expiry_warning(cert_ending(K::Client, t0 + 10 * k_day - 5min), t0, window) ==
          "client certificate expires in 10 days (2026-12-13)");
    CHECK(expiry_warning(cert_ending(K::Server, t0 + 5h), t0, window) == "server certificate expires in 5 hours (2026-12-04)");
    CHECK(expiry_warning(cert_ending(K::Ca, t0 - 3 * k_day), t0, window) == "CA certificate expired on 2026-12-01");
    CHECK(expiry_warning(cert_ending(K::User, t0 + 2 * k_day, "alice"), t0, window) ==
          "certificate of user alice expires in 2 days (2026-12-06)");
    CHECK(expiry_warning(cert_ending(K::Client, t0 + 31 * k_day), t0, window).empty());
    CertDates unreadable;
    unreadable.kind = K::Server;
    unreadable.problem = "no such file";
    CHECK(expiry_warning(unreadable, t0, window) == "server certificate cannot be read (no such file)");
}

TEST_CASE("renewal_for: an expiring CA renews everything - else only the server or client that ends in the window",
          "[cert-expiry]") {
    const SystemTime now = std::chrono::system_clock::now();
    const auto window = std::chrono::duration_cast<std::chrono::seconds>(30 * k_day);
    CHECK(same(renewal_for("m", own_certs(now, 1000, 700, 700), now, window).value(), {}));
    CHECK_FALSE(renewal_for("m", own_certs(now, 1000, 700, 700), now, window)->any());
    CHECK(same(renewal_for("m", own_certs(now, 1000, 700, 10), now, window).value(), {false, false, true}));
    CHECK(same(renewal_for("m", own_certs(now, 1000, -1, 700), now, window).value(), {false, true, false}));
    CHECK(same(renewal_for("m", own_certs(now, 1000, 5, 10), now, window).value(), {false, true, true}));
    CHECK(same(renewal_for("m", own_certs(now, 20, 700, 700), now, window).value(), CertRenewal::everything()));
    CHECK(same(renewal_for("m", own_certs(now, -2, 700, 700), now, window).value(), CertRenewal::everything()));
    // Per-user certificates are their owners' to renew.
    auto with_user = own_certs(now, 1000, 700, 700);
    with_user.push_back(cert_ending(CertDates::Kind::User, now + k_day, "alice"));
    CHECK_FALSE(renewal_for("m", with_user, now, window)->any());
    // A client or server certificate that cannot be read is made anew; a CA that cannot be read is an error.
    auto lost = own_certs(now, 1000, 700, 700);
    lost[2].not_after.reset();
    CHECK(same(renewal_for("m", lost, now, window).value(), {false, false, true}));
    lost[0].not_after.reset();
    lost[0].problem = "gone";
    auto refused = renewal_for("m", lost, now, window);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("the CA certificate of \"m\" cannot be read (gone)") == 0);
    CHECK(refused.error().hint.find("berth regenerate-certs --new-ca m") != std::string::npos);
    CHECK(CertRenewal::everything().describe() == "a new CA, server and client certificate");
    CHECK(CertRenewal{false, true, true}.describe() == "a new server and client certificate");
    CHECK(CertRenewal{false, false, true}.describe() == "a new client certificate");
}

TEST_CASE("read_cert_dates reads the files - the record's dates only when a file cannot be read", "[cert-expiry]") {
    TempDir dir;
    Store store(dir / "store");
    REQUIRE(store.ensure_layout());
    pki::MachineCertRequest request;
    request.machine = "m1";
    request.validity.leaf_days = 10;
    auto certs = pki::make_machine_certs(request);
    REQUIRE(certs);
    MachineRecord record;
    record.name = "m1";
    record.status = MachineStatus::Ready;
    record.tls.server_not_after = "2030-01-02T03:04:05Z";  // what the files say wins over this
    record.tls.client_not_after = "2031-01-02T03:04:05Z";
    UserCert alice{"alice", "restricted", "AB", "2029-05-06T07:08:09Z", "", false};
    UserCert gone{"bob", "restricted", "CD", "2029-05-06T07:08:09Z", "", true};
    record.users = {alice, gone};
    REQUIRE(store.save(record));
    REQUIRE(store.write_file("m1", k_ca_cert_file, certs->ca.cert_pem, 0644));
    REQUIRE(store.write_file("m1", k_server_cert_file, certs->server.cert_pem, 0644));
    REQUIRE(store.write_file("m1", k_client_cert_file, "not a certificate", 0644));

    auto dates = read_cert_dates(store, record);
    REQUIRE(dates.size() == 4);  // bob's certificate is revoked
    const auto ca = pki::read_cert(certs->ca.cert_pem).value();
    const auto server = pki::read_cert(certs->server.cert_pem).value();
    CHECK(cert_key(dates[0]) == "ca");
    CHECK(dates[0].not_after == ca.not_after);
    CHECK(dates[0].not_before == ca.not_before);
    CHECK(dates[0].file == store.machine_file("m1", k_ca_cert_file));
    CHECK(cert_key(dates[1]) == "server");
    CHECK(dates[1].not_after == server.not_after);  // the file's 10 days, not the record's 2030
    CHECK(dates[1].problem.empty());
    CHECK(cert_key(dates[2]) == "client");
    CHECK_FALSE(dates[2].problem.empty());
    CHECK_FALSE(dates[2].not_before);
    CHECK(rfc3339(*dates[2].not_after) == "2031-01-02T03:04:05Z");
    CHECK(cert_key(dates[3]) == "user:alice");
    CHECK(rfc3339(*dates[3].not_after) == "2029-05-06T07:08:09Z");  // no file: the record's

    // The server certificate of 10 days is the machine's first to end.
    auto first = earliest_own(dates);
    REQUIRE(first);
    CHECK(cert_key(*first) == "server");
}
