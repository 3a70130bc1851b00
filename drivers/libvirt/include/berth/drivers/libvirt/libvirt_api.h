#pragma once
/// RAII wrappers over the parts of libvirt's C API the libvirt driver uses: connections, domains,
/// storage pools and volumes, networks and streams. Every failing call becomes an Error carrying
/// libvirt's own message (virGetLastErrorMessage) and a hint; a lookup of something absent is an
/// empty optional, not an error. Everything goes through the API (never through paths on this
/// host), so remote URIs (qemu+ssh://) work the same as local ones.

#include <berth/core/error.h>

#include <libvirt/libvirt.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace berth::libvirt {

/// Owns one libvirt object reference; `Release` drops it.
template <typename Ptr, int (*Release)(Ptr)>
class Handle {
public:
    Handle() = default;
    explicit Handle(Ptr p) : m_p(p) {}
    ~Handle() { reset(); }
    Handle(Handle&& other) noexcept : m_p(std::exchange(other.m_p, nullptr)) {}
    Handle& operator=(Handle&& other) noexcept {
        if (this != &other) {
            reset();
            m_p = std::exchange(other.m_p, nullptr);
        }
        return *this;
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;

    [[nodiscard]] Ptr get() const { return m_p; }
    explicit operator bool() const { return m_p != nullptr; }
    void reset() {
        if (m_p != nullptr) Release(std::exchange(m_p, nullptr));
    }

private:
    Ptr m_p = nullptr;
};

/// The Error for a libvirt call that just failed: "<what>: <libvirt's message>; <hint>", with
/// libvirt's error code in the context.
[[nodiscard]] Error last_error(const std::string& what, const std::string& hint = {});
/// libvirt's code for the last error on this thread (VIR_ERR_*), 0 for none.
[[nodiscard]] int last_error_code();

/// Which source virDomainInterfaceAddresses asks.
enum class AddressSource { Lease, Agent, Arp };

struct InterfaceAddress {
    std::string interface;  ///< "vnet0"
    std::string mac;
    std::string address;    ///< "192.168.122.23"
    bool ipv6 = false;
};

/// What a domain is doing (virDomainGetState).
using DomainStateCode = int;  ///< virDomainState

class Domain {
public:
    Domain() = default;
    explicit Domain(virDomainPtr d) : m_h(d) {}

    [[nodiscard]] virDomainPtr get() const { return m_h.get(); }
    [[nodiscard]] std::string name() const;
    [[nodiscard]] Result<DomainStateCode> state() const;
    [[nodiscard]] Result<bool> is_active() const;
    [[nodiscard]] Result<std::string> xml() const;
    [[nodiscard]] Result<void> start();     ///< virDomainCreate
    [[nodiscard]] Result<void> shutdown();  ///< ACPI power button
    [[nodiscard]] Result<void> reboot();
    [[nodiscard]] Result<void> destroy();   ///< pulls the plug
    /// Undefines; with `nvram`, the UEFI variables file goes too.
    [[nodiscard]] Result<void> undefine(bool nvram);
    [[nodiscard]] Result<std::vector<InterfaceAddress>> addresses(AddressSource source) const;
    /// Takes the CD-ROM at target `dev` (a SATA one) out of the domain: ejected from the running
    /// guest and from its definition (virDomainUpdateDeviceFlags, forced). Where the driver cannot
    /// update devices (the test driver), the definition is rewritten without the disk instead.
    [[nodiscard]] Result<void> remove_cdrom(const std::string& dev);
    /// Sets the memory (maximum and current, KiB) and the virtual CPUs (maximum and current) in
    /// the domain's definition (VIR_DOMAIN_AFFECT_CONFIG): they take effect at its next start.
    [[nodiscard]] Result<void> set_size(unsigned long memory_kib, unsigned int vcpus);

private:
    Handle<virDomainPtr, virDomainFree> m_h;
};

class StorageVolume {
public:
    StorageVolume() = default;
    explicit StorageVolume(virStorageVolPtr v) : m_h(v) {}

    [[nodiscard]] virStorageVolPtr get() const { return m_h.get(); }
    [[nodiscard]] std::string name() const;
    /// The volume's path on the hypervisor's host (what a domain's <source file=> names).
    [[nodiscard]] Result<std::string> path() const;
    /// virStorageVolGetXMLDesc: for file-backed pools libvirt stats the file first, so sizes and
    /// <timestamps> are current.
    [[nodiscard]] Result<std::string> xml() const;
    /// Bytes the file takes on disk (physical size), where the driver can tell.
    [[nodiscard]] Result<std::uint64_t> physical_size() const;
    [[nodiscard]] Result<void> remove();  ///< virStorageVolDelete

private:
    Handle<virStorageVolPtr, virStorageVolFree> m_h;
};

class StoragePool {
public:
    StoragePool() = default;
    explicit StoragePool(virStoragePoolPtr p) : m_h(p) {}

