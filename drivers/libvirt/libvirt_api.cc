#include <berth/drivers/libvirt/libvirt_api.h>

#include <berth/core/escape.h>

#include <libvirt/virterror.h>

#include <cstdlib>
#include <mutex>

namespace berth::libvirt {

namespace {

// libvirt prints every error to stderr unless an error function is set; berth reports errors
// itself (as Error values), so the default printer is silenced once per process.
void silence_libvirt_stderr() {
    static std::once_flag once;
    std::call_once(once, [] {
        virSetErrorFunc(nullptr, [](void*, virErrorPtr) {});
        virInitialize();
    });
}

std::string take_string(char* s) {
    if (s == nullptr) return {};
    std::string out(s);
    std::free(s);
    return out;
}

bool is_not_found(int code) {
    return code == VIR_ERR_NO_DOMAIN || code == VIR_ERR_NO_STORAGE_POOL || code == VIR_ERR_NO_STORAGE_VOL ||
           code == VIR_ERR_NO_NETWORK;
}

}  // namespace

std::string element_text(const std::string& xml, const std::string& after, const std::string& tag) {
    std::size_t from = after.empty() ? 0 : xml.find(after);
    if (from == std::string::npos) return {};
    auto open = xml.find("<" + tag + ">", from);
    if (open == std::string::npos) return {};
    open += tag.size() + 2;
    auto close = xml.find("</" + tag + ">", open);
    if (close == std::string::npos) return {};
    return xml.substr(open, close - open);
}

bool uri_is_local(std::string_view uri) {
    auto sep = uri.find("://");
    if (sep == std::string_view::npos) return false;
    std::string_view scheme = uri.substr(0, sep);
    std::string_view rest = uri.substr(sep + 3);
    if (auto plus = scheme.find('+'); plus != std::string_view::npos) {
        std::string_view transport = scheme.substr(plus + 1);
        if (transport != "unix") return false;
    }
    // No host part: "qemu:///system". A host (even localhost) goes through a remote transport.
    return rest.starts_with('/');
}

int last_error_code() { return virGetLastErrorCode(); }

Error last_error(const std::string& what, const std::string& hint) {
    const int code = virGetLastErrorCode();
    const char* message = virGetLastErrorMessage();
    Error e;
    e.kind = ErrorKind::Failed;
    e.message = what;
    if (code != VIR_ERR_OK && message != nullptr) e.message += ": " + std::string(message);
    e.hint = hint;
    e.context.emplace_back("libvirt_error_code", std::to_string(code));
    return e;
}

std::string xml_escape(std::string_view text) {
    return xml_attr(text);
}

// --- Domain -----------------------------------------------------------------------------------

std::string Domain::name() const {
    const char* n = virDomainGetName(get());
    return n == nullptr ? std::string() : std::string(n);
}

Result<DomainStateCode> Domain::state() const {
    int state = 0;
    int reason = 0;
    if (virDomainGetState(get(), &state, &reason, 0) < 0)
        return std::unexpected(last_error("cannot read the state of domain " + name()));
    return state;
}

Result<bool> Domain::is_active() const {
    int r = virDomainIsActive(get());
    if (r < 0) return std::unexpected(last_error("cannot tell whether domain " + name() + " runs"));
    return r == 1;
}

Result<std::string> Domain::xml() const {
    char* x = virDomainGetXMLDesc(get(), 0);
    if (x == nullptr) return std::unexpected(last_error("cannot read the XML of domain " + name()));
    return take_string(x);
}

Result<void> Domain::start() {
    if (virDomainCreate(get()) < 0)
        return std::unexpected(last_error("cannot start domain " + name(),
                                          "see the hypervisor's log (for qemu:///system: /var/log/libvirt/qemu/" +
                                              name() + ".log)"));
    return {};
}

Result<void> Domain::shutdown() {
    if (virDomainShutdown(get()) < 0)
        return std::unexpected(last_error("cannot shut domain " + name() + " down"));
    return {};
}

Result<void> Domain::reboot() {
    if (virDomainReboot(get(), 0) < 0) return std::unexpected(last_error("cannot reboot domain " + name()));
    return {};
}

Result<void> Domain::destroy() {
    if (virDomainDestroy(get()) < 0) return std::unexpected(last_error("cannot stop (destroy) domain " + name()));
    return {};
}

Result<void> Domain::set_size(unsigned long memory_kib, unsigned int vcpus) {
    const unsigned config = VIR_DOMAIN_AFFECT_CONFIG;
    const auto failed = [&](const std::string& what) {
        return std::unexpected(last_error("cannot set the " + what + " of domain " + name()));
    };
    // A maximum below the current value is refused, and a current one above the maximum: so the
    // maximum goes first when it grows and last when it shrinks.
    if (virDomainSetMemoryFlags(get(), memory_kib, config | VIR_DOMAIN_MEM_MAXIMUM) < 0 ||
        virDomainSetMemoryFlags(get(), memory_kib, config) < 0) {
        if (virDomainSetMemoryFlags(get(), memory_kib, config) < 0 ||
            virDomainSetMemoryFlags(get(), memory_kib, config | VIR_DOMAIN_MEM_MAXIMUM) < 0)
            return failed("memory");
    }
    if (virDomainSetVcpusFlags(get(), vcpus, config | VIR_DOMAIN_VCPU_MAXIMUM) < 0 ||
        virDomainSetVcpusFlags(get(), vcpus, config) < 0) {
        if (virDomainSetVcpusFlags(get(), vcpus, config) < 0 ||
            virDomainSetVcpusFlags(get(), vcpus, config | VIR_DOMAIN_VCPU_MAXIMUM) < 0)
            return failed("virtual CPUs");
    }
    return {};
}

Result<void> Domain::undefine(bool nvram) {
    if (nvram) {
        if (virDomainUndefineFlags(get(), VIR_DOMAIN_UNDEFINE_NVRAM) == 0) return {};
        // Drivers without NVRAM support refuse the flag; plain undefine is then the whole job.
        const int code = virGetLastErrorCode();
        if (code != VIR_ERR_INVALID_ARG && code != VIR_ERR_NO_SUPPORT)
            return std::unexpected(last_error("cannot undefine domain " + name()));
    }
    if (virDomainUndefine(get()) < 0) return std::unexpected(last_error("cannot undefine domain " + name()));
    return {};
}

namespace {

/// The domain XML without the <disk> whose target is `dev` ("" when there is none).
std::string without_disk(const std::string& xml, const std::string& dev) {
    for (auto at = xml.find("<disk "); at != std::string::npos; at = xml.find("<disk ", at + 1)) {
        const auto end = xml.find("</disk>", at);
        if (end == std::string::npos) break;
        const std::string block = xml.substr(at, end - at);
        if (block.find("<target dev='" + dev + "'") == std::string::npos) continue;
        auto line_start = xml.rfind('\n', at);
        line_start = line_start == std::string::npos ? at : line_start;
        return xml.substr(0, line_start) + xml.substr(end + std::string("</disk>").size());
    }
    return "";
}

}  // namespace

Result<void> Domain::remove_cdrom(const std::string& dev) {
    const std::string eject = "<disk type='file' device='cdrom'>\n  <driver name='qemu' type='raw'/>\n  <target dev='" +
                              dev + "' bus='sata'/>\n  <readonly/>\n</disk>\n";
    auto active = is_active();
    if (!active) return std::unexpected(active.error());
    unsigned flags = static_cast<unsigned>(VIR_DOMAIN_AFFECT_CONFIG) | static_cast<unsigned>(VIR_DOMAIN_DEVICE_MODIFY_FORCE);
    if (*active) flags |= static_cast<unsigned>(VIR_DOMAIN_AFFECT_LIVE);
    if (virDomainUpdateDeviceFlags(get(), eject.c_str(), flags) == 0) return {};
    if (last_error_code() != VIR_ERR_NO_SUPPORT)
        return std::unexpected(last_error("cannot eject the CD-ROM " + dev + " of domain " + name()));
    char* x = virDomainGetXMLDesc(get(), VIR_DOMAIN_XML_INACTIVE);
    if (x == nullptr) return std::unexpected(last_error("cannot read the XML of domain " + name()));
    const std::string rewritten = without_disk(take_string(x), dev);
    if (rewritten.empty()) return {};  // no such disk: gone already
    virDomainPtr d = virDomainDefineXML(virDomainGetConnect(get()), rewritten.c_str());
    if (d == nullptr) return std::unexpected(last_error("cannot redefine domain " + name() + " without its CD-ROM"));
    virDomainFree(d);
    return {};
}

Result<std::vector<InterfaceAddress>> Domain::addresses(AddressSource source) const {
    unsigned int src = VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE;
    if (source == AddressSource::Agent) src = VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT;
    if (source == AddressSource::Arp) src = VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP;
    virDomainInterfacePtr* ifaces = nullptr;
    int n = virDomainInterfaceAddresses(get(), &ifaces, src, 0);
    if (n < 0) return std::unexpected(last_error("cannot read the addresses of domain " + name()));
    std::vector<InterfaceAddress> out;
    for (int i = 0; i < n; ++i) {
        virDomainInterfacePtr iface = ifaces[i];
        for (unsigned int j = 0; j < iface->naddrs; ++j) {
            InterfaceAddress a;
            a.interface = iface->name != nullptr ? iface->name : "";
            a.mac = iface->hwaddr != nullptr ? iface->hwaddr : "";
            a.address = iface->addrs[j].addr != nullptr ? iface->addrs[j].addr : "";
            a.ipv6 = iface->addrs[j].type == VIR_IP_ADDR_TYPE_IPV6;
            out.push_back(std::move(a));
        }
        virDomainInterfaceFree(iface);
    }
    std::free(ifaces);
    return out;
}

// --- StorageVolume ----------------------------------------------------------------------------

std::string StorageVolume::name() const {
    const char* n = virStorageVolGetName(get());
    return n == nullptr ? std::string() : std::string(n);
}

Result<std::string> StorageVolume::path() const {
    char* p = virStorageVolGetPath(get());
    if (p == nullptr) return std::unexpected(last_error("cannot read the path of volume " + name()));
    return take_string(p);
}

Result<std::string> StorageVolume::xml() const {
    char* x = virStorageVolGetXMLDesc(get(), 0);
    if (x == nullptr) return std::unexpected(last_error("cannot read the XML of volume " + name()));
    return take_string(x);
}

Result<std::uint64_t> StorageVolume::physical_size() const {
    virStorageVolInfo info{};
    if (virStorageVolGetInfoFlags(get(), &info, VIR_STORAGE_VOL_GET_PHYSICAL) < 0)
        return std::unexpected(last_error("cannot read the size of volume " + name()));
    return static_cast<std::uint64_t>(info.allocation);
}

Result<void> StorageVolume::remove() {
    if (virStorageVolDelete(get(), 0) < 0) return std::unexpected(last_error("cannot delete volume " + name()));
    return {};
}

// --- StoragePool ------------------------------------------------------------------------------

std::string StoragePool::name() const {
    const char* n = virStoragePoolGetName(get());
    return n == nullptr ? std::string() : std::string(n);
}

Result<bool> StoragePool::is_active() const {
    int r = virStoragePoolIsActive(get());
    if (r < 0) return std::unexpected(last_error("cannot tell whether storage pool " + name() + " is active"));
    return r == 1;
}

Result<void> StoragePool::build() {
    if (virStoragePoolBuild(get(), 0) < 0)
        return std::unexpected(last_error("cannot build storage pool " + name(),
                                          "check that the pool's directory can be made on the hypervisor's host"));
    return {};
}

Result<void> StoragePool::start() {
    if (virStoragePoolCreate(get(), 0) < 0)
        return std::unexpected(last_error("cannot start storage pool " + name()));
    return {};
}

Result<void> StoragePool::refresh() {
    if (virStoragePoolRefresh(get(), 0) < 0)
        return std::unexpected(last_error("cannot refresh storage pool " + name()));
    return {};
}

Result<void> StoragePool::set_autostart(bool on) {
    if (virStoragePoolSetAutostart(get(), on ? 1 : 0) < 0)
        return std::unexpected(last_error("cannot set autostart of storage pool " + name()));
    return {};
}

Result<std::string> StoragePool::target_path() const {
    char* x = virStoragePoolGetXMLDesc(get(), 0);
    if (x == nullptr) return std::unexpected(last_error("cannot read the XML of storage pool " + name()));
    std::string xml = take_string(x);
    std::string path = element_text(xml, "<target>", "path");
    if (path.empty()) return fail("storage pool " + name() + " has no target path", "berth needs a directory pool");
    return path;
}

Result<std::optional<StorageVolume>> StoragePool::volume(const std::string& vol_name) const {
    virStorageVolPtr v = virStorageVolLookupByName(get(), vol_name.c_str());
    if (v == nullptr) {
        if (is_not_found(virGetLastErrorCode())) return std::optional<StorageVolume>();
        return std::unexpected(last_error("cannot look up volume " + vol_name + " in pool " + name()));
    }
    return std::optional<StorageVolume>(StorageVolume(v));
}

Result<StorageVolume> StoragePool::create_volume(const std::string& xml) {
    virStorageVolPtr v = virStorageVolCreateXML(get(), xml.c_str(), 0);
    if (v == nullptr)
        return std::unexpected(last_error("cannot create a volume in storage pool " + name(),
                                          "check the free space of the pool (`virsh pool-info " + name() + "`)"));
    return StorageVolume(v);
}

Result<std::vector<std::string>> StoragePool::volume_names() const {
    virStorageVolPtr* vols = nullptr;
    int n = virStoragePoolListAllVolumes(get(), &vols, 0);
    if (n < 0) return std::unexpected(last_error("cannot list the volumes of storage pool " + name()));
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
        StorageVolume v(vols[i]);
        out.push_back(v.name());
    }
    std::free(vols);
    return out;
}

