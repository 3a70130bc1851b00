#include <berth/drivers/libvirt/libvirt_driver.h>

#include <berth/drivers/libvirt/shared_volume.h>

#include <berth/core/digest.h>
#include <berth/core/escape.h>
#include <berth/core/progress.h>
#include <berth/driver/machine_size.h>
#include <berth/driver/option_defaults.h>
#include <berth/driver/qcow2.h>
#include <berth/driver/settings.h>
#include <berth/driver/tool_probe.h>
#include <berth/driver/user_name.h>
#include <berth/driver/wait.h>
#include <berth/store/atomic_file.h>

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

namespace berth {
namespace libvirt {

namespace {

constexpr const char* k_pool = "berth";
constexpr std::size_t k_chunk = 1024 * 1024;
constexpr const char* k_default_cmdline = "root=/dev/vda rw console=ttyS0 net.ifnames=0";


}  // namespace

Result<void> StreamUploader::upload(StorageVolume& volume, const std::filesystem::path& file) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    if (ec) return fail("cannot read " + file.string() + ": " + ec.message());
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail("cannot open " + file.string());
    virStreamPtr raw = virStreamNew(virStorageVolGetConnect(volume.get()), 0);
    if (raw == nullptr) return std::unexpected(last_error("cannot open a libvirt stream"));
    Stream stream(raw);
    if (virStorageVolUpload(volume.get(), stream.get(), 0, size, 0) < 0)
        return std::unexpected(last_error("cannot upload " + file.string() + " to volume " + volume.name()));
    std::vector<char> buffer(k_chunk);
    std::uint64_t left = size;
    while (left > 0) {
        const auto want = static_cast<std::streamsize>(std::min<std::uint64_t>(left, k_chunk));
        in.read(buffer.data(), want);
        if (in.gcount() != want) return fail("cannot read " + file.string() + " (it changed while uploading?)");
        if (auto r = stream.send_all(buffer.data(), static_cast<std::size_t>(want)); !r)
            return std::unexpected(Error(r.error()).with("volume", volume.name()));
        left -= static_cast<std::uint64_t>(want);
        progress_fraction("upload", size - left, size);
    }
    return stream.finish();
}

namespace {

/// Incremental sha256 (OpenSSL EVP), for files and volume streams.
class Sha256 {
public:
    Sha256() : m_ctx(EVP_MD_CTX_new()) {
        if (m_ctx != nullptr) EVP_DigestInit_ex(m_ctx, EVP_sha256(), nullptr);
    }
    ~Sha256() { EVP_MD_CTX_free(m_ctx); }
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    [[nodiscard]] bool ok() const { return m_ctx != nullptr; }
    void update(const char* data, std::size_t size) {
        EVP_DigestUpdate(m_ctx, data, size);
        m_size += size;
    }
    [[nodiscard]] std::pair<std::uint64_t, std::string> finish() {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        EVP_DigestFinal_ex(m_ctx, md, &len);
        return {m_size, to_hex(md, len)};
    }

private:
    EVP_MD_CTX* m_ctx;
    std::uint64_t m_size = 0;
};

}  // namespace

Result<std::pair<std::uint64_t, std::string>> StreamUploader::content_digest(StorageVolume& volume) {
    Sha256 sha;
    if (!sha.ok()) return fail("cannot start a digest with OpenSSL", "the process may be out of memory");
    virStreamPtr raw = virStreamNew(virStorageVolGetConnect(volume.get()), 0);
    if (raw == nullptr) return std::unexpected(last_error("cannot open a libvirt stream"));
    Stream stream(raw);
    if (virStorageVolDownload(volume.get(), stream.get(), 0, 0, 0) < 0)
        return std::unexpected(last_error("cannot read volume " + volume.name() + " back to check it"));
    std::vector<char> buffer(k_chunk);
    for (;;) {
        const int n = virStreamRecv(stream.get(), buffer.data(), buffer.size());
        if (n == -2) continue;  // non-blocking streams only; ours blocks
        if (n < 0) return std::unexpected(last_error("cannot read volume " + volume.name() + " back to check it"));
        if (n == 0) break;
        sha.update(buffer.data(), static_cast<std::size_t>(n));
    }
    if (auto r = stream.finish(); !r) return std::unexpected(r.error());
    return sha.finish();
}

Result<std::pair<std::uint64_t, std::string>> file_digest(const std::filesystem::path& file) {
    Sha256 sha;
    if (!sha.ok()) return fail("cannot start a digest with OpenSSL", "the process may be out of memory");
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail("cannot read " + file.string() + " to check its digest");
    std::vector<char> buffer(k_chunk);
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        if (in.gcount() > 0) sha.update(buffer.data(), static_cast<std::size_t>(in.gcount()));
    }
    if (in.bad()) return fail("cannot read " + file.string() + " to check its digest");
    return sha.finish();
}

Result<std::string> decide_virt_type(std::string_view requested, std::string_view uri, bool dev_kvm_exists,
                                     std::string_view cpuinfo) {
    const bool local = uri_is_local(uri);
    const bool kvm_works = local && dev_kvm_exists && cpu_has_hw_virt(cpuinfo);
    if (requested == "qemu") return std::string("qemu");
    if (requested == "auto" || requested.empty()) return std::string(kvm_works ? "kvm" : "qemu");
    if (requested == "kvm") {
        if (!local || kvm_works) return std::string("kvm");
        std::string why = !dev_kvm_exists ? "there is no /dev/kvm"
                                          : "/dev/kvm exists but the CPU flags have neither vmx nor svm (nested or "
                                            "paravirtual KVM such as kvm_pvm, where stock guests hang)";
        return fail_kind(ErrorKind::PrecreateCheck, "KVM cannot run guests on this host: " + why,
                         "use --libvirt-virt-type qemu (software emulation, TCG) or auto");
    }
    return fail_usage("--libvirt-virt-type must be auto, kvm or qemu, not \"" + std::string(requested) + "\"");
}

