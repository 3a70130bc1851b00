#include <berth/image/image_cache.h>

#include <berth/core/text.h>
#include <berth/driver/qcow2.h>

#include <berth/image/progress.h>
#include <berth/process/runner.h>
#include <berth/store/atomic_file.h>
#include <berth/store/file_lock.h>
#include <berth/store/machine_record.h>
#include <berth/store/store.h>

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <thread>

namespace berth {
namespace fs = std::filesystem;

namespace {

constexpr const char* k_lock_file = ".lock";
constexpr const char* k_partial_file = "download.partial";
constexpr const char* k_kernel_file = "vmlinuz";
constexpr const char* k_initrd_file = "initrd.img";
constexpr std::size_t k_max_sums_bytes = 4 * 1024 * 1024;
constexpr std::size_t k_max_signature_bytes = 64 * 1024;
constexpr const char* k_verify_dir = ".verify";
constexpr auto k_lock_poll = std::chrono::milliseconds(250);

/// Creates the missing directories of `dir` with mode 0700 (existing ones are left as they are)
/// and sets `dir` itself to 0700.
Result<void> make_private_dirs(const fs::path& dir) {
    fs::path current;
    for (const auto& part : dir) {
        current /= part;
        if (::mkdir(current.c_str(), 0700) != 0 && errno != EEXIST)
            return fail("cannot create directory " + current.string() + ": " + errno_text(errno),
                        "check the permissions of its parent, or pass another --storage-path");
    }
    return ensure_private_dir(dir);
}

/// The disk's format from its first bytes. Compressed files are refused: a VM cannot boot them.
Result<std::string> detect_format(const fs::path& file, std::string_view what) {
    std::array<unsigned char, 8> head{};
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail("cannot read " + file.string() + ": " + errno_text(errno));
    const ssize_t n = ::read(fd, head.data(), head.size());
    ::close(fd);
    auto starts = [&](std::initializer_list<unsigned char> magic) {
        return n >= static_cast<ssize_t>(magic.size()) && std::equal(magic.begin(), magic.end(), head.begin());
    };
    if (starts({'Q', 'F', 'I', 0xfb})) return std::string("qcow2");
    const char* compression = nullptr;
    if (starts({0xfd, '7', 'z', 'X', 'Z', 0x00})) compression = "xz";
    else if (starts({0x1f, 0x8b})) compression = "gzip";
    else if (starts({0x28, 0xb5, 0x2f, 0xfd})) compression = "zstd";
    else if (starts({'B', 'Z', 'h'})) compression = "bzip2";
    if (compression != nullptr)
        return fail(std::string(what) + " is " + compression + "-compressed, not a disk image",
                    "decompress it, then pull the file (qcow2 or raw): berth image pull ./FILE --name NAME");
    return std::string("raw");
}

/// disk.qcow2; a raw disk keeps the extension it was published with (.img or .raw).
std::string disk_file_for(const std::string& format, const std::string& source_file) {
    if (format == "qcow2") return "disk.qcow2";
    const std::string ext = fs::path(source_file).extension().string();
    return ext == ".img" ? "disk.img" : "disk.raw";
}

Result<std::string> string_field(const nlohmann::json& j, const char* key, const fs::path& file, bool required) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        if (!required) return std::string();
        return fail("image record " + file.string() + " has no \"" + key + "\"",
                    "remove the image with `berth image rm` and pull it again");
    }
    if (!it->is_string())
        return fail("image record " + file.string() + ": \"" + key + "\" is not a string",
                    "remove the image with `berth image rm` and pull it again");
    return it->get<std::string>();
}

Result<CachedImage> read_record(const fs::path& dir) {
    const fs::path file = dir / k_image_record_file;
    auto text = read_file(file);
    if (!text) return std::unexpected(text.error());
    const auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return fail("image record " + file.string() + " is not valid JSON",
                    "remove the image with `berth image rm` and pull it again");
    auto image = CachedImage::from_json(j, file);
    if (!image) return image;
    image->dir = dir;
    return image;
}

/// Whether the disk file is there at the size image.json records ("" when it is).
std::string disk_problem(const CachedImage& image) {
    std::error_code ec;
    const auto size = fs::file_size(image.disk_path(), ec);
    if (ec) return "its disk " + image.disk_path().string() + " is missing";
    if (size != image.size)
        return "its disk " + image.disk_path().string() + " has " + std::to_string(size) + " bytes, image.json says " +
               std::to_string(image.size);
    return {};
}

