#pragma once
/// A step that owns managed files: a file differs when it is missing or its digest, mode or
/// owner is not berth's, and applying uploads exactly the files that differ, then lets the step
/// say what reloads or restarts follow (activate). Steps whose units must run also report the
/// units' state (unit_drift).

#include <berth/provision/step.h>

#include <string>
#include <vector>

namespace berth {

class FileStep : public Step {
public:
    FileStep(std::string name, std::vector<ManagedFile> files);

    [[nodiscard]] std::string name() const override { return m_name; }
    /// A line per file that is missing or differs ("<path> differs (digest)", "<path> has mode
    /// 0644, not 0400", "<path> is owned by a:b, not root:root"), then unit_drift.
    [[nodiscard]] Drift check(const Facts& facts) const override;
    /// Uploads the files that differ, then activate with their paths.
    void apply(const Facts& facts, Changes& changes) const override;

protected:
    /// The state of the step's units that is not berth's; none by default.
    [[nodiscard]] virtual Drift unit_drift(const Facts& facts) const;
    /// What follows from writing `written` (the paths uploaded, maybe none) on a host in `facts`.
    virtual void activate(const Facts& facts, const std::vector<std::string>& written,
                          Changes& changes) const = 0;

private:
    std::string m_name;
    std::vector<ManagedFile> m_files;
};

}  // namespace berth
