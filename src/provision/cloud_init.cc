#include <berth/provision/cloud_init.h>

#include <berth/core/escape.h>
#include <berth/driver/user_name.h>

#include <berth/store/atomic_file.h>
#include <berth/store/store.h>
#include <berth/transport/known_hosts.h>
#include <berth/transport/ssh_key.h>

#include <nlohmann/json.hpp>

namespace berth {

namespace {

/// Every value goes into the YAML files as a double-quoted scalar (core/escape.h).
std::string json_quote(const std::string& s) { return yaml_string(s); }

/// Writes the files (0600) into `dir` and makes `iso` from them.
Result<void> make_iso(Runner& runner, const std::string& genisoimage, const CloudInitFiles& files,
                      const std::filesystem::path& dir, const std::filesystem::path& iso) {
    if (auto r = ensure_private_dir(dir); !r) return r;
    std::vector<std::pair<std::string, const std::string*>> wanted = {{"user-data", &files.user_data},
                                                                      {"meta-data", &files.meta_data}};
    if (!files.network_config.empty()) wanted.emplace_back("network-config", &files.network_config);
    wanted.emplace_back(k_seed_firstboot_file, &files.firstboot);
    Command command;
    command.argv = {genisoimage, "-output", iso.string(), "-volid", "cidata", "-joliet", "-rock", "-quiet"};
    std::error_code ec;
    std::filesystem::remove(dir / "network-config", ec);  // none from an earlier seed
    for (const auto& [file, content] : wanted) {
        if (auto r = write_file_atomic(dir / file, *content, 0600); !r) return r;
        command.argv.push_back((dir / file).string());
    }
    command.timeout = std::chrono::minutes(1);
    auto made = runner.run(command);
    if (!made) return std::unexpected(made.error());
    if (made->exit_status != 0)
        return fail("genisoimage could not make the cloud-init seed: " + made->err,
                    "check that genisoimage is installed and " + iso.parent_path().string() + " is writable");
    // It carries the VM's private host key.
    std::filesystem::permissions(iso, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
    if (ec) return fail("cannot make " + iso.string() + " private: " + ec.message());
    return {};
}

/// A MAC as the kernel shows it in /sys/class/net/*/address: six lower-case hex pairs.
std::optional<std::string> kernel_mac(std::string mac) {
    if (mac.size() != 17) return std::nullopt;
    for (std::size_t i = 0; i < mac.size(); ++i) {
        char& c = mac[i];
        if (i % 3 == 2) {
            if (c != ':') return std::nullopt;
            continue;
        }
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
    }
    return mac;
}

/// berth-firstboot.sh: every value a shell_quote()d word.
Result<std::string> render_firstboot(const TemplateSet& templates, const CloudInitSpec& spec) {
    if (!is_user_name(spec.user))
        return fail("the VM's login user \"" + spec.user + "\" is not a user name useradd can make",
                    "use lower-case letters, digits, '_' and '-', starting with a letter or '_'");
    std::string macs;
    for (const auto& m : spec.dhcp_macs) {
        auto mac = kernel_mac(m);
        if (!mac) return fail("the NIC address \"" + m + "\" is not a MAC (six hex pairs and colons)");
        macs += (macs.empty() ? "" : " ") + *mac;
    }
    nlohmann::json ctx = {
        {"hostname", shell_quote(spec.hostname)},
        {"user", shell_quote(spec.user)},
        {"ssh_public_key", shell_quote(spec.ssh_public_key)},
        {"host_key_private", shell_quote(spec.host_key_private)},
        {"host_key_public", shell_quote(spec.host_key_public)},
        {"data_disk", spec.data_disk ? "1" : "0"},
        {"macs", shell_quote(macs)},
    };
    return templates.render("seed-firstboot.sh", ctx);
}

}  // namespace

Result<CloudInitFiles> render_cloud_init(const TemplateSet& templates, const CloudInitSpec& spec) {
    nlohmann::json nics = nlohmann::json::array();
    for (std::size_t i = 0; i < spec.dhcp_macs.size(); ++i)
        nics.push_back({{"name", json_quote("eth" + std::to_string(i))}, {"mac", json_quote(spec.dhcp_macs[i])}});
    nlohmann::json ctx = {
        {"hostname", json_quote(spec.hostname)},
        {"user", json_quote(spec.user)},
        {"ssh_public_key", json_quote(spec.ssh_public_key)},
        {"instance_id", json_quote(spec.instance_id)},
        {"data_disk", spec.data_disk},
        {"has_host_key", !spec.host_key_private.empty()},
        {"host_key_private", json_quote(spec.host_key_private)},
        {"host_key_public", json_quote(spec.host_key_public)},
        {"nics", nics},
    };
    CloudInitFiles out;
    auto user_data = templates.render("cloud-init-user-data", ctx);
    if (!user_data) return std::unexpected(user_data.error());
    auto meta_data = templates.render("cloud-init-meta-data", ctx);
    if (!meta_data) return std::unexpected(meta_data.error());
    auto firstboot = render_firstboot(templates, spec);
    if (!firstboot) return std::unexpected(firstboot.error());
    out.user_data = std::move(*user_data);
    out.meta_data = std::move(*meta_data);
    out.firstboot = std::move(*firstboot);
    if (!spec.dhcp_macs.empty()) {
        auto network = templates.render("cloud-init-network-config", ctx);
        if (!network) return std::unexpected(network.error());
        out.network_config = std::move(*network);
    }
    return out;
}

Result<std::filesystem::path> make_vm_seed(Runner& runner, const std::string& genisoimage,
                                           const std::filesystem::path& machine_dir,
                                           const std::optional<std::filesystem::path>& templates_dir,
                                           CloudInitSpec spec) {
    const std::filesystem::path key = machine_dir / k_vm_ssh_key_file;
    std::error_code ec;
    if (!std::filesystem::exists(key, ec)) {
        if (auto r = generate_ssh_key(key, "berth-" + spec.hostname); !r) return std::unexpected(r.error());
    }
    auto pub = public_key_line(key);
    if (!pub) return std::unexpected(pub.error());
    spec.ssh_public_key = *pub;
    // The VM's host key: made here, pinned before the VM first boots, so the first connection is
    // verified like every later one.
    auto host_key = generate_ssh_key_pair("berth-" + spec.hostname + "-host");
    if (!host_key) return std::unexpected(host_key.error());
    auto pinned = parse_public_key_line(host_key->public_line);
    if (!pinned) return std::unexpected(pinned.error());
    if (auto r = pin_host_key(machine_dir / k_known_hosts_file, host_key_alias(spec.hostname), *pinned, true); !r)
        return std::unexpected(r.error());
    spec.host_key_private = std::move(host_key->private_openssh);
    spec.host_key_public = std::move(host_key->public_line);
    auto templates = TemplateSet::load(templates_dir);
    if (!templates) return std::unexpected(templates.error());
    auto files = render_cloud_init(*templates, spec);
    if (!files) return std::unexpected(files.error());
    const std::filesystem::path iso = machine_dir / "seed.iso";
    if (auto r = make_iso(runner, genisoimage, *files, machine_dir / "cloud-init", iso); !r)
        return std::unexpected(r.error());
    return iso;
}

Result<void> remove_vm_seed_files(const std::filesystem::path& machine_dir) {
    std::error_code ec;
    std::filesystem::remove(machine_dir / "seed.iso", ec);
    if (!ec) std::filesystem::remove_all(machine_dir / "cloud-init", ec);
    if (ec)
        return fail("cannot delete the cloud-init seed in " + machine_dir.string() + ": " + ec.message(),
                    "delete seed.iso and cloud-init/ there by hand: they hold the VM's private host key");
    return {};
}

}  // namespace berth