// --- Network ----------------------------------------------------------------------------------

std::string Network::name() const {
    const char* n = virNetworkGetName(get());
    return n == nullptr ? std::string() : std::string(n);
}

Result<bool> Network::is_active() const {
    int r = virNetworkIsActive(get());
    if (r < 0) return std::unexpected(last_error("cannot tell whether network " + name() + " is active"));
    return r == 1;
}

Result<void> Network::start() {
    if (virNetworkCreate(get()) < 0)
        return std::unexpected(last_error("cannot start network " + name(),
                                          "NAT networks need dnsmasq (package dnsmasq-base) and iptables on the "
                                          "hypervisor's host"));
    return {};
}

Result<void> Network::set_autostart(bool on) {
    if (virNetworkSetAutostart(get(), on ? 1 : 0) < 0)
        return std::unexpected(last_error("cannot set autostart of network " + name()));
    return {};
}

// --- Stream -----------------------------------------------------------------------------------

Stream::~Stream() {
    if (m_h && !m_done) virStreamAbort(m_h.get());
}

Result<void> Stream::send_all(const char* data, std::size_t size) {
    while (size > 0) {
        int n = virStreamSend(get(), data, size);
        if (n == -2) continue;  // non-blocking streams only; ours blocks
        if (n < 0) return std::unexpected(last_error("cannot send data to libvirt"));
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return {};
}

Result<void> Stream::finish() {
    m_done = true;
    if (virStreamFinish(get()) < 0) return std::unexpected(last_error("the upload to libvirt did not finish"));
    return {};
}

// --- Connection -------------------------------------------------------------------------------

Result<Connection> Connection::open(const std::string& uri) {
    silence_libvirt_stderr();
    virConnectPtr c = virConnectOpenAuth(uri.c_str(), virConnectAuthPtrDefault, 0);
    if (c == nullptr) {
        const bool local = uri_is_local(uri);
        std::string hint = local ? "is libvirtd running? start it with `libvirtd -d` (and `virtlogd -d`), or "
                                   "`systemctl start libvirtd`; then check `virsh -c " + uri + " version`"
                                 : "check that `virsh -c " + uri + " version` works from this shell (SSH key, "
                                   "libvirtd running on the remote host, your user in its libvirt group)";
        return std::unexpected(last_error("cannot connect to libvirt at " + uri, hint));
    }
    Connection conn;
    conn.m_h = Handle<virConnectPtr, virConnectClose>(c);
    conn.m_uri = uri;
    return conn;
}

bool Connection::alive() const { return m_h && virConnectIsAlive(get()) == 1; }

Result<std::optional<Domain>> Connection::domain(const std::string& name) const {
    virDomainPtr d = virDomainLookupByName(get(), name.c_str());
    if (d == nullptr) {
        if (is_not_found(virGetLastErrorCode())) return std::optional<Domain>();
        return std::unexpected(last_error("cannot look up domain " + name + " at " + m_uri));
    }
    return std::optional<Domain>(Domain(d));
}

Result<Domain> Connection::define_domain(const std::string& xml) {
    virDomainPtr d = virDomainDefineXML(get(), xml.c_str());
    if (d == nullptr)
        return std::unexpected(last_error("cannot define the domain at " + m_uri,
                                          "the domain XML comes from templates/libvirt-domain.xml.mustache"));
    return Domain(d);
}

Result<std::vector<Domain>> Connection::all_domains() const {
    virDomainPtr* doms = nullptr;
    int n = virConnectListAllDomains(get(), &doms, 0);
    if (n < 0) return std::unexpected(last_error("cannot list the domains at " + m_uri));
    std::vector<Domain> out;
    out.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) out.emplace_back(doms[i]);
    std::free(doms);
    return out;
}

