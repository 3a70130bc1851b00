#include <berth/drivers/virtualbox/virtualbox_driver.h>

#include <berth/core/digest.h>
#include <berth/core/host_cpu.h>
#include <berth/driver/machine_size.h>
#include <berth/driver/option_defaults.h>
#include <berth/driver/ports.h>
#include <berth/driver/qcow2.h>
#include <berth/driver/settings.h>
#include <berth/driver/tool_probe.h>
#include <berth/driver/user_name.h>
#include <berth/driver/wait.h>
#include <berth/provision/cloud_init.h>
#include <berth/store/atomic_file.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <set>
#include <sstream>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace berth {

namespace virtualbox {

Result<HostOnlyCidr> parse_hostonly_cidr(std::string_view text) {
    auto bad = [&] {
        return fail_usage("--virtualbox-hostonly-cidr must be the host's address and a prefix from 8 to 24, such as "
                          "192.168.56.1/24, not \"" + std::string(text) + "\"");
    };
    auto slash = text.find('/');
    if (slash == std::string_view::npos) return bad();
    const std::string addr(text.substr(0, slash));
    const std::string prefix(text.substr(slash + 1));
    in_addr a{};
    if (::inet_pton(AF_INET, addr.c_str(), &a) != 1) return bad();
    HostOnlyCidr cidr;
    cidr.host = ntohl(a.s_addr);
    if (prefix.empty() || prefix.size() > 2 ||
        std::from_chars(prefix.data(), prefix.data() + prefix.size(), cidr.prefix).ptr != prefix.data() + prefix.size())
        return bad();
    if (cidr.prefix < 8 || cidr.prefix > 24) return bad();
    const std::uint32_t host_part = cidr.host & ~cidr.mask();
    if (host_part == 0 || host_part == ~cidr.mask()) return bad();  // the network or broadcast address
    return cidr;
}

std::string ipv4_text(std::uint32_t address) {
    return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
           std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

bool hostonly_range_allowed(const VBoxVersion& version, const HostOnlyCidr& cidr, std::string_view networks_conf) {
    if (!version.at_least(6, 1, 28)) return true;
    auto inside = [&](std::uint32_t net, int prefix) {
        if (prefix < 0 || prefix > 32 || cidr.prefix < prefix) return false;
        const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t(0) << (32 - prefix);
        return (cidr.network() & mask) == (net & mask);
    };
    if (inside(0xC0A83800U, 21)) return true;  // 192.168.56.0/21
    std::istringstream lines{std::string(networks_conf)};
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string star;
        if (!(words >> star) || star != "*") continue;
        for (std::string range; words >> range;) {
            auto slash = range.find('/');
            if (slash == std::string::npos) continue;
            in_addr a{};
            if (::inet_pton(AF_INET, range.substr(0, slash).c_str(), &a) != 1) continue;
            int prefix = -1;
            const char* bits = range.c_str() + slash + 1;
            if (std::from_chars(bits, range.c_str() + range.size(), prefix).ptr != range.c_str() + range.size()) continue;
            if (inside(ntohl(a.s_addr), prefix)) return true;
        }
    }
    return false;
}

std::string address_in(std::string_view ip_addr_output, const HostOnlyCidr& cidr) {
    std::istringstream lines{std::string(ip_addr_output)};
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        for (std::string w; words >> w;) {
            if (w != "inet" || !(words >> w)) continue;
            const std::string addr = w.substr(0, w.find('/'));
            in_addr a{};
            if (::inet_pton(AF_INET, addr.c_str(), &a) == 1 && (ntohl(a.s_addr) & cidr.mask()) == cidr.network() &&
                ntohl(a.s_addr) != cidr.host)
                return addr;
        }
    }
    return "";
}

MachineState map_vm_state(std::string_view s) {
    if (s == "running") return MachineState::Running;
    if (s == "paused") return MachineState::Paused;
    if (s == "saved") return MachineState::Saved;
    if (s == "poweroff" || s == "aborted") return MachineState::Stopped;
    if (s == "stopping") return MachineState::Stopping;
    if (s == "starting" || s == "restoring") return MachineState::Starting;
    return MachineState::Error;
}

}  // namespace virtualbox

