#include <berth/service/image_bake.h>

#include <berth/core/escape.h>
#include <berth/core/machine_name.h>
#include <berth/driver/qcow2.h>
#include <berth/provision/host_paths.h>
#include <berth/provision/packages_step.h>
#include <berth/service/connect.h>

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <system_error>

namespace berth {
namespace fs = std::filesystem;

std::string bake_machine_name(std::string_view image) { return "bake-" + std::string(image); }

std::string bake_cleanup_script() {
    std::string script =
        "set -u\n"
        "# Docker stopped and disabled: the first start on a created machine is the configured one.\n"
        "systemctl disable --now docker.service docker.socket >/dev/null 2>&1 || true\n"
        "systemctl stop containerd.service >/dev/null 2>&1 || true\n"
        "for d in /var/lib/docker /var/lib/containerd; do [ -d \"$d\" ] && find \"$d\" -mindepth 1 -maxdepth 1 "
        "-exec rm -rf {} +; done\n"
        "# The machine's own files: TLS, engine environment, authz policy (its owner's CN), apt's proxy.\n"
        "rm -f " + shell_quote(k_ca_path) + " " + shell_quote(k_server_cert_path) + " " +
        shell_quote(k_server_key_path) + " " + shell_quote(k_engine_env) + " " + shell_quote(k_authz_policy) + " " +
        shell_quote(k_authz_revoked) + " " + shell_quote(k_apt_proxy) + "\n"
        "rm -f /etc/ssh/ssh_host_*\n"
        "rm -f /root/.ssh/authorized_keys /home/*/.ssh/authorized_keys /root/.bash_history /home/*/.bash_history\n"
        "# The first boot runs again on a machine made from the image: cloud-init's, or berth's own\n"
        "# (images berth built; its seed script rewrites the login, network and data-disk files).\n"
        "if command -v cloud-init >/dev/null; then cloud-init clean --logs --seed || exit 1; "
        "else rm -rf /var/lib/cloud/*; fi\n"
        "rm -f /var/lib/berth/firstboot-done\n"
        "apt-get clean >/dev/null 2>&1 || true\n"
        "rm -rf /var/lib/apt/lists/* /var/lib/dhcp/*.leases /var/lib/systemd/random-seed "
        "/var/lib/systemd/credential.secret\n"
        "find /tmp /var/tmp -mindepth 1 -maxdepth 1 -exec rm -rf {} +\n"
        "# Logs: the journal (journald stopped, so nothing more lands there) and /var/log's files.\n"
        "auditctl --signal stop >/dev/null 2>&1 || true\n"
        "systemctl stop systemd-journald.socket systemd-journald-dev-log.socket systemd-journald-audit.socket "
        "systemd-journald.service >/dev/null 2>&1 || true\n"
        "rm -rf /var/log/journal/*\n"
        "find /var/log -type f \\( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \\) -delete\n"
        "find /var/log -type f -exec truncate -s 0 {} +\n"
        "# Last: an empty machine-id, as systemd images ship it (systemd makes one at first boot).\n"
        "truncate -s 0 /etc/machine-id\n"
        "rm -f /var/lib/dbus/machine-id\n"
        "sync\n";
    return script;
}

DiskLocator libvirt_disk_locator(Runner& runner) {
    return [&runner](const Machine& machine) -> Result<fs::path> {
        const auto& saved = machine.record.driver;
        const std::string uri = saved.value("uri", "");
        const std::string pool = saved.value("pool", "");
        std::string disk;
        if (auto v = saved.find("volumes"); v != saved.end() && v->is_object()) disk = v->value("disk", "");
        if (uri.empty() || pool.empty() || disk.empty())
            return fail("machine \"" + machine.record.name + "\" has no libvirt disk volume in its record");
        if (uri.find("://") == std::string::npos || uri.find("///") == std::string::npos)
            return fail_usage("berth image bake needs the hypervisor on this host (qemu:///system or "
                              "qemu:///session), not " + uri,
                              "bake on the hypervisor host, then copy the image's directory");
        Command cmd;
        cmd.argv = {"virsh", "-c", uri, "vol-path", "--pool", pool, disk};
        auto r = runner.run(cmd);
        if (!r) return std::unexpected(r.error());
        if (r->exit_status != 0 || r->out.empty())
            return fail("cannot find the disk of machine \"" + machine.record.name + "\": " + r->err);
        std::string path = r->out;
        while (!path.empty() && (path.back() == '\n' || path.back() == '\r')) path.pop_back();
        return fs::path(path);
    };
}

namespace {

/// The source's virtual size in whole GiB (rounded up), the temporary machine's disk size: a bake
/// that grew the file system to the driver's default would force that size on every machine.
Result<std::string> source_disk_gb(const CachedImage& source) {
    std::ifstream in(source.disk_path(), std::ios::binary);
    std::string bytes(k_qcow2_header_bytes, '\0');
    if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size())))
        return fail("cannot read the header of " + source.disk_path().string());
    auto header = parse_qcow2_header(bytes, source.disk_path().string());
    if (!header) return std::unexpected(header.error());
    const std::uint64_t gib = (header->virtual_size + (1ULL << 30) - 1) >> 30;
    return std::to_string(std::max<std::uint64_t>(gib, 1));
}

