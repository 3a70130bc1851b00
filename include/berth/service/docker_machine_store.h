#pragma once
/// A docker-machine (0.16, ConfigVersion 3) store as `berth import` reads it, never writes it:
/// machines/NAME/config.json (libmachine/host/host.go's Host: ConfigVersion, Driver, DriverName,
/// HostOptions{Driver, Memory, Disk, EngineOptions, SwarmOptions, AuthOptions}, Name), the SSH key
/// the driver names (Driver.SSHKeyPath, machines/NAME/id_rsa) and the TLS files AuthOptions names
/// (the machine's ca.pem, cert.pem, key.pem, server.pem, server-key.pem; the store's certs/).
/// Every value is checked with berth's own rules before berth uses it (another party wrote it).

#include <berth/core/error.h>
#include <berth/driver/driver.h>
#include <berth/store/engine_config.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

/// One machine of a docker-machine store, as berth takes it over.
struct DockerMachineHost {
    std::string name;              ///< Name (= its directory's name)
    std::string driver_name;       ///< DriverName: "generic" or "virtualbox"
    OptionValues driver_options;   ///< berth's options of that driver ("ip-address", "memory", ...)
    AdoptedMachine adopted;        ///< the VM's name, address, SSH port and key file
    EngineConfig engine;           ///< HostOptions.EngineOptions that berth's --engine-* have
    /// The TLS files the docker CLI used: the CA, client certificate and key (required), the
    /// server certificate and key (optional: berth does not need them until it re-issues them).
    std::filesystem::path ca_cert, client_cert, client_key, server_cert, server_key;
    std::vector<std::string> ignored;  ///< docker-machine settings berth does not carry over, for a warning
};

/// The store docker-machine uses when none is given: $MACHINE_STORAGE_PATH, else
/// $HOME/.docker/machine. `env` looks a variable up.
[[nodiscard]] std::filesystem::path docker_machine_default_store(
    const std::function<std::optional<std::string>(const std::string&)>& env);

/// The machine directories of a store (machines/*/ holding a config.json), in natural order;
/// NotFound (saying which directory was looked in) when `store` has no machines/ directory.
[[nodiscard]] Result<std::vector<std::string>> docker_machine_names(const std::filesystem::path& store);

/// Parses machines/`dir_name`/config.json's text. `store` is the store berth was given: a path in
/// the file that names the store docker-machine wrote it in (StorePath) is taken relative to
/// `store` when it does not exist as written (a moved store); a file outside `store` is refused.
/// Errors name the machine and the field; a driver other than generic and virtualbox is an error
/// naming it.
[[nodiscard]] Result<DockerMachineHost> parse_docker_machine_config(std::string_view text,
                                                                  const std::filesystem::path& store,
                                                                  const std::string& dir_name);

/// Reads and parses machines/`name`/config.json of `store`.
[[nodiscard]] Result<DockerMachineHost> read_docker_machine(const std::filesystem::path& store,
                                                          const std::string& name);

}  // namespace berth
