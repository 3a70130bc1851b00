#include <berth/provision/file_step.h>

#include <berth/core/digest.h>

namespace berth {
namespace {

// What differs between `want` and the file the facts found, one line each.
Drift file_drift(const ManagedFile& want, const Facts& facts) {
    auto it = facts.files.find(want.path);
    if (it == facts.files.end()) return {want.path + " is missing"};
    Drift drift;
    const auto& have = it->second;
    if (have.digest != sha256_hex(want.content)) drift.push_back(want.path + " differs (digest)");
    if (have.mode != want.mode)
        drift.push_back(want.path + " has mode " + mode_text(have.mode) + ", not " + mode_text(want.mode));
    if (have.owner != want.owner)
        drift.push_back(want.path + " is owned by " + have.owner + ", not " + want.owner);
    return drift;
}

}  // namespace

FileStep::FileStep(std::string name, std::vector<ManagedFile> files)
    : m_name(std::move(name)), m_files(std::move(files)) {}

Drift FileStep::check(const Facts& facts) const {
    Drift drift;
    for (const auto& f : m_files) {
        auto d = file_drift(f, facts);
        drift.insert(drift.end(), d.begin(), d.end());
    }
    auto units = unit_drift(facts);
    drift.insert(drift.end(), units.begin(), units.end());
    return drift;
}

void FileStep::apply(const Facts& facts, Changes& changes) const {
    std::vector<std::string> written;
    for (const auto& f : m_files) {
        if (file_drift(f, facts).empty()) continue;
        changes.uploads.push_back(f);
        changes.changed.push_back(f.path);
        written.push_back(f.path);
    }
    activate(facts, written, changes);
}

Drift FileStep::unit_drift(const Facts&) const {
    return {};
}

}  // namespace berth