/// Removes the temporary machine when the bake ends, however it ends.
class MachineGuard {
public:
    MachineGuard(const MachineService& machines, std::string name) : m_machines(machines), m_name(std::move(name)) {}
    MachineGuard(const MachineGuard&) = delete;
    MachineGuard& operator=(const MachineGuard&) = delete;
    ~MachineGuard() {
        spdlog::info("Removing the temporary machine {}...", m_name);
        auto removed = m_machines.remove(m_name, true);
        if (!removed && removed.error().kind != ErrorKind::NotFound)
            spdlog::warn("could not remove the temporary machine {}: {}", m_name, removed.error().line());
    }

private:
    const MachineService& m_machines;
    std::string m_name;
};

/// Deletes a file when it goes out of scope.
struct TempFile {
    fs::path path;
    ~TempFile() {
        std::error_code ec;
        fs::remove(path, ec);
    }
};

Result<void> check_interrupted(const BakeRequest& request) {
    if (request.interrupted && request.interrupted())
        return fail("berth image bake was interrupted", "nothing was cached; the temporary machine is removed");
    return {};
}

}  // namespace

ImageBakeService::ImageBakeService(const MachineService& machines, ImageCache& cache, Runner& runner,
                                   DiskLocator locate)
    : m_machines(machines), m_cache(cache), m_runner(runner), m_locate(std::move(locate)) {}

Result<void> ImageBakeService::validate(const BakeRequest& request) const {
    if (auto ok = validate_image_name(request.name); !ok) return ok;
    if (auto ok = validate_machine_name(bake_machine_name(request.name)); !ok)
        return fail_usage("the image name \"" + request.name + "\" is too long for the temporary machine bake-NAME",
                          "use a name of at most " + std::to_string(k_max_machine_name - 5) + " characters");
    for (const char* owned : {"image", "data-disk-size"})
        if (auto it = request.driver_flags.find(owned); it != request.driver_flags.end() && !it->second.empty())
            return fail_usage(std::string("berth image bake sets --libvirt-") + owned + " itself",
                              "name the source image as the argument; the baked disk holds no data disk");
    if (auto existing = m_cache.find(request.name); existing) {
        Error e;
        e.kind = ErrorKind::Conflict;
        e.message = "an image called \"" + request.name + "\" is cached already";
        e.hint = "remove it first (berth image rm " + request.name + ") or bake --as another name";
        return std::unexpected(std::move(e));
    }
    return {};
}

Result<BakeReport> ImageBakeService::bake(const BakeRequest& request) const {
    if (auto ok = validate(request); !ok) return std::unexpected(ok.error());
    auto source = m_cache.find(request.source);
    if (!source) return std::unexpected(source.error());
    BakeReport report;
    report.machine = bake_machine_name(request.name);
    if (m_machines.store().exists(report.machine)) {
        spdlog::warn("removing the temporary machine {} an earlier bake left", report.machine);
        if (auto r = m_machines.remove(report.machine, true); !r) return std::unexpected(r.error());
    }
    if (auto ok = bake_on(request, *source, report); !ok)
        return std::unexpected(Error(ok.error()).with("temporary machine", report.machine));
    return report;
}