Result<std::string> render_domain_xml(const TemplateSet& templates, const DomainSpec& spec) {
    // XML cannot carry most control characters, even as references: such a value is refused.
    for (const auto* value : {&spec.virt_type, &spec.name, &spec.kernel_path, &spec.initrd_path, &spec.kernel_cmdline,
                              &spec.disk_path, &spec.data_disk_path, &spec.seed_path, &spec.network})
        if (!xml_can_carry(*value))
            return fail_usage("a control character in \"" + *value + "\" cannot go into the libvirt domain XML",
                              "use a path, name or network without control characters");
    // Each value escaped for where it lands in the template: element text or a quoted attribute.
    nlohmann::json ctx = {
        {"virt_type", xml_attr(spec.virt_type)},
        {"name", xml_text(spec.name)},
        {"memory_mib", spec.memory_mib},
        {"cpus", spec.cpus},
        {"has_kernel", !spec.kernel_path.empty()},
        {"kernel", xml_text(spec.kernel_path)},
        {"initrd", xml_text(spec.initrd_path)},
        {"cmdline", xml_text(spec.kernel_cmdline)},
        {"tcg", spec.virt_type != "kvm"},
        {"disk_path", xml_attr(spec.disk_path)},
        {"has_data_disk", !spec.data_disk_path.empty()},
        {"data_disk_path", xml_attr(spec.data_disk_path)},
        {"seed_path", xml_attr(spec.seed_path)},
        {"network", xml_attr(spec.network)},
    };
    auto xml = templates.render("libvirt-domain.xml", ctx);
    if (!xml) return xml;
    // Sections that render nothing leave empty lines behind: drop them.
    std::string out;
    std::istringstream lines(*xml);
    for (std::string line; std::getline(lines, line);)
        if (line.find_first_not_of(" \t\r") != std::string::npos) out += line + "\n";
    return out;
}

MachineState map_domain_state(int state) {
    switch (state) {
        case VIR_DOMAIN_NOSTATE: return MachineState::None;
        case VIR_DOMAIN_RUNNING: return MachineState::Running;
        case VIR_DOMAIN_BLOCKED: return MachineState::Running;  // idle vCPUs: still running
        case VIR_DOMAIN_PAUSED: return MachineState::Paused;
        case VIR_DOMAIN_SHUTDOWN: return MachineState::Stopping;
        case VIR_DOMAIN_SHUTOFF: return MachineState::Stopped;
        case VIR_DOMAIN_CRASHED: return MachineState::Error;
        case VIR_DOMAIN_PMSUSPENDED: return MachineState::Saved;
        default: return MachineState::Error;
    }
}

std::optional<std::uint64_t> qcow2_virtual_size(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::array<unsigned char, 32> header{};
    if (!in.read(reinterpret_cast<char*>(header.data()), header.size())) return std::nullopt;
    if (header[0] != 'Q' || header[1] != 'F' || header[2] != 'I' || header[3] != 0xfb) return std::nullopt;
    std::uint64_t size = 0;
    for (std::size_t i = 24; i < 32; ++i) size = (size << 8) | header[i];
    return size;
}

MachineNames machine_names(const std::string& machine) {
    return {"berth-" + machine, machine + ".qcow2", machine + "-data.qcow2", machine + "-seed.iso"};
}

std::string base_volume_name(const std::string& sha256) { return "base-" + sha256.substr(0, 16) + ".qcow2"; }

}  // namespace libvirt

namespace {

using namespace libvirt;

constexpr const char* k_default_network_xml =
    "<network>\n"
    "  <name>default</name>\n"
    "  <forward mode='nat'/>\n"
    "  <bridge name='virbr0' stp='on' delay='0'/>\n"
    "  <ip address='192.168.122.1' netmask='255.255.255.0'>\n"
    "    <dhcp>\n"
    "      <range start='192.168.122.2' end='192.168.122.254'/>\n"
    "    </dhcp>\n"
    "  </ip>\n"
    "</network>\n";

/// The options, with the driver's defaults: read by name wherever the driver needs one.
const std::vector<DriverOption>& libvirt_options() {
    static const std::vector<DriverOption> options = [] {
        auto opt = [](std::string name, std::string help, std::string def, OptionType type, bool settable = false) {
            DriverOption o;
            o.name = std::move(name);
            o.help = std::move(help);
            o.default_value = std::move(def);
            o.type = type;
            o.settable = settable;
            return o;
        };
        return std::vector<DriverOption>{
            opt("uri", "libvirt connection URI (qemu+ssh://user@host/system for a remote host)", "qemu:///system", OptionType::String),
            opt("cpu-count", "Number of virtual CPUs", "2", OptionType::Int, true),
            opt("memory", "Memory in MiB", "2048", OptionType::Int, true),
            opt("disk-size", "Root disk size in GB", "20", OptionType::Int),
            opt("data-disk-size", "Size in GB of a second disk mounted on /var/lib/docker (0: none)", "20", OptionType::Int),
            opt("network", "libvirt network to attach to (default is made if absent)", "default", OptionType::String),
            opt("image", "VM image: a name from `berth image`, a URL or a path", "debian-12", OptionType::String),
            opt("virt-type", "auto, kvm or qemu (software emulation, TCG); auto picks kvm only where it works", "auto", OptionType::String),
            opt("ssh-user", "User made by cloud-init for berth (passwordless sudo, key-only)", "docker", OptionType::String)};
    }();
    return options;
}

std::string libvirt_default(std::string_view name) { return option_default(libvirt_options(), name); }
int libvirt_default_int(std::string_view name) { return option_default_int(libvirt_options(), name); }

/// The address ip() last found, read by ls (listed_docker_url) instead of asking libvirt.
constexpr const char* k_address_file = "libvirt-address";

class LibvirtDriver final : public Driver {
public:
    LibvirtDriver(DriverContext ctx, LibvirtHooks hooks)
        : m_ctx(std::move(ctx)), m_hooks(std::move(hooks)), m_names(machine_names(m_ctx.machine)) {
        if (!m_hooks.uploader) m_hooks.uploader = std::make_shared<StreamUploader>();
        settings().reset(*this);
    }