/// The image's lock, waiting while another berth process pulls the same image.
Result<FileLock> lock_image(const fs::path& dir, const std::string& name, std::chrono::seconds wait) {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + wait;
    bool told = false;
    int other_failures = 0;
    for (;;) {
        if (auto ok = make_private_dirs(dir); !ok) return std::unexpected(ok.error());
        auto lock = FileLock::try_acquire(dir / k_lock_file, "image \"" + name + "\"");
        if (lock) return lock;
        if (lock.error().kind != ErrorKind::Conflict) {
            // `berth image rm` may have removed the directory between our mkdir and open.
            if (++other_failures >= 3) return lock;
            continue;
        }
        if (Clock::now() >= deadline) {
            Error error = lock.error();
            error.message += "; gave up waiting after " + std::to_string(wait.count()) + " s";
            return std::unexpected(std::move(error));
        }
        if (!told) {
            spdlog::info("Waiting: {}...", lock.error().message);
            told = true;
        }
        std::this_thread::sleep_for(k_lock_poll);
    }
}

Result<void> copy_private(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    if (ec)
        return fail("cannot copy " + from.string() + " to " + to.string() + ": " + ec.message(),
                    ec == std::errc::no_space_on_device ? "free some disk space and try again" : "");
    if (::chmod(to.c_str(), 0600) != 0) return fail("cannot set mode 0600 on " + to.string() + ": " + errno_text(errno));
    return {};
}

Result<void> rename_file(const fs::path& from, const fs::path& to) {
    if (::rename(from.c_str(), to.c_str()) != 0)
        return fail("cannot move " + from.string() + " to " + to.string() + ": " + errno_text(errno));
    return {};
}

/// What a pulled image must hash to, and where that came from (for image.json and messages).
struct Expectation {
    std::optional<Checksum> checksum;
    std::string source;
};

/// What gpgv's status lines (--status-fd) say about a signature that did not verify.
Error signature_error(const PullSource& source, const CommandResult& result) {
    const std::string& status = result.out;
    const std::string sums = source.sums_url;
    const std::string keyring = source.keyring.string();
    Error error{ErrorKind::Failed, "", "", {}};
    if (status.find("[GNUPG:] BADSIG") != std::string::npos) {
        error.message = "the signature " + source.signature_url + " does not match " + sums +
                        ": the checksum file was changed after it was signed";
        error.hint = "do not use this download; pull again later, and if it fails again tell the distribution";
    } else if (status.find("[GNUPG:] NO_PUBKEY") != std::string::npos || status.find("ERRSIG") != std::string::npos) {
        error.message = sums + " is signed by a key that is not in " + keyring + ", so berth does not trust it";
        error.hint = source.keyring_package.empty() ? "check that --keyring holds the key of whoever signs the file"
                                                    : "update the " + source.keyring_package + " package";
    } else {
        error.message = "the signature " + source.signature_url + " of " + sums + " did not verify";
        error.hint = "check that it is a detached OpenPGP signature of that file";
    }
    error.with("gpgv", std::string(trim(result.err)));
    return error;
}

/// Checks `sums` against the source's detached signature with gpgv, trusting only the keys in
/// the source's keyring (in an empty GNUPGHOME: gpgv's default keyring is not read).
Result<void> verify_sums_signature(const PullSource& source, const std::string& sums, const fs::path& dir,
                                   const PullOptions& options) {
    std::error_code ec;
    if (!fs::is_regular_file(source.keyring, ec))
        return fail("cannot check the signature of " + source.sums_url + ": the keyring " + source.keyring.string() +
                        " is not there",
                    (source.keyring_package.empty() ? std::string("check --keyring")
                                                    : "install it (apt-get install " + source.keyring_package + ")") +
                        ", or pull the image's URL pinned by digest: --checksum sha256:HEX from a source you trust");
    auto signature = http_get_text(source.signature_url, k_max_signature_bytes, options.http, true);
    if (!signature)
        return fail("cannot fetch the signature of " + source.sums_url + ": " + signature.error().message,
                    "berth does not use a checksum file whose signature it cannot check; " + signature.error().hint);
    const fs::path work = dir / k_verify_dir;
    fs::remove_all(work, ec);
    if (auto ok = make_private_dirs(work / "home"); !ok) return ok;
    struct Cleanup {
        fs::path path;
        ~Cleanup() {
            std::error_code e;
            fs::remove_all(path, e);
        }
    } cleanup{work};
    if (auto ok = write_file_atomic(work / "sums", sums, 0600); !ok) return ok;
    if (auto ok = write_file_atomic(work / "sums.sig", *signature, 0600); !ok) return ok;
    Command gpgv;
    gpgv.argv = {"gpgv", "--homedir", (work / "home").string(), "--status-fd", "1", "--keyring",
                 source.keyring.string(), (work / "sums.sig").string(), (work / "sums").string()};
    gpgv.env_unset = {"GNUPGHOME"};
    gpgv.timeout = std::chrono::seconds(60);
    ProcessRunner runner;
    auto r = runner.run(gpgv);
    if (!r)
        return fail("cannot run gpgv to check the signature of " + source.sums_url + ": " + r.error().message,
                    "install gpgv (apt-get install gpgv)");
    if (r->exit_status != 0 || r->out.find("[GNUPG:] VALIDSIG ") == std::string::npos)
        return std::unexpected(signature_error(source, *r));
    spdlog::info("Verified the signature of {} against {}", source.sums_url, source.keyring.string());
    return {};
}