namespace {

using namespace virtualbox;

constexpr const char* k_made_file = "virtualbox-made.json";
constexpr int k_guest_engine_port = 2376;
/// Global extradata keys (+ adapter name) marking what berth made, so any berth rm can clean it.
const std::string k_made_key_if = "berth/hostonlyif/";
const std::string k_made_key_dhcp = "berth/dhcpserver/";
const std::set<std::string> k_nic_types = {"Am79C970A", "Am79C973", "82540EM", "82543GC", "82545EM", "virtio"};
const std::set<std::string> k_ui_types = {"headless", "gui", "sdl", "separate"};

std::string random_uuid() {
    std::string h = random_hex(16);
    h[12] = '4';                                                        // version 4
    h[16] = "89ab"[std::string("0123456789abcdef").find(h[16]) & 3U];  // variant 10xx
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

/// VirtualBox's own prefix 08:00:27, as modifyvm wants it (12 hex digits, no separators).
std::string random_mac() {
    std::string m = "080027" + random_hex(3);
    for (auto& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return m;
}

std::string colon_mac(const std::string& mac) {
    std::string out;
    for (std::size_t i = 0; i < mac.size(); ++i) {
        if (i > 0 && i % 2 == 0) out += ':';
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(mac[i])));
    }
    return out;
}

/// The options, with the driver's defaults: read by name wherever the driver needs one.
const std::vector<DriverOption>& virtualbox_options() {
    static const std::vector<DriverOption> options = {
        {"memory", "Memory of the VM in MiB", "2048", OptionType::Int, false, false, true},
        {"cpu-count", "Number of virtual CPUs", "2", OptionType::Int, false, false, true},
        {"disk-size", "Size of the disk in MB", "20000", OptionType::Int, false, false},
        {"image", "Image from berth's cache (`berth image ls`), converted to VDI", "debian-12", OptionType::String, false,
         false},
        {"ssh-user", "User cloud-init makes for berth (with sudo)", "docker", OptionType::String, false, false},
        {"hostonly", "Add a host-only adapter (NIC 2) with a DHCP server", "", OptionType::Bool, false, false},
        {"hostonly-cidr", "Host's address and prefix on the host-only network", "192.168.56.1/24", OptionType::String,
         false, false},
        {"hostonly-nictype", "NIC type of the host-only adapter", "82540EM", OptionType::String, false, false},
        {"nat-nictype", "NIC type of the NAT adapter", "82540EM", OptionType::String, false, false},
        {"ui-type", "How the VM is started: headless, gui, sdl or separate", "headless", OptionType::String, false,
         false},
        {"no-vtx-check", "Do not check for VT-x/AMD-V before creating", "", OptionType::Bool, false, false},
        {"share-folder", "Share HOST_PATH[:NAME] with the VM (none by default)", "", OptionType::String, false, false},
        {"no-share", "Share no folder (the default; overrides --virtualbox-share-folder)", "", OptionType::Bool, false,
         false},
    };
    return options;
}

std::string virtualbox_default(std::string_view name) { return option_default(virtualbox_options(), name); }
int virtualbox_default_int(std::string_view name) { return option_default_int(virtualbox_options(), name); }

class VirtualBoxDriver final : public Driver {
    /// `berth set`'s memory and CPUs, checked as configure() checks them; the machine's own
    /// where not given.
    Result<MachineSize> settable_size(const OptionValues& values) const {
        if (auto ok = check_settable("virtualbox", virtualbox_options(), values); !ok)
            return std::unexpected(ok.error());
        auto memory = option_int(values, "virtualbox", "memory", m_memory, 256, 1024 * 1024, " (MiB)");
        if (!memory) return std::unexpected(memory.error());
        auto cpus = option_int(values, "virtualbox", "cpu-count", m_cpus, 1, 64, "");
        if (!cpus) return std::unexpected(cpus.error());
        return MachineSize{*memory, *cpus};
    }

public:
    VirtualBoxDriver(DriverContext ctx, VirtualBoxHooks hooks)
        : m_ctx(std::move(ctx)), m_hooks(std::move(hooks)), m_vbox(*m_ctx.runner, m_hooks.vboxmanage) {
        settings().reset(*this);
    }

    std::string_view name() const override { return "virtualbox"; }
    const std::string& uuid() const { return m_uuid; }
    VBoxManage& vboxmanage() { return m_vbox; }

    Result<void> configure(const OptionValues& values) override {
        const auto& options = virtualbox_options();
        auto memory = option_int_or_default(values, options, "virtualbox", "memory", 256, 1024 * 1024, " (MiB)");
        if (!memory) return std::unexpected(memory.error());
        auto cpus = option_int_or_default(values, options, "virtualbox", "cpu-count", 1, 64, "");
        if (!cpus) return std::unexpected(cpus.error());
        auto disk = option_int_or_default(values, options, "virtualbox", "disk-size", 2000, 2 * 1024 * 1024, " (MB)");
        if (!disk) return std::unexpected(disk.error());
        m_memory = *memory;
        m_cpus = *cpus;
        m_disk_mb = *disk;
        m_cidr_text = option_or_default(values, options, "hostonly-cidr");
        if (auto cidr = parse_hostonly_cidr(m_cidr_text); !cidr) return std::unexpected(cidr.error());
        for (const auto& [option, slot] : {std::pair{"hostonly-nictype", &m_hostonly_nictype},
                                           std::pair{"nat-nictype", &m_nat_nictype}}) {
            *slot = option_or_default(values, options, option);
            if (!k_nic_types.contains(*slot))
                return fail_usage(std::string("--virtualbox-") + option + " must be one of Am79C970A, Am79C973, 82540EM, "
                                  "82543GC, 82545EM or virtio, not \"" + *slot + "\"");
        }
        m_ui_type = option_or_default(values, options, "ui-type");
        if (!k_ui_types.contains(m_ui_type))
            return fail_usage("--virtualbox-ui-type must be headless, gui, sdl or separate, not \"" + m_ui_type + "\"");
        m_no_vtx_check = option_flag_set(values, "no-vtx-check");
        m_hostonly = option_flag_set(values, "hostonly");
        m_share = option_flag_set(values, "no-share") ? "" : option_or_default(values, options, "share-folder");
        if (!m_share.empty()) {
            auto colon = m_share.rfind(':');
            const std::string path = colon == std::string::npos ? m_share : m_share.substr(0, colon);
            if (path.empty() || path.front() != '/' || (colon != std::string::npos && colon + 1 == m_share.size()))
                return fail_usage("--virtualbox-share-folder must be HOST_PATH[:SHARE_NAME] with an absolute path, not \"" +
                                  m_share + "\"");
        }
        m_image = option_or_default(values, options, "image");
        m_user = option_or_default(values, options, "ssh-user");
        if (m_user == "root" || !is_user_name(m_user))
            return fail_usage("--virtualbox-ssh-user must be a Linux user name other than root, not \"" + m_user + "\"");
        // Chosen now so that the record names the VM before it exists: rm finds a half-made one.
        m_uuid = random_uuid();
        m_nat_mac = random_mac();
        if (m_hostonly) m_hostonly_mac = random_mac();
        return {};
    }

