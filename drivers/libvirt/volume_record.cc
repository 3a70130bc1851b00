#include <berth/drivers/libvirt/volume_record.h>

#include <berth/store/atomic_file.h>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace berth::libvirt {

namespace {

constexpr int k_version = 1;

/// The text of the first <tag> or <tag attr=...> element at or after `after` ("" if none).
std::string element_value(const std::string& xml, const std::string& after, const std::string& tag) {
    std::size_t at = xml.find(after);
    while (at != std::string::npos) {
        at = xml.find("<" + tag, at);
        if (at == std::string::npos) return {};
        const std::size_t end_of_name = at + 1 + tag.size();
        if (end_of_name < xml.size() && (xml[end_of_name] == '>' || xml[end_of_name] == ' ')) break;
        at = end_of_name;
    }
    if (at == std::string::npos) return {};
    const std::size_t open = xml.find('>', at);
    const std::size_t close = xml.find("</" + tag + ">", at);
    if (open == std::string::npos || close == std::string::npos || close < open) return {};
    return xml.substr(open + 1, close - open - 1);
}

/// "1796563804.793597046" or "1796563804"; not "0" (libvirt's "unknown").
bool is_timestamp(const std::string& text) {
    if (text.empty() || text == "0" || text.front() == '.' || text.back() == '.') return false;
    return std::count(text.begin(), text.end(), '.') <= 1 &&
           std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

}  // namespace

std::optional<VolumeStamp> parse_volume_stamp(const std::string& xml) {
    const std::string physical = element_value(xml, "<volume", "physical");
    if (physical.empty() || physical.find_first_not_of("0123456789") != std::string::npos ||
        physical.size() > 19)
        return std::nullopt;
    // The volume's own timestamps: in <target>, which comes before any <backingStore>.
    VolumeStamp stamp;
    stamp.size = std::stoull(physical);
    stamp.ctime = element_value(xml, "<target>", "ctime");
    stamp.mtime = element_value(xml, "<target>", "mtime");
    if (!is_timestamp(stamp.ctime) || !is_timestamp(stamp.mtime)) return std::nullopt;
    return stamp;
}

Result<std::optional<VolumeStamp>> read_volume_stamp(StorageVolume& volume) {
    auto xml = volume.xml();
    if (!xml) return std::unexpected(xml.error());
    return parse_volume_stamp(*xml);
}

VolumeRecords VolumeRecords::load(const std::filesystem::path& file) {
    VolumeRecords records;
    records.m_file = file;
    auto text = read_file(file);
    if (!text) {
        if (text.error().kind != ErrorKind::NotFound)
            spdlog::debug("[libvirt] ignoring volume records {}: {}", file.string(), text.error().message);
        return records;
    }
    try {
        const auto j = nlohmann::json::parse(*text);
        if (j.at("version").get<int>() != k_version) {
            spdlog::debug("[libvirt] ignoring volume records {}: version {}", file.string(),
                          j.at("version").dump());
            return records;
        }
        for (const auto& v : j.at("volumes")) {
            records.m_records.push_back(VolumeRecord{.uri = v.at("uri").get<std::string>(),
                                                     .pool = v.at("pool").get<std::string>(),
                                                     .volume = v.at("volume").get<std::string>(),
                                                     .sha256 = v.at("sha256").get<std::string>(),
                                                     .stamp = {.size = v.at("size").get<std::uint64_t>(),
                                                               .ctime = v.at("ctime").get<std::string>(),
                                                               .mtime = v.at("mtime").get<std::string>()}});
        }
    } catch (const nlohmann::json::exception& e) {
        spdlog::debug("[libvirt] ignoring damaged volume records {}: {}", file.string(), e.what());
        records.m_records.clear();
    }
    return records;
}

std::optional<VolumeRecord> VolumeRecords::find(const std::string& uri, const std::string& pool,
                                                const std::string& volume) const {
    for (const auto& r : m_records)
        if (r.uri == uri && r.pool == pool && r.volume == volume) return r;
    return std::nullopt;
}

void VolumeRecords::put(VolumeRecord record) {
    forget(record.uri, record.pool, record.volume);
    m_records.push_back(std::move(record));
}

void VolumeRecords::forget(const std::string& uri, const std::string& pool, const std::string& volume) {
    std::erase_if(m_records, [&](const VolumeRecord& r) {
        return r.uri == uri && r.pool == pool && r.volume == volume;
    });
}

Result<void> VolumeRecords::save() const {
    if (m_file.empty()) return fail("internal error: volume records without a file");
    nlohmann::json volumes = nlohmann::json::array();
    for (const auto& r : m_records)
        volumes.push_back({{"uri", r.uri},
                           {"pool", r.pool},
                           {"volume", r.volume},
                           {"sha256", r.sha256},
                           {"size", r.stamp.size},
                           {"ctime", r.stamp.ctime},
                           {"mtime", r.stamp.mtime}});
    const nlohmann::json j = {{"version", k_version}, {"volumes", volumes}};
    if (auto ok = ensure_private_dir(m_file.parent_path()); !ok) return ok;
    return write_file_atomic(m_file, j.dump(2) + "\n", 0600);
}

}  // namespace berth::libvirt