    std::string_view name() const override { return "libvirt"; }
    const std::string& uri() const { return m_uri; }
    const std::string& domain_name() const { return m_names.domain; }

    Result<void> configure(const OptionValues& values) override {
        const auto& options = libvirt_options();
        m_uri = option_or_default(values, options, "uri");
        if (m_uri.find("://") == std::string::npos)
            return fail_usage("--libvirt-uri must be a libvirt URI such as " + libvirt_default("uri") +
                              " or qemu+ssh://user@host/system, not \"" + m_uri + "\"");
        auto cpus = option_int_or_default(values, options, "libvirt", "cpu-count", 1, 256, "");
        if (!cpus) return std::unexpected(cpus.error());
        auto memory = option_int_or_default(values, options, "libvirt", "memory", 256, 4 * 1024 * 1024, " (MiB)");
        if (!memory) return std::unexpected(memory.error());
        auto disk = option_int_or_default(values, options, "libvirt", "disk-size", 1, 65536, " (GB)");
        if (!disk) return std::unexpected(disk.error());
        auto data = option_int_or_default(values, options, "libvirt", "data-disk-size", 0, 65536,
                                          " (GB; 0 for no data disk)");
        if (!data) return std::unexpected(data.error());
        m_cpus = *cpus;
        m_memory = *memory;
        m_disk_gb = *disk;
        m_data_gb = *data;
        m_network = option_or_default(values, options, "network");
        m_image = option_or_default(values, options, "image");
        m_virt_type = option_or_default(values, options, "virt-type");
        if (m_virt_type != "auto" && m_virt_type != "kvm" && m_virt_type != "qemu")
            return fail_usage("--libvirt-virt-type must be auto, kvm or qemu, not \"" + m_virt_type + "\"");
        m_user = option_or_default(values, options, "ssh-user");
        if (!is_user_name(m_user))
            return fail_usage("--libvirt-ssh-user must be a Linux user name (lower-case letters, digits, '_', "
                              "'-'), not \"" + m_user + "\"");
        if (m_user == "root")
            return fail_usage("--libvirt-ssh-user cannot be root",
                              "berth logs in as an unprivileged user with sudo; keep the default, " +
                                  libvirt_default("ssh-user"));
        return {};
    }

    Result<void> precreate_check() override {
        auto conn = connection();
        if (!conn) return precheck(conn.error());
        auto net = (*conn)->network(m_network);
        if (!net) return precheck(net.error());
        if (!*net && m_network != "default")
            return fail_kind(ErrorKind::PrecreateCheck,
                             "libvirt network \"" + m_network + "\" does not exist at " + m_uri,
                             "list them with `virsh -c " + m_uri + " net-list --all`, or use --libvirt-network default");
        if (auto vt = chosen_virt_type(); !vt) return precheck(vt.error());
        if (!m_ctx.runner) return fail_kind(ErrorKind::PrecreateCheck, "internal error: no runner for the libvirt driver");
        if (auto iso = probe_tool(*m_ctx.runner, {.program = m_hooks.genisoimage,
                                                  .version_args = {"-version"},
                                                  .missing = "genisoimage is missing (it makes the cloud-init seed)",
                                                  .hint = {},
                                                  .package = "genisoimage",
                                                  .minimum = {}});
            !iso)
            return std::unexpected(iso.error());
        if (!m_ctx.image) return fail_kind(ErrorKind::PrecreateCheck, "internal error: no image resolver");
        if (auto image = m_ctx.image(m_image); !image) return precheck(image.error());
        return {};
    }

