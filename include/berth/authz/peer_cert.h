#pragma once
/// The serial number of a client certificate as dockerd hands it to berth-authz (PEM, in the
/// AuthZReq's RequestPeerCertificates), read with a small DER reader of its own: berth-authz links
/// fully static and stays small, so it does not take in libcrypto for one INTEGER.
///
///   Certificate ::= SEQUENCE { tbsCertificate TBSCertificate, ... }
///   TBSCertificate ::= SEQUENCE { version [0] EXPLICIT Version OPTIONAL, serialNumber INTEGER, ... }

#include <expected>
#include <string>
#include <string_view>

namespace berth::authz {

/// The serial of the DER certificate `der`: upper-case hex, two digits a byte, leading zero bytes
/// dropped ("0" for zero), as `openssl x509 -serial` prints it. Fails (saying why) on anything
/// that is not a DER certificate up to its serial.
[[nodiscard]] std::expected<std::string, std::string> der_certificate_serial(std::string_view der);

/// The same for the first "-----BEGIN CERTIFICATE-----" block of `pem`.
[[nodiscard]] std::expected<std::string, std::string> pem_certificate_serial(std::string_view pem);

}  // namespace berth::authz