/// The checksum given (--checksum) or looked up in the sums file (known image, --checksum-url),
/// whose signature is checked first where it has one.
Result<Expectation> expected_checksum(const PullSource& source, const fs::path& dir, const PullOptions& options) {
    Expectation expected{source.checksum, source.checksum ? "--checksum" : ""};
    if (!source.sums_url.empty()) {
        spdlog::debug("fetching {}", source.sums_url);
        auto sums = http_get_text(source.sums_url, k_max_sums_bytes, options.http, true);
        if (!sums) return std::unexpected(sums.error());
        if (!source.signature_url.empty())
            if (auto ok = verify_sums_signature(source, *sums, dir, options); !ok) return std::unexpected(ok.error());
        auto found = find_in_sums(*sums, source.file_name, source.sums_url);
        if (!found) return std::unexpected(found.error());
        expected.checksum = *found;
        expected.source = source.sums_url;
    }
    if (!source.verify) expected.source = "none (--insecure-skip-checksum)";
    else if (!expected.checksum) expected.source = "none (imported from a local file)";
    return expected;
}

/// Whether the cached image is the one asked for: same source, same checksum (or, for a local
/// file, same content), its disk intact, and no --force.
Result<bool> is_up_to_date(const CachedImage& existing, const PullSource& source, const Expectation& expected,
                           const PullOptions& options) {
    if (options.force || existing.source != source.location || !disk_problem(existing).empty()) return false;
    if (expected.checksum) return existing.checksum == expected.checksum->text();
    if (source.kind != SourceKind::Path || !options.kernel.empty()) return false;
    auto digests = hash_file(source.location, false);
    if (!digests) return std::unexpected(digests.error());
    return digests->sha256 == existing.sha256;
}

/// Copies (a local file) or downloads (a URL, resuming) the disk into download.partial.
Result<void> fetch_partial(const PullSource& source, const fs::path& partial, const PullOptions& options) {
    if (source.kind == SourceKind::Path) {
        spdlog::info("Importing {} from {}...", source.name, source.location);
        remove_partial(partial);
        if (auto ok = copy_private(source.location, partial); !ok) {
            remove_partial(partial);
            return ok;
        }
        return {};
    }
    if (!source.verify)
        spdlog::warn("{} will not be verified (--insecure-skip-checksum): whatever the server or a proxy "
                     "sends is used",
                     source.location);
    spdlog::info("Pulling {} from {}...", source.name, source.location);
    auto downloaded = download_file(source.location, partial, options.http);
    if (!downloaded) return std::unexpected(downloaded.error());
    if (downloaded->restarted) spdlog::info("The server sent the whole file again: the earlier part was dropped");
    return {};
}

/// The partial file's digests once it is checked against the expected checksum, before anything
/// moves into place; an empty or mismatching file is deleted.
Result<FileDigests> verify_partial(const fs::path& partial, const PullSource& source, const Expectation& expected) {
    const bool local = source.kind == SourceKind::Path;
    const bool want_sha512 = expected.checksum && expected.checksum->algorithm == DigestAlgorithm::Sha512;
    auto digests = hash_file(partial, want_sha512);
    if (!digests) return digests;
    if (digests->size == 0) {
        remove_partial(partial);
        return fail(source.location + " is empty (0 bytes), not a disk image", "check the URL or path");
    }
    if (expected.checksum) {
        const Checksum& want = *expected.checksum;
        const std::string& actual = digest_of(*digests, want.algorithm);
        if (actual != want.hex) {
            remove_partial(partial);
            const std::string algo(to_string(want.algorithm));
            Error error{ErrorKind::Failed,
                        "checksum mismatch for " + source.location + ": expected " + want.text() + " (from " +
                            expected.source + "), got " + algo + ":" + actual + "; the " +
                            (local ? "copy" : "download") + " was deleted",
                        local ? "check that the file and the checksum belong together"
                              : "the file changed on the server or was damaged on the way; pull again, and if "
                                "it fails again check the checksum source",
                        {}};
            error.with("expected", want.text()).with("actual", algo + ":" + actual);
            return std::unexpected(std::move(error));
        }
        spdlog::info("Verified its {} checksum against {}", to_string(want.algorithm), expected.source);
    } else if (!source.verify) {
        spdlog::warn("{} was not verified; its sha256 is {}", source.name, digests->sha256);
    }
    return digests;
}