Result<void> ImageBakeService::bake_on(const BakeRequest& request, const CachedImage& source,
                                       BakeReport& report) const {
    Clock& clock = *m_machines.ports().clock;
    CreateRequest create;
    create.name = report.machine;
    create.driver = request.driver;
    create.driver_flags = request.driver_flags;
    create.driver_flags["image"] = {request.source};
    create.driver_flags["data-disk-size"] = {"0"};
    if (auto it = create.driver_flags.find("disk-size"); it == create.driver_flags.end() || it->second.empty()) {
        auto gb = source_disk_gb(source);
        if (!gb) return std::unexpected(gb.error());
        create.driver_flags["disk-size"] = {*gb};
    }
    create.engine = request.engine;
    MachineGuard guard(m_machines, report.machine);
    spdlog::info("Baking {} from {}: creating the temporary machine {}...", request.name, request.source,
                 report.machine);
    auto start = clock.now();
    auto created = m_machines.create(create);
    if (!created) return std::unexpected(created.error());
    report.timings.emplace_back("create", seconds_since(clock, start));
    const OsFamily family = created->provision ? created->provision->os.family : OsFamily::Debian;
    report.packages = package_names(family, request.engine);
    if (auto ok = check_interrupted(request); !ok) return ok;

    start = clock.now();
    if (auto ok = clean(report.machine); !ok) return ok;
    report.timings.emplace_back("clean", seconds_since(clock, start));
    if (auto ok = check_interrupted(request); !ok) return ok;

    start = clock.now();
    spdlog::info("Powering {} off...", report.machine);
    if (auto ok = m_machines.power(report.machine, MachineService::Power::Stop); !ok) return ok;
    report.timings.emplace_back("stop", seconds_since(clock, start));
    if (auto ok = check_interrupted(request); !ok) return ok;

    auto image = store(request, source, report.machine, report.packages, report.timings);
    if (!image) return std::unexpected(image.error());
    report.image = std::move(*image);
    return {};
}

Result<void> ImageBakeService::clean(const std::string& machine) const {
    auto opened = m_machines.open(machine);
    if (!opened) return std::unexpected(opened.error());
    SshOptions ssh;
    ssh.host_key = HostKeyPolicy::RequirePinned;
    auto connection = connect(m_machines.ports(), machine, *opened->driver, ssh);
    if (!connection) return std::unexpected(connection.error());
    spdlog::info("Removing what is machine-specific from {}...", machine);
    auto r = connection->session->run(bake_cleanup_script(), std::chrono::seconds(300));
    if (!r) return std::unexpected(r.error());
    if (r->exit_status != 0)
        return fail("cleaning the temporary machine " + machine + " failed (exit " + std::to_string(r->exit_status) +
                    "): " + r->err);
    return {};
}

Result<CachedImage> ImageBakeService::store(const BakeRequest& request, const CachedImage& source,
                                            const std::string& machine, const std::vector<std::string>& packages,
                                            Timings& timings) const {
    Clock& clock = *m_machines.ports().clock;
    auto opened = m_machines.open(machine);
    if (!opened) return std::unexpected(opened.error());
    auto disk = m_locate(*opened);
    if (!disk) return std::unexpected(disk.error());
    std::error_code ec;
    fs::create_directories(m_cache.dir(), ec);
    TempFile flat{m_cache.dir() / (".bake-" + request.name + "." + std::to_string(::getpid()) + ".qcow2")};
    auto start = clock.now();
    spdlog::info("Flattening {} into a standalone qcow2...", disk->string());
    Command convert;
    convert.argv = {"qemu-img", "convert", "-O", "qcow2", disk->string(), flat.path.string()};
    convert.timeout = std::chrono::minutes(30);
    auto r = m_runner.run(convert);
    if (!r) return std::unexpected(r.error());
    if (r->exit_status != 0) return fail("qemu-img convert of " + disk->string() + " failed: " + r->err);
    timings.emplace_back("convert", seconds_since(clock, start));

    start = clock.now();
    PullOptions pull;
    pull.name = request.name;
    pull.source_label = "baked from " + request.source;
    pull.baked_from = request.source;
    pull.packages = packages;
    if (!source.kernel.empty()) {
        pull.kernel = source.dir / source.kernel;
        pull.initrd = source.dir / source.initrd;
        pull.kernel_cmdline = source.kernel_cmdline;
    }
    auto image = m_cache.pull(flat.path.string(), pull);
    if (!image) return std::unexpected(image.error());
    timings.emplace_back("cache", seconds_since(clock, start));
    return image;
}

}  // namespace berth
