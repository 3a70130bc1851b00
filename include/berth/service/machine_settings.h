#pragma once
/// `berth set`'s engine changes (MachineService::set, SetRequest): edits of a machine's
/// --engine-env, --engine-opt and --engine-label lists, and what they change.

#include <berth/core/error.h>
#include <berth/store/engine_config.h>

#include <string>
#include <vector>

namespace berth {

/// Changes to the machine's --engine-env, --engine-opt and --engine-label lists. A KEY=VALUE
/// entry replaces every entry of its KEY (in the place of the first; appended when the key is
/// new), so `--engine-opt dns=1.1.1.1 --engine-opt dns=8.8.8.8` sets both of dns's values; an
/// unset KEY removes every entry of it.
struct EngineEdits {
    std::vector<std::string> env, opts, labels;                    ///< KEY=VALUE
    std::vector<std::string> unset_env, unset_opts, unset_labels;  ///< KEY
    [[nodiscard]] bool empty() const;
};

/// `engine` with `edits` applied. A Usage error for an entry without '=' or with an empty key,
/// or a key both set and unset; the values themselves are checked afterwards as create checks
/// them (validate_engine_options, check_engine_config).
[[nodiscard]] Result<EngineConfig> apply_engine_edits(EngineConfig engine, const EngineEdits& edits);

/// What differs between two engine configurations, one line per key that changed, naming the
/// flag and key but never an --engine-env value (it may hold a password): "--engine-env
/// HTTP_PROXY changed", "--engine-opt dns removed".
[[nodiscard]] std::vector<std::string> describe_engine_change(const EngineConfig& from, const EngineConfig& to);

}  // namespace berth