    Result<void> precreate_check() override {
        auto version = checked_version();
        if (!version) return std::unexpected(version.error());
        if (!m_no_vtx_check) {
            const std::string cpuinfo = m_hooks.cpuinfo ? m_hooks.cpuinfo() : read_file("/proc/cpuinfo").value_or("");
            if (!cpu_has_hw_virt(cpuinfo))
                return fail_kind(ErrorKind::PrecreateCheck,
                                 "this computer has no VT-x or AMD-V (no vmx or svm CPU flag), so VirtualBox cannot "
                                 "start a 64-bit VM",
                                 "enable virtualization in the firmware settings, or pass --virtualbox-no-vtx-check "
                                 "if you know better");
        }
        if (m_hostonly) {
            auto cidr = parse_hostonly_cidr(m_cidr_text);
            if (!cidr) return std::unexpected(cidr.error());
            if (!hostonly_range_allowed(*version, *cidr, read_file(m_hooks.networks_conf).value_or("")))
                return fail_kind(ErrorKind::PrecreateCheck,
                                 "VirtualBox " + version->text + " allows host-only networks only in 192.168.56.0/21 "
                                 "unless " + m_hooks.networks_conf.string() + " lists others; " + m_cidr_text +
                                     " is outside",
                                 "use --virtualbox-hostonly-cidr " + virtualbox_default("hostonly-cidr") +
                                     " (the default), or add a line such as "
                                 "\"* " + ipv4_text(cidr->network()) + "/" + std::to_string(cidr->prefix) + "\" to " +
                                     m_hooks.networks_conf.string());
        }
        for (const auto& [tool, why] : {std::pair{m_hooks.genisoimage, "it makes the cloud-init seed; install genisoimage"},
                                        std::pair{m_hooks.qemu_img, "it converts the image; install qemu-utils"}}) {
            ToolProbe probe{.program = tool,
                            .version_args = {tool == m_hooks.genisoimage ? "-version" : "--version"},
                            .missing = {},
                            .hint = why,
                            .package = {},
                            .minimum = {}};
            if (auto r = probe_tool(*m_ctx.runner, probe); !r) return std::unexpected(r.error());
        }
        if (!m_ctx.image) return fail_kind(ErrorKind::PrecreateCheck, "internal error: no image resolver");
        auto image = m_ctx.image(m_image);
        if (!image) {
            Error e = image.error();
            e.kind = ErrorKind::PrecreateCheck;
            return std::unexpected(e);
        }
        if (!image->kernel.empty())
            return fail_kind(ErrorKind::PrecreateCheck,
                             "image " + m_image + " boots by direct kernel boot (it has no bootloader, as images from "
                             "`berth image build` do), which VirtualBox cannot do",
                             "use a cloud image that boots by itself: `berth image rm debian-12; berth image pull debian-12` (Debian's official "
                             "one) or --virtualbox-image with another");
        return {};
    }

    Result<void> create() override {
        // 1. What needs no VirtualBox: ports, key, seed, disk.
        auto ssh_port = free_loopback_port({});
        if (!ssh_port) return std::unexpected(ssh_port.error());
        auto docker_port = free_loopback_port({*ssh_port});
        if (!docker_port) return std::unexpected(docker_port.error());
        m_ssh_port = *ssh_port;
        m_docker_port = *docker_port;
        if (auto r = make_seed(); !r) return r;
        auto disk = make_disk();
        if (!disk) return std::unexpected(disk.error());

        // 2. The VM, by the UUID chosen at configure (what rm looks for).
        spdlog::info("Creating VirtualBox VM {}...", m_ctx.machine);
        if (auto r = vbox({"createvm", "--name", m_ctx.machine, "--uuid", m_uuid, "--ostype", "Debian_64",
                           "--basefolder", m_ctx.machine_dir.string(), "--register"});
            !r)
            return std::unexpected(r.error());
        if (auto r = vbox({"modifyvm", m_uuid, "--firmware", "bios", "--memory", std::to_string(m_memory), "--cpus",
                           std::to_string(m_cpus), "--acpi", "on", "--ioapic", "on", "--rtcuseutc", "on", "--pae",
                           "on", "--longmode", "on", "--hpet", "on", "--hwvirtex", "on", "--nestedpaging", "on",
                           "--largepages", "on", "--vtxvpid", "on", "--accelerate3d", "off", "--graphicscontroller",
                           "vmsvga", "--vram", "16", "--usb", "off", "--boot1", "disk", "--boot2", "dvd", "--boot3",
                           "none", "--boot4", "none", "--uart1", "0x3F8", "4", "--uartmode1", "file",
                           (m_ctx.machine_dir / "console.log").string()});
            !r)
            return std::unexpected(r.error());
        if (auto r = vbox({"modifyvm", m_uuid, "--nic1", "nat", "--nictype1", m_nat_nictype, "--cableconnected1", "on",
                           "--macaddress1", m_nat_mac, "--natdnsproxy1", "on", "--natpf1", forward("ssh", m_ssh_port, 22),
                           "--natpf1", forward("docker", m_docker_port, k_guest_engine_port)});
            !r)
            return std::unexpected(r.error());
        if (m_hostonly) {
            auto lock = hostonly_lock();
            if (!lock) return std::unexpected(lock.error());
            if (auto r = attach_hostonly(); !r) return r;
        }
        if (auto r = vbox({"storagectl", m_uuid, "--name", "SATA", "--add", "sata", "--hostiocache", "on"}); !r)
            return std::unexpected(r.error());
        if (auto r = vbox({"storageattach", m_uuid, "--storagectl", "SATA", "--port", "0", "--device", "0", "--type",
                           "hdd", "--medium", disk->string()});
            !r)
            return std::unexpected(r.error());
        if (auto r = vbox({"storageattach", m_uuid, "--storagectl", "SATA", "--port", "1", "--device", "0", "--type",
                           "dvddrive", "--medium", (m_ctx.machine_dir / "seed.iso").string()});
            !r)
            return std::unexpected(r.error());
        if (!m_share.empty()) {
            auto colon = m_share.rfind(':');
            const std::string path = colon == std::string::npos ? m_share : m_share.substr(0, colon);
            const std::string share = colon == std::string::npos ? std::filesystem::path(path).filename().string()
                                                                 : m_share.substr(colon + 1);
            if (auto r = vbox({"sharedfolder", "add", m_uuid, "--name", share, "--hostpath", path, "--automount"}); !r)
                return std::unexpected(r.error());
        }
        // 3. Boot. The core then waits for SSH on the forwarded port and provisions.
        spdlog::info("Starting VirtualBox VM {} ({})...", m_ctx.machine, m_ui_type);
        if (auto r = vbox({"startvm", m_uuid, "--type", m_ui_type}); !r) return std::unexpected(r.error());
        return {};
    }