    Result<void> create() override {
        auto conn_r = connection();
        if (!conn_r) return std::unexpected(conn_r.error());
        Connection& conn = **conn_r;
        auto vt = chosen_virt_type();
        if (!vt) return std::unexpected(vt.error());
        m_chosen_virt_type = *vt;

        // The network and the pool are shared by every machine: defined and started under a
        // store-wide lock, so parallel creates (berth apply, two berth processes) do not race
        // to define them twice.
        std::optional<FileLock> setup_lock;
        if (m_ctx.shared_lock) {
            auto lock = m_ctx.shared_lock("libvirt-setup", "libvirt's network and storage pool");
            if (!lock) return std::unexpected(lock.error());
            setup_lock.emplace(std::move(*lock));
        }
        if (auto r = ensure_network(conn); !r) return r;
        auto pool = ensure_pool(conn);
        if (!pool) return std::unexpected(pool.error());
        setup_lock.reset();

        if (!m_ctx.image) return fail("internal error: no image resolver for the libvirt driver");
        auto image = m_ctx.image(m_image);
        if (!image) return std::unexpected(image.error());
        if (image->sha256.size() < 16) return fail("image " + m_image + " has no sha256", "re-fetch it with `berth image`");

        DomainSpec spec;
        spec.name = m_names.domain;
        spec.virt_type = m_chosen_virt_type;
        spec.memory_mib = m_memory;
        spec.cpus = m_cpus;
        spec.network = m_network;
        auto shared = ensure_shared_pieces(*pool, *image, spec);
        if (!shared) return std::unexpected(shared.error());
        const std::uint64_t virtual_size = shared->virtual_size;

        // This machine's pieces.
        const std::uint64_t disk_bytes = std::max<std::uint64_t>(std::uint64_t(m_disk_gb) << 30, virtual_size);
        auto overlay = ensure_volume(*pool, m_names.disk, overlay_xml(m_names.disk, disk_bytes, shared->base_path));
        if (!overlay) return std::unexpected(overlay.error());
        spec.disk_path = *overlay;
        if (m_data_gb > 0) {
            auto data = ensure_volume(*pool, m_names.data_disk,
                                      plain_volume_xml(m_names.data_disk, std::uint64_t(m_data_gb) << 30, "qcow2"));
            if (!data) return std::unexpected(data.error());
            spec.data_disk_path = *data;
        }
        auto seed = make_seed(*pool);
        if (!seed) return std::unexpected(seed.error());
        spec.seed_path = *seed;

        auto templates = TemplateSet::load(m_ctx.templates_dir);
        if (!templates) return std::unexpected(templates.error());
        auto xml = render_domain_xml(*templates, spec);
        if (!xml) return std::unexpected(xml.error());
        auto existing = conn.domain(m_names.domain);
        if (!existing) return std::unexpected(existing.error());
        Domain domain;
        if (*existing) {
            domain = std::move(**existing);  // a retried create: the domain from the first try
        } else {
            auto defined = conn.define_domain(*xml);
            if (!defined) return std::unexpected(defined.error());
            domain = std::move(*defined);
        }
        return boot(domain);
    }

    Result<std::vector<std::string>> settings_change(const OptionValues& values) const override {
        auto size = settable_size(values);
        if (!size) return std::unexpected(size.error());
        return describe_size_change({m_memory, m_cpus}, *size);
    }

    Result<void> change_settings(const OptionValues& values) override {
        auto size = settable_size(values);
        if (!size) return std::unexpected(size.error());
        auto domain = require_domain();
        if (!domain) return std::unexpected(domain.error());
        const auto mib = static_cast<unsigned long>(size->memory_mib);
        if (auto ok = domain->set_size(mib * 1024UL, static_cast<unsigned>(size->cpus)); !ok) return ok;
        m_memory = size->memory_mib;
        m_cpus = size->cpus;
        return {};
    }

    Result<void> start() override {
        auto domain = require_domain();
        if (!domain) return std::unexpected(domain.error());
        return boot(*domain);
    }

    Result<void> stop() override {
        auto domain = require_domain();
        if (!domain) return std::unexpected(domain.error());
        auto active = domain->is_active();
        if (!active) return std::unexpected(active.error());
        if (!*active) return {};
        if (auto r = domain->shutdown(); !r) return r;
        Clock& clock = driver_clock(m_ctx);
        return wait_until(
            clock, clock.now() + m_hooks.shutdown_timeout, m_hooks.poll_interval,
            [&]() -> Result<WaitStep> {
                auto still = domain->is_active();
                if (!still) return std::unexpected(still.error());
                return *still ? WaitStep::NotYet : WaitStep::Done;
            },
            [&] {
                return fail("domain " + m_names.domain + " did not shut down within " +
                                whole_seconds(m_hooks.shutdown_timeout) + " (the guest ignored the ACPI power button)",
                            "use `berth kill " + m_ctx.machine + "` to pull the plug")
                    .error();
            });
    }

    Result<void> restart() override {
        auto domain = require_domain();
        if (!domain) return std::unexpected(domain.error());
        if (auto r = stop(); !r) return r;
        return boot(*domain);
    }

    Result<void> kill() override {
        auto domain = require_domain();
        if (!domain) return std::unexpected(domain.error());
        auto active = domain->is_active();
        if (!active) return std::unexpected(active.error());
        if (!*active) return {};
        return domain->destroy();
    }

    Result<void> remove() override {
        auto conn_r = connection();
        if (!conn_r) return std::unexpected(conn_r.error());
        Connection& conn = **conn_r;
        auto found = conn.domain(m_names.domain);
        if (!found) return std::unexpected(found.error());
        if (*found) {
            Domain& domain = **found;
            auto active = domain.is_active();
            if (!active) return std::unexpected(active.error());
            if (*active) {
                if (auto r = domain.destroy(); !r) return r;
            }
            auto xml = domain.xml();
            const bool nvram = xml && xml->find("<nvram") != std::string::npos;
            if (auto r = domain.undefine(nvram); !r) return r;
        }
        auto pool = conn.pool(k_pool);
        if (!pool) return std::unexpected(pool.error());
        if (!*pool) return {};
        auto pool_active = (*pool)->is_active();
        if (!pool_active) return std::unexpected(pool_active.error());
        if (!*pool_active) {
            if (auto r = (*pool)->start(); !r) return r;
        }
        // Only this machine's volumes: the base image, kernel and initrd are shared.
        for (const std::string& vol_name : {m_names.disk, m_names.data_disk, m_names.seed}) {
            auto vol = (*pool)->volume(vol_name);
            if (!vol) return std::unexpected(vol.error());
            if (!*vol) continue;
            if (auto r = (*vol)->remove(); !r) return r;
        }
        return {};
    }