/// The record of the image being pulled (its kernel and initrd are filled in when staged).
CachedImage describe_image(const PullSource& source, const PullOptions& options, const Expectation& expected,
                           const FileDigests& digests, const std::string& format) {
    CachedImage image;
    image.name = source.name;
    image.format = format;
    image.disk_file = disk_file_for(format, source.file_name);
    image.source = options.source_label.empty() ? source.location : options.source_label;
    image.size = digests.size;
    image.sha256 = digests.sha256;
    image.checksum = expected.checksum ? expected.checksum->text() : "";
    image.checksum_source = expected.source;
    image.pulled_at = now_rfc3339();
    image.kernel_cmdline = options.kernel_cmdline;
    image.baked_from = options.baked_from;
    image.packages = options.packages;
    return image;
}

struct StagedFile {
    fs::path temp;
    fs::path final_path;
};

/// Copies the kernel and initrd beside the disk under temp names, to be renamed at commit.
Result<void> stage_boot_files(const fs::path& dir, const PullOptions& options, CachedImage& image,
                              std::vector<StagedFile>& staged) {
    auto stage = [&](const fs::path& from, const char* file, std::string& field) -> Result<void> {
        if (from.empty()) return {};
        const fs::path temp = dir / (std::string(".") + file + ".new");
        if (auto ok = copy_private(from, temp); !ok) return ok;
        staged.push_back({temp, dir / file});
        field = file;
        return {};
    };
    if (auto ok = stage(options.kernel, k_kernel_file, image.kernel); !ok) return ok;
    return stage(options.initrd, k_initrd_file, image.initrd);
}

/// Moves the verified files into place. image.json goes first and comes back last: in between
/// (or after a crash) the image is simply absent, never a record describing another disk.
Result<void> commit_image(const fs::path& dir, const fs::path& partial, const CachedImage& image,
                          const std::vector<StagedFile>& staged) {
    std::error_code ec;
    const fs::path record = dir / k_image_record_file;
    if (fs::exists(record, ec)) {
        if (::unlink(record.c_str()) != 0)
            return fail("cannot replace " + record.string() + ": " + errno_text(errno));
        if (auto ok = fsync_dir(dir); !ok) return ok;
    }
    if (auto ok = rename_file(partial, image.disk_path()); !ok) return ok;
    remove_partial(partial);
    for (const auto& file : staged)
        if (auto ok = rename_file(file.temp, file.final_path); !ok) return ok;
    return write_file_atomic(record, image.to_json().dump(4) + "\n", 0600);
}

/// Deletes what the replaced image had and this one has not.
void remove_replaced_files(const fs::path& dir, const CachedImage& existing, const CachedImage& image) {
    std::error_code ec;
    for (const std::string& old : {existing.disk_file, existing.kernel, existing.initrd}) {
        if (old.empty() || old == image.disk_file || old == image.kernel || old == image.initrd) continue;
        fs::remove(dir / old, ec);
    }
}

}  // namespace

nlohmann::json CachedImage::to_json() const {
    nlohmann::json j = {
        {"name", name},
        {"source", source},
        {"disk", disk_file},
        {"format", format},
        {"size", size},
        {"sha256", sha256},
        {"checksum", checksum},
        {"checksum_source", checksum_source},
        {"pulled_at", pulled_at},
    };
    if (!kernel.empty()) {
        j["kernel"] = kernel;
        j["initrd"] = initrd;
        j["kernel_cmdline"] = kernel_cmdline;
    }
    if (!baked_from.empty()) {
        j["baked_from"] = baked_from;
        j["packages"] = packages;
    }
    return j;
}