    [[nodiscard]] virStoragePoolPtr get() const { return m_h.get(); }
    [[nodiscard]] std::string name() const;
    [[nodiscard]] Result<bool> is_active() const;
    [[nodiscard]] Result<void> build();
    [[nodiscard]] Result<void> start();
    [[nodiscard]] Result<void> refresh();
    [[nodiscard]] Result<void> set_autostart(bool on);
    /// The pool's <target><path>.
    [[nodiscard]] Result<std::string> target_path() const;
    [[nodiscard]] Result<std::optional<StorageVolume>> volume(const std::string& name) const;
    [[nodiscard]] Result<StorageVolume> create_volume(const std::string& xml);
    [[nodiscard]] Result<std::vector<std::string>> volume_names() const;

private:
    Handle<virStoragePoolPtr, virStoragePoolFree> m_h;
};

class Network {
public:
    Network() = default;
    explicit Network(virNetworkPtr n) : m_h(n) {}

    [[nodiscard]] virNetworkPtr get() const { return m_h.get(); }
    [[nodiscard]] std::string name() const;
    [[nodiscard]] Result<bool> is_active() const;
    [[nodiscard]] Result<void> start();
    [[nodiscard]] Result<void> set_autostart(bool on);

private:
    Handle<virNetworkPtr, virNetworkFree> m_h;
};

/// A data stream (volume uploads). Aborted on destruction unless finished.
class Stream {
public:
    Stream() = default;
    explicit Stream(virStreamPtr s) : m_h(s) {}
    Stream(Stream&&) noexcept = default;
    Stream& operator=(Stream&&) noexcept = default;
    ~Stream();

    [[nodiscard]] virStreamPtr get() const { return m_h.get(); }
    [[nodiscard]] Result<void> send_all(const char* data, std::size_t size);
    [[nodiscard]] Result<void> finish();

private:
    Handle<virStreamPtr, virStreamFree> m_h;
    bool m_done = false;
};

class Connection {
public:
    /// Opens `uri` (with libvirt's default authentication callbacks, for qemu+ssh:// and tcp).
    [[nodiscard]] static Result<Connection> open(const std::string& uri);

    Connection() = default;
    [[nodiscard]] virConnectPtr get() const { return m_h.get(); }
    [[nodiscard]] const std::string& uri() const { return m_uri; }
    [[nodiscard]] bool alive() const;

    [[nodiscard]] Result<std::optional<Domain>> domain(const std::string& name) const;
    [[nodiscard]] Result<Domain> define_domain(const std::string& xml);
    /// Every domain, active or not: one virConnectListAllDomains call.
    [[nodiscard]] Result<std::vector<Domain>> all_domains() const;
    /// Every domain's name and state (virDomainState): one virConnectGetAllDomainStats call,
    /// not a virDomainGetState per domain (names are read locally, virDomainGetName).
    [[nodiscard]] Result<std::map<std::string, DomainStateCode>> domain_states() const;

    [[nodiscard]] Result<std::optional<StoragePool>> pool(const std::string& name) const;
    [[nodiscard]] Result<StoragePool> define_pool(const std::string& xml);

    [[nodiscard]] Result<std::optional<Network>> network(const std::string& name) const;
    [[nodiscard]] Result<Network> define_network(const std::string& xml);

    [[nodiscard]] Result<Stream> new_stream();

private:
    Handle<virConnectPtr, virConnectClose> m_h;
    std::string m_uri;
};

/// True for a URI naming this host's hypervisor ("qemu:///system", "qemu+unix:///session"), false
/// for a remote one ("qemu+ssh://host/system", "qemu://host/system").
[[nodiscard]] bool uri_is_local(std::string_view uri);

/// Text between <tag> and </tag> of the first such element after `after` in XML that libvirt
/// wrote ("" when there is none; simple documents only). Reads a storage pool's target path.
[[nodiscard]] std::string element_text(const std::string& xml, const std::string& after, const std::string& tag);

/// XML escaping good for both text and attribute values (core/escape.h's xml_attr).
[[nodiscard]] std::string xml_escape(std::string_view text);

}  // namespace berth::libvirt
