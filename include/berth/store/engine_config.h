#pragma once
/// docker-machine's --engine-* options, one type from the flags to the record to the provisioner:
/// what a machine was created with, so that every later provision writes the same configuration.

#include <string>
#include <vector>

namespace berth {

struct EngineConfig {
    std::string install = "docker.io";             ///< "docker.io" (the distribution's) or "docker-ce"
    std::string version;                           ///< package version pin; "" = the repository's
    int port = 2376;                               ///< the port dockerd listens on in the machine
    std::vector<std::string> opts;                 ///< --engine-opt key=value -> daemon.json
    std::vector<std::string> insecure_opts;        ///< --insecure-engine-opt key=value: weakens the hardening
    std::vector<std::string> labels;               ///< --engine-label key=value
    std::vector<std::string> insecure_registries;  ///< --engine-insecure-registry
    std::vector<std::string> registry_mirrors;     ///< --engine-registry-mirror
    std::string storage_driver;                    ///< --engine-storage-driver
    std::vector<std::string> env;                  ///< --engine-env KEY=VALUE -> the dockerd unit
    std::string apt_proxy;                         ///< --engine-apt-proxy URL -> apt's proxy; "" = none
};

}  // namespace berth