Result<CachedImage> CachedImage::from_json(const nlohmann::json& j, const fs::path& file) {
    CachedImage image;
    struct Field {
        const char* key;
        std::string* out;
        bool required;
    };
    const Field fields[] = {
        {"name", &image.name, true},         {"source", &image.source, true},
        {"disk", &image.disk_file, true},    {"format", &image.format, true},
        {"sha256", &image.sha256, true},     {"checksum", &image.checksum, false},
        {"checksum_source", &image.checksum_source, false},
        {"pulled_at", &image.pulled_at, false}, {"kernel", &image.kernel, false},
        {"initrd", &image.initrd, false},    {"kernel_cmdline", &image.kernel_cmdline, false},
        {"baked_from", &image.baked_from, false},
    };
    for (const auto& field : fields) {
        auto value = string_field(j, field.key, file, field.required);
        if (!value) return std::unexpected(value.error());
        *field.out = std::move(*value);
    }
    const auto size = j.find("size");
    if (size == j.end() || !size->is_number_unsigned())
        return fail("image record " + file.string() + " has no valid \"size\"",
                    "remove the image with `berth image rm` and pull it again");
    image.size = size->get<std::uint64_t>();
    if (const auto packages = j.find("packages"); packages != j.end()) {
        if (!packages->is_array())
            return fail("image record " + file.string() + " has a \"packages\" that is not a list",
                        "remove the image with `berth image rm` and bake it again");
        for (const auto& p : *packages) {
            if (!p.is_string())
                return fail("image record " + file.string() + " lists a package that is not a string",
                            "remove the image with `berth image rm` and bake it again");
            image.packages.push_back(p.get<std::string>());
        }
    }
    // The record names files in its own directory, never elsewhere.
    for (const std::string* name : {&image.disk_file, &image.kernel, &image.initrd}) {
        if (name->find('/') != std::string::npos || *name == "." || *name == "..")
            return fail("image record " + file.string() + " names a file outside its directory: " + *name,
                        "remove the image with `berth image rm` and pull it again");
    }
    return image;
}

ImageCache::ImageCache(fs::path dir) : m_dir(std::move(dir)) {}

fs::path ImageCache::images_dir(const fs::path& store_root) { return store_root / "cache" / "images"; }

fs::path ImageCache::image_dir(std::string_view name) const { return m_dir / std::string(name); }

Result<std::vector<CachedImage>> ImageCache::list() const {
    std::vector<CachedImage> images;
    std::error_code ec;
    if (!fs::exists(m_dir, ec)) return images;
    fs::directory_iterator it(m_dir, ec);
    if (ec) return fail("cannot list " + m_dir.string() + ": " + ec.message());
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
        const auto& entry = *it;
        const std::string name = entry.path().filename().string();
        std::error_code type_ec;
        if (name.starts_with(".") || !entry.is_directory(type_ec)) continue;
        auto image = read_record(entry.path());
        if (!image) {
            if (image.error().kind != ErrorKind::NotFound)
                spdlog::warn("skipping image {}: {}", name, image.error().line());
            continue;
        }
        images.push_back(std::move(*image));
    }
    if (ec) return fail("cannot list " + m_dir.string() + ": " + ec.message());
    std::sort(images.begin(), images.end(),
              [](const CachedImage& a, const CachedImage& b) { return natural_less(a.name, b.name); });
    return images;
}

Result<CachedImage> ImageCache::find(std::string_view name) const {
    if (auto ok = validate_image_name(name); !ok) return std::unexpected(ok.error());
    const fs::path dir = image_dir(name);
    auto image = read_record(dir);
    if (!image) {
        if (image.error().kind != ErrorKind::NotFound) return image;
        std::error_code ec;
        if (fs::is_directory(dir, ec))
            return fail_kind(ErrorKind::NotFound,
                             "image \"" + std::string(name) + "\" is not complete: a pull of it did not finish",
                             "pull it again (the download resumes), or remove it with `berth image rm " +
                                 std::string(name) + "`");
        return fail_kind(ErrorKind::NotFound,
                         "no image named \"" + std::string(name) + "\" in " + m_dir.string(),
                         "`berth image ls` lists cached images; `berth image pull` fetches one");
    }
    if (const std::string problem = disk_problem(*image); !problem.empty())
        return fail("image \"" + std::string(name) + "\" is damaged: " + problem,
                    "pull it again with `berth image pull --force`, or remove it with `berth image rm " +
                        std::string(name) + "`");
    return image;
}