    Result<std::vector<std::string>> settings_change(const OptionValues& values) const override {
        auto size = settable_size(values);
        if (!size) return std::unexpected(size.error());
        return describe_size_change({m_memory, m_cpus}, *size);
    }

    Result<void> change_settings(const OptionValues& values) override {
        auto size = settable_size(values);
        if (!size) return std::unexpected(size.error());
        auto state = vm_state();
        if (!state) return std::unexpected(state.error());
        if (*state == "saved")
            return fail("VM " + m_ctx.machine + " has a saved state, which keeps its memory and CPUs",
                        "start it and run `berth set` with --restart, or discard the saved state with "
                        "`VBoxManage discardstate " + m_uuid + "`");
        if (auto r = vbox({"modifyvm", m_uuid, "--memory", std::to_string(size->memory_mib), "--cpus",
                           std::to_string(size->cpus)});
            !r)
            return std::unexpected(r.error());
        m_memory = size->memory_mib;
        m_cpus = size->cpus;
        return {};
    }

    /// A VM docker-machine made: found by its name, its UUID, MACs, host-only adapter and SSH
    /// forward read from showvminfo (nothing changed in VirtualBox). Docker is reached on its
    /// host-only address, as docker-machine reached it (docker_url), until berth adds a forward.
    Result<void> adopt(const AdoptedMachine& machine) override {
        auto out = vbox({"showvminfo", machine.vm_name, "--machinereadable"});
        if (!out) return std::unexpected(out.error());
        auto info = parse_machinereadable(out->out);
        auto value = [&](const std::string& key) { return info.contains(key) ? info.at(key) : std::string(); };
        m_uuid = value("UUID");
        if (m_uuid.empty()) return fail("VBoxManage showvminfo printed no UUID for VM " + machine.vm_name);
        m_nat_mac = value("macaddress1");
        m_hostonly = value("nic2") == "hostonly";
        m_hostonly_mac = m_hostonly ? value("macaddress2") : "";
        m_hostonly_ip = m_hostonly ? machine.address : "";
        m_ssh_port = machine.ssh_port;
        for (const auto& [key, rule] : info) {
            if (!key.starts_with("Forwarding(") || !rule.starts_with("ssh,tcp,")) continue;
            std::vector<std::string> parts;
            for (std::string_view rest = rule;;) {
                const auto comma = rest.find(',');
                parts.emplace_back(rest.substr(0, comma));
                if (comma == std::string_view::npos) break;
                rest.remove_prefix(comma + 1);
            }
            if (parts.size() == 6) {
                auto port = parse_port(parts[3], "the VM's ssh forward");
                if (!port) return std::unexpected(port.error());
                m_ssh_port = *port;
            }
        }
        m_docker_port = 0;
        auto key = read_file(machine.ssh_key);
        if (!key) return std::unexpected(key.error());
        return write_file_atomic(m_ctx.machine_dir / k_vm_ssh_key_file, *key, 0600);
    }

    Result<void> start() override {
        auto state = vm_state();
        if (!state) return std::unexpected(state.error());
        if (*state == "running") return {};
        if (*state == "paused") {
            if (auto r = vbox({"controlvm", m_uuid, "resume"}); !r) return std::unexpected(r.error());
            return {};
        }
        if (*state != "saved") {  // a saved VM's forwards cannot be changed; it keeps its own
            if (auto r = ensure_ports_free(); !r) return r;
        }
        if (auto r = vbox({"startvm", m_uuid, "--type", m_ui_type}); !r) return std::unexpected(r.error());
        return {};
    }

    Result<void> stop() override {
        auto state = vm_state();
        if (!state) return std::unexpected(state.error());
        if (*state == "poweroff" || *state == "aborted" || *state == "saved") return {};
        if (*state == "paused") {
            if (auto r = vbox({"controlvm", m_uuid, "resume"}); !r) return std::unexpected(r.error());
        }
        if (auto r = vbox({"controlvm", m_uuid, "acpipowerbutton"}); !r) return std::unexpected(r.error());
        Clock& clock = driver_clock(m_ctx);
        std::string last;
        return wait_until(
            clock, clock.now() + m_hooks.shutdown_timeout, m_hooks.poll_interval,
            [&]() -> Result<WaitStep> {
                auto now = vm_state();
                if (!now) return std::unexpected(now.error());
                last = *now;
                return last == "poweroff" || last == "aborted" ? WaitStep::Done : WaitStep::NotYet;
            },
            [&] {
                return fail("VirtualBox VM " + m_ctx.machine + " did not power off within " +
                                whole_seconds(m_hooks.shutdown_timeout) + " of the ACPI power button (it is " + last +
                                ")",
                            "`berth kill " + m_ctx.machine + "` powers it off at once")
                    .error();
            });
    }

    Result<void> restart() override {
        if (auto r = stop(); !r) return r;
        return start();
    }

