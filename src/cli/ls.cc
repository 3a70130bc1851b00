// berth ls: list machines, docker-machine style: a table by default, --format with a Go-style
// template ("table " prefix for aligned columns with headers), -q for names, --json for tools.

#include "app.h"
#include "output.h"

#include <berth/provision/engine_options.h>
#include <berth/service/cert_expiry.h>

#include <regex>

namespace berth::cli {
namespace {

constexpr const char* k_default_format =
    "table {{ .Name }}\t{{ .Active }}\t{{ .DriverName }}\t{{ .State }}\t{{ .URL }}\t{{ .DockerVersion }}\t{{ .Errors }}";

struct Filters {
    std::vector<std::string> driver, state, label;
    std::vector<std::regex> name;
};

Result<Filters> parse_filters(const std::vector<std::string>& given) {
    Filters f;
    for (const auto& item : given) {
        auto eq = item.find('=');
        if (eq == std::string::npos)
            return fail_usage("unsupported filter syntax \"" + item + "\"", "write KEY=VALUE");
        std::string key = item.substr(0, eq);
        for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = item.substr(eq + 1);
        if (key == "driver") f.driver.push_back(value);
        else if (key == "state") f.state.push_back(value);
        else if (key == "label") f.label.push_back(value);
        else if (key == "name") {
            try {
                f.name.emplace_back(value, std::regex::ECMAScript);
            } catch (const std::regex_error& e) {
                return fail_usage("invalid name pattern \"" + value + "\" in --filter: " + e.what());
            }
        } else {
            return fail_usage("unsupported filter key \"" + key + "\"",
                              "filter by driver=, state=, name= (a regular expression) or label=KEY=VALUE");
        }
    }
    return f;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// Same key: any value matches (OR); different keys: all must match (AND), as docker-machine.
bool matches(const Filters& f, const nlohmann::json& item, const std::vector<std::string>& labels) {
    auto any = [](const auto& list, auto pred) {
        return list.empty() || std::any_of(list.begin(), list.end(), pred);
    };
    const std::string name = item["Name"], driver = item["DriverName"], state = item["State"];
    return any(f.driver, [&](const std::string& d) { return iequals(d, driver); }) &&
           any(f.state, [&](const std::string& s) { return iequals(s, state); }) &&
           any(f.name, [&](const std::regex& r) { return std::regex_search(name, r); }) &&
           any(f.label, [&](const std::string& want) {
               auto eq = want.find('=');
               std::string key = want.substr(0, eq);
               std::string value = eq == std::string::npos ? "" : want.substr(eq + 1);
               for (const auto& l : labels) {
                   auto leq = l.find('=');
                   if (l.substr(0, leq) == key && iequals(l.substr(leq + 1), value)) return true;
               }
               return false;
           });
}

/// The certificate fields of one machine: CertExpiry and CertExpiryOf (its own certificate that
/// ends first), CertWarnings (what ends within 30 days, has ended or cannot be read; per-user
/// certificates past the second are counted).
void add_cert_fields(nlohmann::json& item, const Store& store, const MachineRecord& record, SystemTime now) {
    if (record.status == MachineStatus::Creating) return;  // no certificates yet
    const auto certs = read_cert_dates(store, record);
    if (auto first = earliest_own(certs)) {
        item["CertExpiry"] = rfc3339(*first->not_after);
        item["CertExpiryOf"] = cert_key(*first);
    }
    std::vector<std::string> own, users;
    if (record.tls.install_pending)
        own.push_back("new certificates not installed on the host yet (berth provision " + record.name + ")");
    for (const auto& cert : certs) {
        const bool user = cert.kind == CertDates::Kind::User;
        if (user && classify(cert, now, k_expiry_warning_window) == Expiry::Unknown) continue;
        if (auto w = expiry_warning(cert, now, k_expiry_warning_window); !w.empty()) (user ? users : own).push_back(w);
    }
    if (users.size() > 2) {
        const std::size_t more = users.size() - 1;
        users.resize(1);
        users.push_back("and " + std::to_string(more) + " more user certificates");
    }
    std::string text;
    for (const auto* list : {&own, &users})
        for (const auto& w : *list) text += (text.empty() ? "" : ", ") + w;
    item["CertWarnings"] = text;
}

/// One machine as docker-machine's ls fields, and its labels for the filters.
nlohmann::json listing_item(MachineListing& entry, const std::string& docker_host, std::vector<std::string>& labels,
                            const Store& store, SystemTime now) {
    nlohmann::json item = {{"Name", entry.name},        {"Active", "-"},
                           {"ActiveHost", false},       {"DriverName", "not found"},
                           {"State", std::string(to_string(entry.state))},
                           {"URL", ""},                 {"DockerVersion", "Unknown"},
                           {"Error", ""},               {"Labels", ""},
                           {"Weakened", ""},            {"Errors", ""},
                           {"CertExpiry", ""},          {"CertExpiryOf", ""},
                           {"CertWarnings", ""}};
    if (entry.machine) {
        const auto& r = entry.machine->record;
        labels = r.engine.labels;
        item["DriverName"] = r.driver_name;
        std::string joined;
        for (const auto& l : labels) joined += (joined.empty() ? "" : ",") + l;
        item["Labels"] = joined;
        if (!r.docker_version.empty()) item["DockerVersion"] = "v" + r.docker_version;
        if (r.status != MachineStatus::Ready)
            item["Error"] = r.last_error.empty() ? "status " + std::string(to_string(r.status)) : r.last_error;
        if (entry.state == MachineState::Running) {
            if (auto url = entry.machine->driver->listed_docker_url(); url) {
                item["URL"] = *url;
                if (*url == docker_host) {
                    item["Active"] = "*";
                    item["ActiveHost"] = true;
                }
            }
        }
    }
    if (entry.error) item["Error"] = entry.error->message;
    // The ERRORS column of the default table also names what weakens the hardening, where
    // docker-machine users look for trouble.
    std::string errors = item["Error"];
    if (entry.machine) {
        std::string weakened;
        for (const auto& w : weakened_hardening(entry.machine->record.engine, entry.machine->record.authz))
            weakened += (weakened.empty() ? "" : ", ") + w;
        item["Weakened"] = weakened;
        if (!weakened.empty()) errors += (errors.empty() ? "" : "; ") + std::string("weakened: ") + weakened;
        add_cert_fields(item, store, entry.machine->record, now);
        const std::string certs = item["CertWarnings"];
        if (!certs.empty()) errors += (errors.empty() ? "" : "; ") + certs;
        // berth import without --provision: docker-machine's CA and setup until `berth provision`.
        if (entry.machine->record.imported.not_hardened())
            errors += (errors.empty() ? "" : "; ") + std::string("not hardened (imported)");
    }
    item["Errors"] = errors;
    return item;
}

/// The template's fields (help, --json) and the headers of a "table " template's columns.
OutputOptions ls_output() {
    OutputOptions o;
    o.default_format = k_default_format;
    o.fields = {"Name", "Active", "ActiveHost", "DriverName", "State", "URL", "DockerVersion", "Error",
                "Labels", "Weakened", "Errors", "CertExpiry", "CertExpiryOf", "CertWarnings"};
    o.headers = {{"ActiveHost", "ACTIVE_HOST"}, {"DriverName", "DRIVER"}, {"DockerVersion", "DOCKER"},
                 {"Error", "ERRORS"},           {"CertExpiry", "CERT_EXPIRY"},
                 {"CertExpiryOf", "CERT_EXPIRY_OF"}, {"CertWarnings", "CERT_WARNINGS"}};
    return o;
}

}  // namespace

void add_ls(CLI::App& app, Context& ctx) {
    struct Options {
        OutputFlags output;
        std::vector<std::string> filters;
    };
    auto opts = std::make_shared<Options>();
    auto* sub = app.add_subcommand("ls", "List machines");
    add_quiet_flag(sub, opts->output, "Print machine names only");
    sub->add_option("--filter", opts->filters,
                    "Keep machines matching driver=NAME, state=STATE, name=REGEX or label=KEY=VALUE "
                    "(repeatable; the same key ORs, different keys AND)")
        ->expected(1)
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    add_output_flags(sub, opts->output, "Print a JSON array of the machines",
                     "Go-style template per machine, e.g. '{{.Name}}: {{.URL}}'; prefix 'table ' for "
                     "aligned columns with headers. Fields: Name, Active, ActiveHost, DriverName, "
                     "State, URL, DockerVersion, Error, Labels, Weakened (what weakens the hardening), CertExpiry "
                     "and CertExpiryOf (the machine's certificate that ends first: ca, server or client), "
                     "CertWarnings (certificates that end within 30 days, have ended or cannot be read), Errors "
                     "(Error, Weakened and CertWarnings, the default table's ERRORS column)");

    sub->callback([&ctx, opts] {
        set_action(ctx, [&ctx, opts]() -> Result<void> {
            auto output = Output::choose(opts->output, ls_output());
            if (!output) return std::unexpected(output.error());
            auto filters = parse_filters(opts->filters);
            if (!filters) return std::unexpected(filters.error());

            Services services(ctx);
            auto listing = services.machines().list();
            if (!listing) return std::unexpected(listing.error());
            const std::string docker_host = services.machines().ports().env("DOCKER_HOST").value_or("");

            nlohmann::json items = nlohmann::json::array();
            const auto now = std::chrono::system_clock::now();
            for (auto& entry : *listing) {
                std::vector<std::string> labels;
                nlohmann::json item = listing_item(entry, docker_host, labels, services.store(), now);
                if (matches(*filters, item, labels)) items.push_back(std::move(item));
            }
            return output->print_list(items);
        });
    });
}

}  // namespace berth::cli