    Result<void> discard_seed() override {
        auto domain = require_domain();
        if (!domain) return std::unexpected(domain.error());
        spdlog::debug("[{}] ejecting and deleting the cloud-init seed {}", m_ctx.machine, m_names.seed);
        if (auto r = domain->remove_cdrom("sda"); !r) return r;
        auto conn = connection();
        if (!conn) return std::unexpected(conn.error());
        auto pool = (*conn)->pool(k_pool);
        if (!pool) return std::unexpected(pool.error());
        if (*pool) {
            auto vol = (*pool)->volume(m_names.seed);
            if (!vol) return std::unexpected(vol.error());
            if (*vol) {
                if (auto r = (*vol)->remove(); !r) return r;
            }
        }
        return remove_vm_seed_files(m_ctx.machine_dir);
    }

    Result<MachineState> state() override {
        auto domain = require_domain();
        if (!domain) return std::unexpected(domain.error());
        auto s = domain->state();
        if (!s) return std::unexpected(s.error());
        return map_domain_state(*s);
    }

    Result<std::string> ip() override {
        auto domain = require_domain();
        if (!domain) return std::unexpected(domain.error());
        auto active = domain->is_active();
        if (!active) return std::unexpected(active.error());
        if (!*active)
            return fail("machine " + m_ctx.machine + " is not running", "start it with `berth start " + m_ctx.machine + "`");
        auto address = find_address(*domain);
        if (!address) return std::unexpected(address.error());
        if (address->empty())
            return fail("domain " + m_names.domain + " has no IP address on network " + m_network + " yet",
                        address_hint());
        remember_address(*address);
        return *address;
    }

    Result<std::string> docker_url() override {
        auto address = ip();
        if (!address) return std::unexpected(address.error());
        return url_of(*address);
    }

    /// ls: the address ip() last found (kept in libvirt-address), not a lookup per machine;
    /// docker_url() for a machine whose address berth never looked up.
    Result<std::string> listed_docker_url() override {
        auto kept = read_file(m_ctx.machine_dir / k_address_file);
        if (kept) {
            std::string address = *kept;
            while (!address.empty() && std::isspace(static_cast<unsigned char>(address.back()))) address.pop_back();
            if (!address.empty()) return url_of(address);
        }
        return docker_url();
    }

    Result<SshEndpoint> ssh_endpoint() override {
        auto address = ip();
        if (!address) return std::unexpected(address.error());
        return SshEndpoint{*address, 22, m_user, m_ctx.machine_dir / k_vm_ssh_key_file};
    }

    std::vector<std::string> cert_sans() override {
        auto address = ip();
        if (!address) return {};
        return {*address};
    }

    nlohmann::json save() const override { return settings().save(*this); }

    Result<void> load(const nlohmann::json& saved) override {
        return settings().load(*this, saved, "the libvirt driver's settings of \"" + m_ctx.machine + "\" are damaged: ");
    }

private:
    /// The record's "driver" object: every setting once, with its default for older records.
    static const SettingsSchema<LibvirtDriver>& settings() {
        static const SettingsSchema<LibvirtDriver> schema = [] {
            SettingsSchema<LibvirtDriver> s;
            s.field("uri", &LibvirtDriver::m_uri, libvirt_default("uri"))
                .field("cpu_count", &LibvirtDriver::m_cpus, libvirt_default_int("cpu-count"))
                .field("memory", &LibvirtDriver::m_memory, libvirt_default_int("memory"))
                .field("disk_size", &LibvirtDriver::m_disk_gb, libvirt_default_int("disk-size"))
                .field("data_disk_size", &LibvirtDriver::m_data_gb, libvirt_default_int("data-disk-size"))
                .field("network", &LibvirtDriver::m_network, libvirt_default("network"))
                .field("image", &LibvirtDriver::m_image, libvirt_default("image"))
                .field("virt_type", &LibvirtDriver::m_virt_type, libvirt_default("virt-type"))
                .field("chosen_virt_type", &LibvirtDriver::m_chosen_virt_type, "")
                .field("ssh_user", &LibvirtDriver::m_user, libvirt_default("ssh-user"))
                .custom([](const LibvirtDriver& d, nlohmann::json& out) { out["domain"] = d.m_names.domain; },
                        [](LibvirtDriver& d, const nlohmann::json& in) {
                            d.m_names.domain = in.value("domain", d.m_names.domain);
                        })
                .custom([](const LibvirtDriver&, nlohmann::json& out) { out["pool"] = k_pool; })
                .custom([](const LibvirtDriver& d, nlohmann::json& out) { out["volumes"] = d.saved_volumes(); },
                        [](LibvirtDriver& d, const nlohmann::json& in) {
                            if (!in.contains("volumes")) return;
                            const auto& v = in.at("volumes");
                            d.m_names.disk = v.value("disk", d.m_names.disk);
                            d.m_names.data_disk = v.value("data_disk", d.m_names.data_disk);
                            d.m_names.seed = v.value("seed", d.m_names.seed);
                        })
                .field("base_volume", &LibvirtDriver::m_base_volume, "")
                .field("kernel_volume", &LibvirtDriver::m_kernel_volume, "")
                .field("initrd_volume", &LibvirtDriver::m_initrd_volume, "")
                .field("instance_id", &LibvirtDriver::m_instance_id, "");
            return s;
        }();
        return schema;
    }

