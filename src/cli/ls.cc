// berth ls: list machines, docker-machine style: a table by default, --format with a Go-style
// template ("table " prefix for aligned columns with headers), -q for names, --json for tools.

#include "app.h"

#include <berth/core/go_template.h>
#include <berth/provision/engine_options.h>
#include <berth/service/cert_expiry.h>

#include <iostream>
#include <regex>
#include <sstream>

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

// Go's text/tabwriter with minwidth 5, padding 3 (docker-machine's): tab-terminated cells are
// aligned in columns; a line's last cell is not padded.
std::string align_columns(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string> cells;
        size_t start = 0;
        for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
            cells.push_back(line.substr(start, tab - start));
        cells.push_back(line.substr(start));
        rows.push_back(std::move(cells));
    }
    std::vector<size_t> width;
    for (const auto& row : rows)
        for (size_t i = 0; i + 1 < row.size(); ++i) {
            if (width.size() <= i) width.resize(i + 1, 0);
            width[i] = std::max(width[i], std::max<size_t>(row[i].size() + 3, 5));
        }
    std::string out;
    for (const auto& row : rows) {
        for (size_t i = 0; i < row.size(); ++i) {
            out += row[i];
            if (i + 1 < row.size()) out += std::string(width[i] - row[i].size(), ' ');
        }
        out += '\n';
    }
    return out;
}

/// A Go-style template from --format: "table " asks for aligned columns with headers.
struct ListFormat {
    GoTemplate tmpl;
    bool table = false;
};

Result<ListFormat> parse_list_format(const std::string& given) {
    std::string format = given.empty() ? k_default_format : given;
    bool table = format.starts_with("table");
    if (table) format = format.substr(5);
    while (!format.empty() && format.front() == ' ') format.erase(0, 1);
    while (!format.empty() && format.back() == ' ') format.pop_back();
    for (auto [from, to] : {std::pair{"\\t", "\t"}, std::pair{"\\n", "\n"}})
        for (size_t p; (p = format.find(from)) != std::string::npos;) format.replace(p, 2, to);
    auto tmpl = GoTemplate::parse(format + "\n");
    if (!tmpl) return std::unexpected(tmpl.error());
    return ListFormat{std::move(*tmpl), table};
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

/// The items through the template, with a header row and aligned columns for "table".
Result<std::string> render_list(const ListFormat& format, const nlohmann::json& items) {
    std::string out;
    if (format.table) {
        nlohmann::json headers = {{"Name", "NAME"},          {"Active", "ACTIVE"},
                                  {"ActiveHost", "ACTIVE_HOST"}, {"DriverName", "DRIVER"},
                                  {"State", "STATE"},        {"URL", "URL"},
                                  {"DockerVersion", "DOCKER"}, {"Error", "ERRORS"},
                                  {"Labels", "LABELS"},      {"Weakened", "WEAKENED"},
                                  {"Errors", "ERRORS"},      {"CertExpiry", "CERT_EXPIRY"},
                                  {"CertExpiryOf", "CERT_EXPIRY_OF"}, {"CertWarnings", "CERT_WARNINGS"}};
        auto line = format.tmpl.render(headers);
        if (!line) return std::unexpected(line.error());
        out += *line;
    }
    for (const auto& item : items) {
        auto line = format.tmpl.render(item);
        if (!line) return std::unexpected(line.error());
        out += *line;
    }
    return format.table ? align_columns(out) : out;
}

}  // namespace

void add_ls(CLI::App& app, Context& ctx) {
    struct Options {
        bool quiet = false;
        bool json = false;
        std::vector<std::string> filters;
        std::string format;
    };
    auto opts = std::make_shared<Options>();
    auto* sub = app.add_subcommand("ls", "List machines");
    sub->add_flag("-q,--quiet", opts->quiet, "Print machine names only");
    sub->add_option("--filter", opts->filters,
                    "Keep machines matching driver=NAME, state=STATE, name=REGEX or label=KEY=VALUE "
                    "(repeatable; the same key ORs, different keys AND)")
        ->expected(1)
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    sub->add_option("-f,--format", opts->format,
                    "Go-style template per machine, e.g. '{{.Name}}: {{.URL}}'; prefix 'table ' for "
                    "aligned columns with headers. Fields: Name, Active, ActiveHost, DriverName, "
                    "State, URL, DockerVersion, Error, Labels, Weakened (what weakens the hardening), CertExpiry "
                    "and CertExpiryOf (the machine's certificate that ends first: ca, server or client), "
                    "CertWarnings (certificates that end within 30 days, have ended or cannot be read), Errors "
                    "(Error, Weakened and CertWarnings, the default table's ERRORS column)");
    sub->add_flag("--json", opts->json, "Print a JSON array of the machines");

    sub->callback([&ctx, opts] {
        set_action(ctx, [&ctx, opts]() -> Result<void> {
            if (opts->json && !opts->format.empty())
                return fail_usage("--json and --format cannot be used together");
            auto filters = parse_filters(opts->filters);
            if (!filters) return std::unexpected(filters.error());

            auto format = parse_list_format(opts->format);
            if (!format) return std::unexpected(format.error());

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

            if (opts->quiet) {
                for (const auto& item : items) std::cout << item["Name"].get<std::string>() << "\n";
                return {};
            }
            if (opts->json) {
                std::cout << items.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
                return {};
            }
            auto out = render_list(*format, items);
            if (!out) return std::unexpected(out.error());
            std::cout << *out;
            return {};
        });
    });
}

}  // namespace berth::cli