    Result<void> kill() override {
        auto state = vm_state();
        if (!state) return std::unexpected(state.error());
        if (*state == "poweroff" || *state == "aborted") return {};
        if (*state == "saved") return {};  // not running: nothing to cut
        if (auto r = vbox({"controlvm", m_uuid, "poweroff"}); !r) return std::unexpected(r.error());
        return {};
    }

    Result<void> remove() override {
        if (!m_uuid.empty()) {
            auto state = vm_state();
            if (!state && state.error().kind != ErrorKind::NotFound) return std::unexpected(state.error());
            if (state) {
                if (*state == "running" || *state == "paused" || *state == "stuck") {
                    if (auto r = vbox({"controlvm", m_uuid, "poweroff"}); !r) return std::unexpected(r.error());
                }
                // --delete: the settings, logs and the disks attached to it (the seed DVD is left
                // in the machine's folder, which the store removes next).
                if (auto r = vbox({"unregistervm", m_uuid, "--delete"}); !r) return std::unexpected(r.error());
            } else {
                spdlog::info("VirtualBox VM {} ({}) is gone already", m_ctx.machine, m_uuid);
            }
        }
        auto lock = hostonly_lock();
        if (!lock) return std::unexpected(lock.error());
        return remove_hostonly_if_unused();
    }

    /// The host-only interfaces and their DHCP servers are shared by machines: one berth
    /// process at a time finds, makes or removes them (store-wide lock), so parallel creates
    /// do not make two interfaces for one network, nor remove one another still attaches.
    Result<std::optional<FileLock>> hostonly_lock() {
        if (!m_ctx.shared_lock || (m_hostonly_if.empty() && !m_hostonly)) return std::optional<FileLock>();
        auto lock = m_ctx.shared_lock("virtualbox-hostonly", "VirtualBox's host-only network and DHCP server");
        if (!lock) return std::unexpected(lock.error());
        return std::optional<FileLock>(std::move(*lock));
    }

    Result<void> discard_seed() override {
        // An empty drive in the seed's place (a DVD can change while the VM runs), then the image
        // leaves VirtualBox's media registry and the disk.
        const std::string iso = (m_ctx.machine_dir / "seed.iso").string();
        if (auto r = vbox({"storageattach", m_uuid, "--storagectl", "SATA", "--port", "1", "--device", "0", "--type",
                           "dvddrive", "--medium", "emptydrive"});
            !r)
            return std::unexpected(r.error());
        if (auto r = vbox({"closemedium", "dvd", iso}); !r) return std::unexpected(r.error());
        return remove_vm_seed_files(m_ctx.machine_dir);
    }

    std::string removal_note() const override {
        return m_kept_note;
    }

    Result<MachineState> state() override {
        auto state = vm_state();
        if (!state) return std::unexpected(state.error());
        return map_vm_state(*state);
    }

    /// With a host-only adapter: its address as the guest reports it (Guest Additions), else as
    /// `ip addr` shows it over SSH (a machine whose host key is pinned); else, and without one,
    /// 127.0.0.1, where the forwards are.
    Result<std::string> ip() override {
        if (m_hostonly) {
            auto r = vbox({"guestproperty", "get", m_uuid, "/VirtualBox/GuestInfo/Net/1/V4/IP"});
            if (!r) return std::unexpected(r.error());
            if (r->out.starts_with("Value: ")) {
                std::string v = r->out.substr(7);
                while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
                if (!v.empty()) {
                    m_hostonly_ip = v;
                    return v;
                }
            }
            if (auto v = hostonly_address_over_ssh(); !v.empty()) {
                m_hostonly_ip = v;
                return v;
            }
        }
        return std::string("127.0.0.1");
    }

    Result<std::string> docker_url() override {
        // A VM docker-machine made has no Docker forward: its host-only address, as there.
        if (m_docker_port == 0 && !m_hostonly_ip.empty())
            return "tcp://" + m_hostonly_ip + ":" + std::to_string(k_guest_engine_port);
        if (m_docker_port == 0) return fail("machine " + m_ctx.machine + " has no Docker port forward yet");
        return "tcp://127.0.0.1:" + std::to_string(m_docker_port);
    }

    Result<SshEndpoint> ssh_endpoint() override {
        if (m_ssh_port == 0) return fail("machine " + m_ctx.machine + " has no SSH port forward yet");
        return SshEndpoint{"127.0.0.1", m_ssh_port, m_user, m_ctx.machine_dir / k_vm_ssh_key_file};
    }

    /// SSH and Docker are reached through NAT forwards; inside, they listen on 22 and 2376.
    std::optional<GuestPorts> guest_ports() const override { return GuestPorts{22, k_guest_engine_port}; }

    std::vector<std::string> cert_sans() override {
        if (m_hostonly_ip.empty()) return {};
        return {m_hostonly_ip};
    }

    nlohmann::json save() const override { return settings().save(*this); }