    nlohmann::json saved_volumes() const {
        nlohmann::json volumes = {{"disk", m_names.disk}, {"seed", m_names.seed}};
        if (m_data_gb > 0) volumes["data_disk"] = m_names.data_disk;
        return volumes;
    }

    static std::unexpected<Error> precheck(Error e) {
        e.kind = ErrorKind::PrecreateCheck;
        return std::unexpected(std::move(e));
    }

    Result<std::string> chosen_virt_type() const {
        std::error_code kvm_ec;
        const bool dev_kvm = m_hooks.dev_kvm_exists ? m_hooks.dev_kvm_exists() : std::filesystem::exists("/dev/kvm", kvm_ec);
        const std::string cpuinfo = m_hooks.cpuinfo ? m_hooks.cpuinfo() : read_file("/proc/cpuinfo").value_or("");
        return decide_virt_type(m_virt_type, m_uri, dev_kvm, cpuinfo);
    }

    Result<Connection*> connection() {
        if (m_conn && m_conn->alive()) return &*m_conn;
        auto c = Connection::open(m_uri);
        if (!c) return std::unexpected(c.error());
        m_conn = std::move(*c);
        return &*m_conn;
    }

    /// `berth set`'s memory and CPUs, checked as configure() checks them; the machine's own
    /// where not given.
    Result<MachineSize> settable_size(const OptionValues& values) const {
        if (auto ok = check_settable("libvirt", libvirt_options(), values); !ok) return std::unexpected(ok.error());
        auto cpus = option_int(values, "libvirt", "cpu-count", m_cpus, 1, 256, "");
        if (!cpus) return std::unexpected(cpus.error());
        auto memory = option_int(values, "libvirt", "memory", m_memory, 256, 4 * 1024 * 1024, " (MiB)");
        if (!memory) return std::unexpected(memory.error());
        return MachineSize{*memory, *cpus};
    }

    Result<Domain> require_domain() {
        auto conn = connection();
        if (!conn) return std::unexpected(conn.error());
        auto d = (*conn)->domain(m_names.domain);
        if (!d) return std::unexpected(d.error());
        if (!*d)
            return fail_kind(ErrorKind::NotFound, "domain " + m_names.domain + " does not exist at " + m_uri,
                             "it was removed outside berth; `berth rm " + m_ctx.machine + "` forgets the machine");
        return std::move(**d);
    }

    Result<void> ensure_network(Connection& conn) {
        auto net = conn.network(m_network);
        if (!net) return std::unexpected(net.error());
        if (!*net) {
            if (m_network != "default")
                return fail("libvirt network \"" + m_network + "\" does not exist at " + m_uri,
                            "list them with `virsh -c " + m_uri + " net-list --all`");
            spdlog::info("Defining libvirt's default NAT network (192.168.122.0/24)...");
            auto defined = conn.define_network(k_default_network_xml);
            if (!defined) return std::unexpected(defined.error());
            (void)defined->set_autostart(true);
            net = std::optional<Network>(std::move(*defined));
        }
        auto active = (*net)->is_active();
        if (!active) return std::unexpected(active.error());
        if (!*active) return (*net)->start();
        return {};
    }

    Result<StoragePool> ensure_pool(Connection& conn) {
        auto found = conn.pool(k_pool);
        if (!found) return std::unexpected(found.error());
        if (!*found) {
            std::string dir = "/var/lib/libvirt/images/berth";
            // A session (or differently laid out) hypervisor: beside its own default pool.
            if (auto def = conn.pool("default"); def && *def) {
                if (auto path = (*def)->target_path(); path) dir = *path + "/berth";
            }
            spdlog::info("Making libvirt storage pool \"berth\" at {}...", dir);
            auto defined = conn.define_pool("<pool type='dir'>\n  <name>berth</name>\n  <target>\n    <path>" +
                                            xml_escape(dir) + "</path>\n  </target>\n</pool>\n");
            if (!defined) return std::unexpected(defined.error());
            if (auto r = defined->build(); !r) return std::unexpected(r.error());
            (void)defined->set_autostart(true);
            found = std::optional<StoragePool>(std::move(*defined));
        }
        auto active = (*found)->is_active();
        if (!active) return std::unexpected(active.error());
        if (!*active) {
            if (auto r = (*found)->start(); !r) return std::unexpected(r.error());
        }
        return std::move(**found);
    }

    struct SharedPieces {
        std::string base_path;        ///< the base volume's path, the overlay's backing file
        std::uint64_t virtual_size;   ///< of the image's disk
    };

