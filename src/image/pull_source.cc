#include <berth/image/pull_source.h>

#include <array>
#include <cctype>
#include <system_error>

namespace berth {
namespace fs = std::filesystem;

namespace {

constexpr std::array<KnownImage, 2> k_known_images = {{
    {"debian-12", "Debian 12 (bookworm) generic cloud image, amd64, qcow2",
     "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2",
     "https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS", "", "", ""},
    {"ubuntu-24.04", "Ubuntu 24.04 LTS (noble) server cloud image, amd64, qcow2",
     "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img",
     "https://cloud-images.ubuntu.com/noble/current/SHA256SUMS",
     "https://cloud-images.ubuntu.com/noble/current/SHA256SUMS.gpg",
     "/usr/share/keyrings/ubuntu-cloudimage-keyring.gpg", "ubuntu-keyring"},
}};

std::string known_names() {
    std::string out;
    for (const auto& image : k_known_images) out += (out.empty() ? "" : ", ") + std::string(image.name);
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percent_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
            hex_value(text[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

/// The last path segment of a URL, without query or fragment, percent-decoded.
std::string url_file_name(std::string_view url) {
    const auto scheme = url.find("://");
    std::string_view rest = scheme == std::string_view::npos ? url : url.substr(scheme + 3);
    rest = rest.substr(0, rest.find_first_of("?#"));
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) return {};
    rest.remove_prefix(slash);
    return percent_decode(rest.substr(rest.rfind('/') + 1));
}

/// "debian-12-genericcloud-amd64.qcow2" -> "debian-12-genericcloud-amd64".
std::string name_from_file(std::string_view file) {
    const auto dot = file.rfind('.');
    return std::string(dot == std::string_view::npos || dot == 0 ? file : file.substr(0, dot));
}

Result<void> check_checksum_flags(const PullOptions& options, std::string_view what) {
    const int given = (options.checksum.empty() ? 0 : 1) + (options.checksum_url.empty() ? 0 : 1) +
                      (options.insecure_skip_checksum ? 1 : 0);
    if (given > 1)
        return fail_usage("--checksum, --checksum-url and --insecure-skip-checksum exclude each other",
                          "give one way to verify " + std::string(what));
    return {};
}

/// An http(s) URL: it needs a way to verify it, and takes no kernel.
Result<PullSource> url_source(std::string_view what, const PullOptions& options, bool has_kernel) {
    if (auto ok = check_checksum_flags(options, what); !ok) return std::unexpected(ok.error());
    if (options.checksum.empty() && options.checksum_url.empty() && !options.insecure_skip_checksum)
        return fail_usage("pulling a URL needs a checksum to verify it: " + std::string(what),
                          "pass --checksum sha256:HEX, or --checksum-url URL of the SHA256SUMS / "
                          "SHA512SUMS next to it, or (not recommended) --insecure-skip-checksum");
    if (has_kernel)
        return fail_usage("--kernel, --initrd and --kernel-cmdline go with a local disk file, not a URL",
                          "download the files, then pull the local disk with them");
    PullSource source;
    source.kind = SourceKind::Url;
    source.location = std::string(what);
    source.file_name = url_file_name(what);
    return source;
}

/// A known image: always verified against its distribution's sums file, under its own name.
Result<PullSource> known_source(std::string_view what, const KnownImage& known, const PullOptions& options,
                                bool has_kernel) {
    if (!options.checksum.empty() || !options.checksum_url.empty() || options.insecure_skip_checksum)
        return fail_usage(std::string(what) + " is always verified against " + std::string(known.sums_url),
                          "--checksum, --checksum-url and --insecure-skip-checksum are for URLs and files");
    if (!options.name.empty())
        return fail_usage("--name is for URLs and files; the known image " + std::string(what) +
                              " keeps its name",
                          "pull its URL with --checksum-url to cache it under another name");
    if (has_kernel)
        return fail_usage("--kernel, --initrd and --kernel-cmdline go with a local disk file",
                          std::string(what) + " boots with its own bootloader");
    PullSource source;
    source.kind = SourceKind::Known;
    source.name = std::string(known.name);
    source.location = std::string(known.url);
    source.file_name = url_file_name(known.url);
    source.sums_url = std::string(known.sums_url);
    source.signature_url = std::string(known.signature_url);
    source.keyring = std::string(known.keyring);
    source.keyring_package = std::string(known.keyring_package);
    return source;
}

/// A local file (a path with a '/', or an existing file), with or without a kernel to boot.
Result<PullSource> path_source(std::string_view what, const PullOptions& options) {
    std::error_code ec;
    const fs::path path(what);
    const bool looks_like_path = what.find('/') != std::string_view::npos || fs::exists(path, ec);
    if (!looks_like_path)
        return fail_kind(ErrorKind::NotFound,
                         "unknown image \"" + std::string(what) + "\": berth knows " + known_names(),
                         "pull one of those, a URL (with --checksum or --checksum-url), or a local "
                         "file (write ./" + std::string(what) + " for a file in this directory)");
    if (!fs::is_regular_file(path, ec))
        return fail_kind(ErrorKind::NotFound,
                         "cannot import " + std::string(what) + ": " +
                             (fs::exists(path, ec) ? "it is not a regular file" : "no such file"),
                         "check the path");
    if (auto ok = check_checksum_flags(options, what); !ok) return std::unexpected(ok.error());
    if (options.kernel_cmdline.empty() != options.kernel.empty() ||
        (!options.initrd.empty() && options.kernel.empty()))
        return fail_usage("direct kernel boot needs --kernel and --kernel-cmdline together (and "
                          "optionally --initrd)",
                          "give the kernel, its command line and the initrd, or none of them");
    PullSource source;
    source.kind = SourceKind::Path;
    source.location = fs::absolute(path, ec).lexically_normal().string();
    source.file_name = path.filename().string();
    return source;
}

/// --checksum-signature-url and --keyring: together, and with --checksum-url (what they sign).
Result<void> add_signature(PullSource& source, const PullOptions& options) {
    if (options.signature_url.empty() && options.keyring.empty()) return {};
    if (options.signature_url.empty() || options.keyring.empty() || options.checksum_url.empty())
        return fail_usage("--checksum-signature-url and --keyring go together, with --checksum-url",
                          "give the checksum file, its detached signature and the keyring that signed it");
    if (!is_secure_source_url(options.signature_url))
        return fail_usage("refusing --checksum-signature-url " + options.signature_url + ": it is plain http",
                          "use its https URL");
    std::error_code ec;
    source.signature_url = options.signature_url;
    source.keyring = fs::absolute(options.keyring, ec).lexically_normal();
    return {};
}

/// How a URL or file is verified: --checksum, --checksum-url, or not (--insecure-skip-checksum).
Result<void> add_verification(PullSource& source, const PullOptions& options) {
    if (!options.checksum.empty()) {
        auto checksum = parse_checksum(options.checksum);
        if (!checksum) return std::unexpected(checksum.error());
        source.checksum = *checksum;
    }
    if (!options.checksum_url.empty()) {
        if (!is_http_url(options.checksum_url))
            return fail_usage("--checksum-url must be an http or https URL: " + options.checksum_url);
        if (!is_secure_source_url(options.checksum_url))
            return fail_usage("refusing --checksum-url " + options.checksum_url +
                                  ": a checksum file over plain http proves nothing, since anyone on the "
                                  "network path can change the image and its checksum together",
                              "use the checksum file's https URL, or pin the image by digest with --checksum "
                              "sha256:HEX (taken from a source you trust)");
        source.sums_url = options.checksum_url;
    }
    source.verify = !options.insecure_skip_checksum;
    return add_signature(source, options);
}

/// The cache name of a URL or file: --name, else its file name without the extension; never a
/// known image's name unless the image stands in for it (replaces_known).
Result<void> name_source(PullSource& source, const PullOptions& options) {
    source.name = options.name.empty() ? name_from_file(source.file_name) : options.name;
    if (options.name.empty() && validate_image_name(source.name).has_value() == false)
        return fail_usage("cannot name the image after \"" + source.file_name + "\"",
                          "pass --name NAME (letters, digits, '.', '_' and '-')");
    if (auto ok = validate_image_name(source.name); !ok) return ok;
    if (options.replaces_known) return {};
    if (options.name.empty() && find_known_image(source.name) != nullptr)
        return fail_usage("\"" + source.name + "\" is the name of a known image",
                          "pass --name to cache this one under another name");
    if (!options.name.empty() && find_known_image(options.name) != nullptr)
        return fail_usage("\"" + options.name + "\" is the name of a known image",
                          "choose another --name");
    return {};
}

}  // namespace

std::span<const KnownImage> known_images() { return k_known_images; }

const KnownImage* find_known_image(std::string_view name) {
    for (const auto& image : k_known_images)
        if (image.name == name) return &image;
    return nullptr;
}

Result<void> validate_image_name(std::string_view name) {
    const std::string rule = "image names start with a letter or digit and use only letters, digits, '.', "
                             "'_' and '-' (at most " + std::to_string(k_max_image_name) + " characters)";
    if (name.empty()) return fail_usage("the image name is empty", rule);
    if (name.size() > k_max_image_name)
        return fail_usage("image name \"" + std::string(name) + "\" is too long", rule);
    if (std::isalnum(static_cast<unsigned char>(name.front())) == 0)
        return fail_usage("invalid image name \"" + std::string(name) + "\"", rule);
    for (char c : name) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '.' && c != '_' && c != '-')
            return fail_usage("invalid image name \"" + std::string(name) + "\"", rule);
    }
    return {};
}

Result<PullSource> resolve_pull_source(std::string_view what, const PullOptions& options) {
    if (what.empty())
        return fail_usage("nothing to pull", "give a known image (" + known_names() + "), a URL or a file");
    const bool has_kernel = !options.kernel.empty() || !options.initrd.empty() || !options.kernel_cmdline.empty();

    Result<PullSource> source;
    if (is_http_url(what)) {
        source = url_source(what, options, has_kernel);
    } else if (what.find("://") != std::string_view::npos) {
        return fail_usage("cannot pull \"" + std::string(what) + "\": only http and https URLs are supported",
                          "download it yourself and pull the local file");
    } else if (const KnownImage* known = find_known_image(what); known != nullptr) {
        return known_source(what, *known, options, has_kernel);
    } else {
        source = path_source(what, options);
    }
    if (!source) return source;
    if (auto ok = add_verification(*source, options); !ok) return std::unexpected(ok.error());
    if (auto ok = name_source(*source, options); !ok) return std::unexpected(ok.error());
    return source;
}

}  // namespace berth