    Result<void> load(const nlohmann::json& saved) override {
        if (auto r = settings().load(*this, saved, "the virtualbox settings in the machine's record are damaged: "); !r)
            return r;
        // The host-only adapter create attached, written down as soon as it was chosen.
        const auto made_path = m_ctx.machine_dir / k_made_file;
        std::error_code ec;
        const bool made = std::filesystem::exists(made_path, ec);
        if (ec) return fail("cannot read " + made_path.string() + ": " + ec.message());
        if (made) {
            const auto j = nlohmann::json::parse(read_file(made_path).value_or("{}"), nullptr, false);
            const auto nic = j.is_object() ? j.find("hostonly_if") : j.end();
            if (!j.is_object() || (nic != j.end() && !nic->is_string()))
                return fail("cannot read " + made_path.string() + ": not the JSON object berth writes",
                            "fix or remove the file");
            m_hostonly_if = nic != j.end() ? nic->get<std::string>() : std::string();
        }
        return {};
    }

private:
    /// The record's "driver" object: every setting once, with its default for older records.
    static const SettingsSchema<VirtualBoxDriver>& settings() {
        using D = VirtualBoxDriver;
        static const SettingsSchema<D> schema = [] {
            SettingsSchema<D> s;
            s.field("uuid", &D::m_uuid, "")
                .field("memory", &D::m_memory, virtualbox_default_int("memory"))
                .field("cpu_count", &D::m_cpus, virtualbox_default_int("cpu-count"))
                .field("disk_size_mb", &D::m_disk_mb, virtualbox_default_int("disk-size"))
                .field("image", &D::m_image, virtualbox_default("image"))
                .field("ssh_user", &D::m_user, virtualbox_default("ssh-user"))
                .field("ssh_port", &D::m_ssh_port, 0)
                .field("docker_port", &D::m_docker_port, 0)
                .field("nat_nictype", &D::m_nat_nictype, virtualbox_default("nat-nictype"))
                .field("nat_mac", &D::m_nat_mac, "")
                .field("hostonly", &D::m_hostonly, false)
                .field("hostonly_cidr", &D::m_cidr_text, virtualbox_default("hostonly-cidr"))
                .field("hostonly_nictype", &D::m_hostonly_nictype, virtualbox_default("hostonly-nictype"))
                .field("hostonly_mac", &D::m_hostonly_mac, "")
                .field("hostonly_ip", &D::m_hostonly_ip, "")
                .field("ui_type", &D::m_ui_type, virtualbox_default("ui-type"))
                .field("share_folder", &D::m_share, virtualbox_default("share-folder"));
            return s;
        }();
        return schema;
    }

    Result<CommandResult> vbox(const std::vector<std::string>& args) { return m_vbox.run(args); }

    static std::string forward(const std::string& name, int host_port, int guest_port) {
        return name + ",tcp,127.0.0.1," + std::to_string(host_port) + ",," + std::to_string(guest_port);
    }

    /// The guest's IPv4 address inside the host-only network, from `ip -4 -o addr show` over SSH;
    /// "" when SSH cannot be had (not pinned yet, guest down) or no address is in the network.
    std::string hostonly_address_over_ssh() {
        if (!m_ctx.ssh) return "";
        auto endpoint = ssh_endpoint();
        auto cidr = parse_hostonly_cidr(m_cidr_text);
        if (!endpoint || !cidr) return "";
        auto session = m_ctx.ssh(*endpoint);
        if (!session) {
            spdlog::debug("no host-only address of {} over SSH: {}", m_ctx.machine, session.error().message);
            return "";
        }
        auto out = (*session)->run("ip -4 -o addr show", std::chrono::seconds(20));
        if (!out || out->exit_status != 0) return "";
        return address_in(out->out, *cidr);
    }

    Result<VBoxVersion> checked_version() {
        auto out = vbox({"--version"});
        if (!out) {
            Error e = out.error();
            e.kind = ErrorKind::PrecreateCheck;
            return std::unexpected(e);
        }
        auto version = parse_version(out->out);
        if (!version) {
            Error e = version.error();
            e.kind = ErrorKind::PrecreateCheck;
            return std::unexpected(e);
        }
        if (!version->at_least(6, 1))
            return fail_kind(ErrorKind::PrecreateCheck,
                             "VirtualBox " + version->text + " is too old: berth needs 6.1 or later",
                             "upgrade VirtualBox (virtualbox.org); 5.x and 6.0 are out of support");
        return version;
    }

    /// The VM's VMState ("running", "poweroff"...); NotFound, saying so, when it is gone.
    Result<std::string> vm_state() {
        if (m_uuid.empty()) return fail_kind(ErrorKind::NotFound, "machine " + m_ctx.machine + " has no VirtualBox VM yet");
        auto out = vbox({"showvminfo", m_uuid, "--machinereadable"});
        if (!out) {
            if (out.error().kind == ErrorKind::NotFound)
                return fail_kind(ErrorKind::NotFound,
                                 "VirtualBox VM " + m_ctx.machine + " (" + m_uuid + ") no longer exists",
                                 "it was removed outside berth; `berth rm " + m_ctx.machine + "` removes the rest");
            return std::unexpected(out.error());
        }
        auto info = parse_machinereadable(out->out);
        auto it = info.find("VMState");
        if (it == info.end()) return fail("VBoxManage showvminfo printed no VMState for " + m_ctx.machine);
        return it->second;
    }

    Result<void> make_seed() {
        CloudInitSpec spec{.hostname = m_ctx.machine, .user = m_user, .ssh_public_key = {},
                           .host_key_private = {}, .host_key_public = {},
                           .instance_id = "berth-" + m_ctx.machine + "-" + random_hex(8), .data_disk = false,
                           .dhcp_macs = {}};
        // With two NICs, both by MAC (cloud-init's fallback would only bring up the first).
        if (m_hostonly) spec.dhcp_macs = {colon_mac(m_nat_mac), colon_mac(m_hostonly_mac)};
        auto iso = make_vm_seed(*m_ctx.runner, m_hooks.genisoimage, m_ctx.machine_dir, m_ctx.templates_dir, spec);
        if (!iso) return std::unexpected(iso.error());
        return {};
    }