Result<std::map<std::string, DomainStateCode>> Connection::domain_states() const {
    virDomainStatsRecordPtr* records = nullptr;
    int n = virConnectGetAllDomainStats(get(), VIR_DOMAIN_STATS_STATE, &records, 0);
    if (n < 0) return std::unexpected(last_error("cannot read the states of the domains at " + m_uri));
    std::map<std::string, DomainStateCode> out;
    for (int i = 0; i < n; ++i) {
        const char* name = virDomainGetName(records[i]->dom);
        int state = VIR_DOMAIN_NOSTATE;
        if (virTypedParamsGetInt(records[i]->params, records[i]->nparams, "state.state", &state) < 0)
            state = VIR_DOMAIN_NOSTATE;
        if (name != nullptr) out[name] = state;
    }
    virDomainStatsRecordListFree(records);
    return out;
}

Result<std::optional<StoragePool>> Connection::pool(const std::string& name) const {
    virStoragePoolPtr p = virStoragePoolLookupByName(get(), name.c_str());
    if (p == nullptr) {
        if (is_not_found(virGetLastErrorCode())) return std::optional<StoragePool>();
        return std::unexpected(last_error("cannot look up storage pool " + name + " at " + m_uri));
    }
    return std::optional<StoragePool>(StoragePool(p));
}

Result<StoragePool> Connection::define_pool(const std::string& xml) {
    virStoragePoolPtr p = virStoragePoolDefineXML(get(), xml.c_str(), 0);
    if (p == nullptr) return std::unexpected(last_error("cannot define a storage pool at " + m_uri));
    return StoragePool(p);
}

Result<std::optional<Network>> Connection::network(const std::string& name) const {
    virNetworkPtr n = virNetworkLookupByName(get(), name.c_str());
    if (n == nullptr) {
        if (is_not_found(virGetLastErrorCode())) return std::optional<Network>();
        return std::unexpected(last_error("cannot look up network " + name + " at " + m_uri));
    }
    return std::optional<Network>(Network(n));
}

Result<Network> Connection::define_network(const std::string& xml) {
    virNetworkPtr n = virNetworkDefineXML(get(), xml.c_str());
    if (n == nullptr) return std::unexpected(last_error("cannot define a network at " + m_uri));
    return Network(n);
}

Result<Stream> Connection::new_stream() {
    virStreamPtr s = virStreamNew(get(), 0);
    if (s == nullptr) return std::unexpected(last_error("cannot open a libvirt stream"));
    return Stream(s);
}

}  // namespace berth::libvirt