    /// The read-only pieces of `image` that machines share (the base volume; for direct kernel
    /// boot the kernel and initrd, whose paths go into `spec`), uploaded unless they are there.
    Result<SharedPieces> ensure_shared_pieces(StoragePool& pool, const ImageFiles& image, DomainSpec& spec) {
        // Shared, read-only pieces: uploaded once per image. Another berth process creating a
        // machine from the same image waits here instead of seeing (and re-starting) a half
        // uploaded volume. The records of verified volumes (shared_place) are written under it too.
        // A second client host uploading to the same remote pool is not covered.
        std::optional<FileLock> upload_lock;
        if (m_ctx.shared_lock) {
            auto lock = m_ctx.shared_lock("libvirt-base-" + image.sha256.substr(0, 16),
                                          "the base image " + base_volume_name(image.sha256));
            if (!lock) return std::unexpected(lock.error());
            upload_lock.emplace(std::move(*lock));
        }
        m_base_volume = base_volume_name(image.sha256);
        if (auto ok = check_disk_standalone(image.disk); !ok) return std::unexpected(ok.error());
        auto virtual_size = qcow2_virtual_size(image.disk);
        if (!virtual_size)
            return fail("image " + image.disk.string() + " is not a qcow2 file", "berth's libvirt driver needs qcow2 images");
        const std::string stem = "base-" + image.sha256.substr(0, 16);
        const SharedVolumePlace place = shared_place(stem);
        // The disk's sha256 is the image cache's, verified when it pulled, built or imported the
        // image: the ~1 GiB file is not hashed again. The kernel and initrd are (they are small).
        auto base = ensure_shared_volume(
            pool, place, {.name = m_base_volume, .file = image.disk, .sha256 = image.sha256, .format = "qcow2",
                          .capacity = *virtual_size});
        if (!base) return std::unexpected(base.error());
        if (!image.kernel.empty()) {
            m_kernel_volume = stem + "-kernel";
            m_initrd_volume = stem + "-initrd";
            auto kernel = ensure_shared_volume(
                pool, place, {.name = m_kernel_volume, .file = image.kernel, .sha256 = {}, .format = "raw", .capacity = 0});
            if (!kernel) return std::unexpected(kernel.error());
            spec.kernel_path = *kernel;
            if (!image.initrd.empty()) {
                auto initrd = ensure_shared_volume(
                    pool, place,
                    {.name = m_initrd_volume, .file = image.initrd, .sha256 = {}, .format = "raw", .capacity = 0});
                if (!initrd) return std::unexpected(initrd.error());
                spec.initrd_path = *initrd;
            }
            spec.kernel_cmdline = image.kernel_cmdline.empty() ? k_default_cmdline : image.kernel_cmdline;
        }
        return SharedPieces{*base, *virtual_size};
    }

    static std::string overlay_xml(const std::string& name, std::uint64_t bytes, const std::string& backing) {
        return "<volume>\n  <name>" + xml_escape(name) + "</name>\n  <capacity unit='bytes'>" + std::to_string(bytes) +
               "</capacity>\n  <allocation unit='bytes'>0</allocation>\n  <target>\n    <format type='qcow2'/>\n"
               "  </target>\n  <backingStore>\n    <path>" + xml_escape(backing) +
               "</path>\n    <format type='qcow2'/>\n  </backingStore>\n</volume>\n";
    }

    /// The path of volume `name`, created from `xml` unless it exists (a retried create).
    Result<std::string> ensure_volume(StoragePool& pool, const std::string& vol_name, const std::string& xml) {
        auto found = pool.volume(vol_name);
        if (!found) return std::unexpected(found.error());
        if (*found) return (*found)->path();
        auto made = pool.create_volume(xml);
        if (!made) return std::unexpected(made.error());
        return made->path();
    }

    /// Where this machine's shared volumes are checked: records of the verified ones are kept in
    /// the store's cache, one file per image (`stem`), written under the image's shared lock
    /// (none are kept without a lock or a cache).
    SharedVolumePlace shared_place(const std::string& stem) const {
        SharedVolumePlace place;
        place.uri = m_uri;
        place.uploader = m_hooks.uploader.get();
        if (m_ctx.shared_lock && !m_ctx.cache_dir.empty()) place.records = m_ctx.cache_dir / "libvirt-volumes" / (stem + ".json");
        place.stamp = m_hooks.volume_stamp;
        return place;
    }

    /// The cloud-init NoCloud seed: rendered, made into an ISO here, uploaded as a volume.
    Result<std::string> make_seed(StoragePool& pool) {
        if (!m_ctx.runner) return fail("internal error: no runner for the libvirt driver");
        m_instance_id = "berth-" + m_ctx.machine + "-" + random_hex(8);
        // No network-config: cloud-init's fallback (DHCP on the first NIC) works whatever the
        // image names its interfaces; a v2 name match is lost on Debian's ifupdown renderer.
        auto iso = make_vm_seed(*m_ctx.runner, m_hooks.genisoimage, m_ctx.machine_dir, m_ctx.templates_dir,
                                {.hostname = m_ctx.machine, .user = m_user, .ssh_public_key = {},
                                 .host_key_private = {}, .host_key_public = {},
                                 .instance_id = m_instance_id, .data_disk = m_data_gb > 0, .dhcp_macs = {}});
        if (!iso) return std::unexpected(iso.error());
        // A new seed each create (a new instance-id): replace any earlier one.
        auto old = pool.volume(m_names.seed);
        if (!old) return std::unexpected(old.error());
        if (*old) {
            if (auto r = (*old)->remove(); !r) return std::unexpected(r.error());
        }
        // The seed holds the VM's private host key: its file is 0600 in the pool.
        auto made = upload_new_volume(pool, *m_hooks.uploader, m_names.seed, *iso, "raw", 0, true);
        if (!made) return std::unexpected(made.error());
        return made->path();
    }

    Result<void> boot(Domain& domain) {
        auto active = domain.is_active();
        if (!active) return std::unexpected(active.error());
        if (!*active) {
            spdlog::info("Starting domain {}...", m_names.domain);
            if (auto r = domain.start(); !r) return r;
        }
        return wait_for_address(domain);
    }