    /// The cached qcow2 image as this machine's VDI: qemu-img to raw, VBoxManage convertfromraw,
    /// then grown to --virtualbox-disk-size.
    Result<std::filesystem::path> make_disk() {
        if (!m_ctx.image) return fail("internal error: no image resolver for the virtualbox driver");
        auto image = m_ctx.image(m_image);
        if (!image) return std::unexpected(image.error());
        if (auto ok = check_disk_standalone(image->disk); !ok) return std::unexpected(ok.error());
        const auto raw = m_ctx.machine_dir / "disk.raw";
        const auto vdi = m_ctx.machine_dir / "disk.vdi";
        std::error_code ec;
        std::filesystem::remove(raw, ec);
        std::filesystem::remove(vdi, ec);
        spdlog::info("Converting image {} for VirtualBox...", m_image);
        Command convert;
        convert.argv = {m_hooks.qemu_img, "convert", "-q", "-f", "qcow2", "-O", "raw", image->disk.string(), raw.string()};
        convert.timeout = std::chrono::minutes(20);
        auto converted = m_ctx.runner->run(convert);
        if (!converted) return std::unexpected(converted.error());
        if (converted->exit_status != 0)
            return fail("qemu-img could not convert " + image->disk.string() + ": " + converted->err,
                        "check the image with `qemu-img check " + image->disk.string() + "`");
        auto made = m_vbox.run({"convertfromraw", raw.string(), vdi.string(), "--format", "VDI"}, std::chrono::minutes(20));
        std::filesystem::remove(raw, ec);
        if (!made) return std::unexpected(made.error());
        if (auto r = vbox({"modifymedium", "disk", vdi.string(), "--resize", std::to_string(m_disk_mb)}); !r)
            return std::unexpected(r.error());
        return vdi;
    }

    /// A host-only adapter holding the CIDR's host address (made, with a DHCP server, if none
    /// does), attached as NIC 2. What it makes is written down at once, for rm.
    Result<void> attach_hostonly() {
        auto cidr = parse_hostonly_cidr(m_cidr_text);
        if (!cidr) return std::unexpected(cidr.error());
        const std::string host_ip = ipv4_text(cidr->host);
        const std::string mask = ipv4_text(cidr->mask());
        auto ifs = vbox({"list", "hostonlyifs"});
        if (!ifs) return std::unexpected(ifs.error());
        std::string name = find_hostonly_if(ifs->out, host_ip, mask);
        if (!name.empty()) {
            m_hostonly_if = name;  // written down before anything is attached to it, for rm
            if (auto r = write_made(); !r) return r;
        } else {
            auto made = vbox({"hostonlyif", "create"});
            if (!made) return std::unexpected(made.error());
            auto q1 = made->out.find("Interface '");
            auto q2 = q1 == std::string::npos ? std::string::npos : made->out.find('\'', q1 + 11);
            if (q2 == std::string::npos)
                return fail("VBoxManage hostonlyif create did not name the interface it made: " + made->out);
            name = made->out.substr(q1 + 11, q2 - q1 - 11);
            m_hostonly_if = name;
            if (auto r = write_made(); !r) return r;
            if (auto r = vbox({"setextradata", "global", k_made_key_if + name, "made"}); !r)
                return std::unexpected(r.error());
            if (auto r = vbox({"hostonlyif", "ipconfig", name, "--ip", host_ip, "--netmask", mask}); !r)
                return std::unexpected(r.error());
        }
        auto servers = vbox({"list", "dhcpservers"});
        if (!servers) return std::unexpected(servers.error());
        bool has_dhcp = false;
        for (const auto& block : parse_blocks(servers->out)) {
            auto net = block.find("NetworkName");
            if (net != block.end() && net->second == "HostInterfaceNetworking-" + name) has_dhcp = true;
        }
        if (!has_dhcp) {
            // As docker-machine: the server at .100, leases from .101 to the end of the network.
            const std::uint32_t net = cidr->network();
            const std::uint32_t last = net | ~cidr->mask();
            // (.99 for the server if the host itself holds .100)
            const std::uint32_t server = cidr->host == net + 100 ? net + 99 : net + 100;
            if (auto r = vbox({"dhcpserver", "add", "--ifname", name, "--ip", ipv4_text(server), "--netmask", mask,
                               "--lowerip", ipv4_text(net + 101), "--upperip", ipv4_text(last - 1), "--enable"});
                !r)
                return std::unexpected(r.error());
            if (auto r = vbox({"setextradata", "global", k_made_key_dhcp + name, "made"}); !r)
                return std::unexpected(r.error());
        }
        if (auto r = vbox({"modifyvm", m_uuid, "--nic2", "hostonly", "--nictype2", m_hostonly_nictype,
                           "--hostonlyadapter2", name, "--cableconnected2", "on", "--macaddress2", m_hostonly_mac});
            !r)
            return std::unexpected(r.error());
        return {};
    }

    Result<void> write_made() const {
        nlohmann::json made = {{"hostonly_if", m_hostonly_if}};
        return write_file_atomic(m_ctx.machine_dir / k_made_file, made.dump(2) + "\n", 0600);
    }