Result<CachedImage> ImageCache::find_or_pull(std::string_view what, const PullOptions& options) {
    if (!is_http_url(what) && validate_image_name(what).has_value()) {
        auto found = find(what);
        if (found || found.error().kind != ErrorKind::NotFound) return found;
    }
    return pull(what, options);
}

Result<CachedImage> ImageCache::pull(std::string_view what, const PullOptions& options) {
    auto resolved = resolve_pull_source(what, options);
    if (!resolved) return std::unexpected(resolved.error());
    const PullSource& source = *resolved;
    const std::string& name = source.name;
    const fs::path dir = image_dir(name);

    auto lock = lock_image(dir, name, options.lock_wait);
    if (!lock) return std::unexpected(lock.error());

    auto expected = expected_checksum(source, dir, options);
    if (!expected) return std::unexpected(expected.error());

    auto existing = read_record(dir);
    if (existing) {
        auto same = is_up_to_date(*existing, source, *expected, options);
        if (!same) return std::unexpected(same.error());
        if (*same) {
            spdlog::info("Image {} is up to date ({})", name, existing->disk_path().string());
            return std::move(*existing);
        }
    }

    const fs::path partial = dir / k_partial_file;
    if (auto ok = fetch_partial(source, partial, options); !ok) return std::unexpected(ok.error());
    auto digests = verify_partial(partial, source, *expected);
    if (!digests) return std::unexpected(digests.error());
    auto format = detect_format(partial, source.location);
    if (!format) {
        remove_partial(partial);
        return std::unexpected(format.error());
    }
    if (auto ok = check_disk_standalone(partial); !ok) {
        remove_partial(partial);
        return std::unexpected(Error(ok.error()).with("source", source.location));
    }

    CachedImage image = describe_image(source, options, *expected, *digests, *format);
    image.dir = dir;
    std::vector<StagedFile> staged;
    if (auto ok = stage_boot_files(dir, options, image, staged); !ok) return std::unexpected(ok.error());
    if (auto ok = commit_image(dir, partial, image, staged); !ok) return std::unexpected(ok.error());
    if (existing) remove_replaced_files(dir, *existing, image);
    spdlog::info("Cached {}: {}, sha256 {}", name, human_bytes(image.size), image.sha256);
    return image;
}

Result<void> ImageCache::remove(std::string_view name) {
    if (auto ok = validate_image_name(name); !ok) return ok;
    const fs::path dir = image_dir(name);
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return fail_kind(ErrorKind::NotFound, "no image named \"" + std::string(name) + "\" in " + m_dir.string(),
                         "`berth image ls` lists cached images");
    auto lock = FileLock::try_acquire(dir / k_lock_file, "image \"" + std::string(name) + "\"");
    if (!lock) return std::unexpected(lock.error());
    // The record first, so that no reader sees an image whose files are going.
    const fs::path record = dir / k_image_record_file;
    if (::unlink(record.c_str()) != 0 && errno != ENOENT)
        return fail("cannot remove " + record.string() + ": " + errno_text(errno), "check the directory's permissions");
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const auto& entry = *it;
        if (entry.path().filename() == k_lock_file) continue;
        fs::remove_all(entry.path(), ec);
        if (ec)
            return fail("cannot remove " + entry.path().string() + ": " + ec.message(),
                        "check the directory's permissions");
    }
    if (ec) return fail("cannot list " + dir.string() + ": " + ec.message());
    lock->release_and_remove();
    // A pull waiting for the lock may have made a new lock file already: then the directory
    // stays for it.
    fs::remove(dir, ec);
    return {};
}

Result<ImageFiles> to_image_files(const CachedImage& image) {
    if (image.format != "qcow2")
        return fail("image \"" + image.name + "\" is a " + image.format + " disk; berth's drivers boot qcow2 images",
                    "convert it: qemu-img convert -f raw -O qcow2 " + image.disk_path().string() + " " +
                        image.name + ".qcow2 && berth image pull ./" + image.name + ".qcow2 --name " +
                        image.name + "-qcow2");
    // A disk replaced in the cache after its pull is checked again before a driver opens it.
    if (auto ok = check_disk_standalone(image.disk_path()); !ok) return std::unexpected(ok.error());
    ImageFiles files;
    files.name = image.name;
    files.disk = image.disk_path();
    files.sha256 = image.sha256;
    if (!image.kernel.empty()) files.kernel = image.dir / image.kernel;
    if (!image.initrd.empty()) files.initrd = image.dir / image.initrd;
    files.kernel_cmdline = image.kernel_cmdline;
    return files;
}

}  // namespace berth