    /// The first IPv4 address (else IPv6) from the DHCP leases, then the guest agent, then ARP;
    /// "" when none knows one yet.
    Result<std::string> find_address(Domain& domain) {
        std::string v6;
        for (AddressSource source : {AddressSource::Lease, AddressSource::Agent, AddressSource::Arp}) {
            auto addrs = domain.addresses(source);
            if (!addrs) continue;  // no agent in the guest, or a driver without ARP: try the next
            for (const auto& a : *addrs) {
                if (a.address.empty() || a.address.starts_with("127.") || a.address == "::1" ||
                    a.address.starts_with("fe80"))
                    continue;
                if (!a.ipv6) return a.address;
                if (v6.empty()) v6 = a.address;
            }
        }
        return v6;
    }

    static std::string url_of(const std::string& address) {
        const bool v6 = address.find(':') != std::string::npos;
        return "tcp://" + (v6 ? "[" + address + "]" : address) + ":2376";
    }

    /// Keeps the address for ls; a failure to write it only costs ls a lookup.
    void remember_address(const std::string& address) const {
        if (m_ctx.machine_dir.empty()) return;
        auto kept = read_file(m_ctx.machine_dir / k_address_file);
        if (kept && *kept == address + "\n") return;
        std::error_code ec;
        if (!std::filesystem::is_directory(m_ctx.machine_dir, ec)) return;
        if (auto ok = write_file_atomic(m_ctx.machine_dir / k_address_file, address + "\n", 0600); !ok)
            spdlog::debug("cannot keep the address of {}: {}", m_ctx.machine, ok.error().message);
    }

    std::string address_hint() const {
        return "check that the guest boots (`virsh -c " + m_uri + " console " + m_names.domain +
               "`), that network " + m_network + " hands out DHCP leases (`virsh -c " + m_uri + " net-dhcp-leases " +
               m_network + "`; NAT networks need dnsmasq), and that the image runs cloud-init";
    }

    Result<void> wait_for_address(Domain& domain) {
        Clock& clock = driver_clock(m_ctx);
        return wait_until(
            clock, clock.now() + m_hooks.address_timeout, m_hooks.poll_interval,
            [&]() -> Result<WaitStep> {
                auto address = find_address(domain);
                if (!address) return std::unexpected(address.error());
                if (address->empty()) return WaitStep::NotYet;
                remember_address(*address);
                spdlog::debug("{}domain {} has address {}", "[" + m_ctx.machine + "] ", m_names.domain, *address);
                return WaitStep::Done;
            },
            [&] {
                return fail("domain " + m_names.domain + " got no IP address on network " + m_network + " within " +
                                whole_seconds(m_hooks.address_timeout),
                            address_hint())
                    .error();
            });
    }

    DriverContext m_ctx;
    LibvirtHooks m_hooks;
    MachineNames m_names;
    std::optional<Connection> m_conn;
    // The settings (settings() gives their defaults, from the option table).
    std::string m_uri;
    int m_cpus = 0;
    int m_memory = 0;
    int m_disk_gb = 0;
    int m_data_gb = 0;
    std::string m_network;
    std::string m_image;
    std::string m_virt_type;
    std::string m_chosen_virt_type;
    std::string m_user;
    std::string m_base_volume;
    std::string m_kernel_volume;
    std::string m_initrd_volume;
    std::string m_instance_id;
};

/// One connection and one virConnectGetAllDomainStats per URI, however many machines.
std::vector<Result<MachineState>> libvirt_states(const std::vector<Driver*>& drivers) {
    std::vector<Result<MachineState>> out(drivers.size(), Result<MachineState>(MachineState::None));
    std::map<std::string, std::vector<std::size_t>> by_uri;
    for (std::size_t i = 0; i < drivers.size(); ++i) {
        auto* d = dynamic_cast<LibvirtDriver*>(drivers[i]);
        if (d == nullptr) {
            out[i] = fail("internal error: not a libvirt machine");
            continue;
        }
        by_uri[d->uri()].push_back(i);
    }
    for (const auto& [uri, indexes] : by_uri) {
        auto conn = Connection::open(uri);
        if (!conn) {
            for (std::size_t i : indexes) out[i] = std::unexpected(conn.error());
            continue;
        }
        auto states = conn->domain_states();
        if (!states) {
            for (std::size_t i : indexes) out[i] = std::unexpected(states.error());
            continue;
        }
        for (std::size_t i : indexes) {
            auto* d = static_cast<LibvirtDriver*>(drivers[i]);
            auto it = states->find(d->domain_name());
            if (it == states->end()) {
                out[i] = fail_kind(ErrorKind::NotFound, "domain " + d->domain_name() + " does not exist at " + uri);
                continue;
            }
            out[i] = map_domain_state(it->second);
        }
    }
    return out;
}

}  // namespace

DriverInfo libvirt_driver_info(LibvirtHooks hooks) {
    return DriverInfo{
        .name = "libvirt",
        .description = "a VM made through libvirt (local or qemu+ssh://), booted with cloud-init",
        .options = libvirt_options(),
        .make = [hooks](const DriverContext& ctx) -> std::unique_ptr<Driver> {
            return std::make_unique<LibvirtDriver>(ctx, hooks);
        },
        .states = [](const std::vector<Driver*>& drivers) { return libvirt_states(drivers); },
    };
}

}  // namespace berth