    /// After the VM is gone: the host-only adapter and DHCP server go too if berth made them (any
    /// machine of berth's: VirtualBox's global extradata says so) and no other VM, berth's or not,
    /// uses the adapter. docker-machine left them behind.
    Result<void> remove_hostonly_if_unused() {
        if (m_hostonly_if.empty()) return {};
        const std::string name = m_hostonly_if;
        auto made_by_berth = [&](const std::string& key) -> Result<bool> {
            auto r = vbox({"getextradata", "global", key + name});
            if (!r) return std::unexpected(r.error());
            return r->out.starts_with("Value: made");
        };
        auto dhcp_ours = made_by_berth(k_made_key_dhcp);
        if (!dhcp_ours) return std::unexpected(dhcp_ours.error());
        auto if_ours = made_by_berth(k_made_key_if);
        if (!if_ours) return std::unexpected(if_ours.error());
        if (!*dhcp_ours && !*if_ours) return {};
        auto vms = vbox({"list", "vms"});
        if (!vms) return std::unexpected(vms.error());
        for (const auto& vm : parse_vm_list(vms->out)) {
            if (vm.uuid == m_uuid) continue;
            auto info = vbox({"showvminfo", vm.uuid, "--machinereadable"});
            if (!info) {
                if (info.error().kind == ErrorKind::NotFound) continue;  // went away meanwhile
                return std::unexpected(info.error());
            }
            for (const auto& [key, value] : parse_machinereadable(info->out)) {
                if (key.starts_with("hostonlyadapter") && value == name) {
                    m_kept_note = "kept host-only adapter " + name + ": VM \"" + vm.name + "\" uses it";
                    return {};
                }
            }
        }
        if (*dhcp_ours) {
            auto servers = vbox({"list", "dhcpservers"});
            if (!servers) return std::unexpected(servers.error());
            for (const auto& block : parse_blocks(servers->out)) {
                auto net = block.find("NetworkName");
                if (net != block.end() && net->second == "HostInterfaceNetworking-" + name) {
                    if (auto r = vbox({"dhcpserver", "remove", "--ifname", name}); !r) return std::unexpected(r.error());
                }
            }
            if (auto r = vbox({"setextradata", "global", k_made_key_dhcp + name}); !r) return std::unexpected(r.error());
        }
        if (*if_ours) {
            auto ifs = vbox({"list", "hostonlyifs"});
            if (!ifs) return std::unexpected(ifs.error());
            for (const auto& block : parse_blocks(ifs->out)) {
                if (block.contains("Name") && block.at("Name") == name) {
                    if (auto r = vbox({"hostonlyif", "remove", name}); !r) return std::unexpected(r.error());
                }
            }
            if (auto r = vbox({"setextradata", "global", k_made_key_if + name}); !r) return std::unexpected(r.error());
        }
        std::error_code ec;
        std::filesystem::remove(m_ctx.machine_dir / k_made_file, ec);
        return {};
    }

    /// Before a start: the forwarded host ports must be free, or VirtualBox starts the VM without
    /// them (it only logs the failed bind). A taken port is replaced by a free one.
    Result<void> ensure_ports_free() {
        for (auto [rule, port, guest] : {std::tuple{"ssh", &m_ssh_port, 22}, std::tuple{"docker", &m_docker_port, k_guest_engine_port}}) {
            if (*port == 0 || loopback_port_free(*port)) continue;
            auto fresh = free_loopback_port({m_ssh_port, m_docker_port});
            if (!fresh) return std::unexpected(fresh.error());
            spdlog::warn("127.0.0.1:{} ({} of {}) is taken by another program; forwarding 127.0.0.1:{} instead", *port,
                         rule, m_ctx.machine, *fresh);
            if (auto r = vbox({"modifyvm", m_uuid, "--natpf1", "delete", rule}); !r) return std::unexpected(r.error());
            if (auto r = vbox({"modifyvm", m_uuid, "--natpf1", forward(rule, *fresh, guest)}); !r)
                return std::unexpected(r.error());
            *port = *fresh;
        }
        return {};
    }

    DriverContext m_ctx;
    VirtualBoxHooks m_hooks;
    VBoxManage m_vbox;

    // The settings (settings() gives their defaults, from the option table).
    std::string m_uuid;
    int m_memory = 0;
    int m_cpus = 0;
    int m_disk_mb = 0;
    std::string m_image;
    std::string m_user;
    int m_ssh_port = 0;
    int m_docker_port = 0;
    std::string m_nat_nictype;
    std::string m_nat_mac;
    bool m_hostonly = false;
    std::string m_cidr_text;
    std::string m_hostonly_nictype;
    std::string m_hostonly_mac;
    std::string m_hostonly_ip;
    std::string m_hostonly_if;   ///< the adapter NIC 2 is on (kept in virtualbox-made.json)
    std::string m_ui_type;
    std::string m_share;
    bool m_no_vtx_check = false;
    std::string m_kept_note;
};

/// ls: two VBoxManage calls for all machines, whatever their number.
std::vector<Result<MachineState>> virtualbox_states(const std::vector<Driver*>& drivers) {
    std::vector<Result<MachineState>> out;
    if (drivers.empty()) return out;
    auto* first = static_cast<VirtualBoxDriver*>(drivers.front());
    auto all = first->vboxmanage().run({"list", "vms"});
    Result<CommandResult> running = all ? first->vboxmanage().run({"list", "runningvms"}) : all;
    std::set<std::string> known, up;
    if (all && running) {
        for (const auto& vm : parse_vm_list(all->out)) known.insert(vm.uuid);
        for (const auto& vm : parse_vm_list(running->out)) up.insert(vm.uuid);
    }
    for (Driver* d : drivers) {
        auto* vb = static_cast<VirtualBoxDriver*>(d);
        if (!all) {
            out.emplace_back(std::unexpected(all.error()));
        } else if (!running) {
            out.emplace_back(std::unexpected(running.error()));
        } else if (!known.contains(vb->uuid())) {
            out.emplace_back(fail_kind(ErrorKind::NotFound, "its VirtualBox VM (" + vb->uuid() + ") no longer exists"));
        } else {
            // runningvms lists paused VMs too; ls shows both as Running, as docker-machine did.
            out.emplace_back(up.contains(vb->uuid()) ? MachineState::Running : MachineState::Stopped);
        }
    }
    return out;
}

}  // namespace

DriverInfo virtualbox_driver_info(VirtualBoxHooks hooks) {
    DriverInfo info;
    info.name = "virtualbox";
    info.description = "A VirtualBox VM driven through VBoxManage (tested against a simulator, see docs)";
    info.options = virtualbox_options();
    info.make = [hooks](const DriverContext& ctx) -> std::unique_ptr<Driver> {
        return std::make_unique<VirtualBoxDriver>(ctx, hooks);
    };
    info.states = virtualbox_states;
    return info;
}

}  // namespace berth
