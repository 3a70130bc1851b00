#include <berth/transport/libssh_session.h>

#include <berth/core/log.h>
#include <berth/transport/known_hosts.h>

#include <libssh/libssh.h>
#include <libssh/sftp.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

namespace berth {
namespace {

using Clock = std::chrono::steady_clock;

struct KeyFree {
    void operator()(ssh_key key) const { ssh_key_free(key); }
};
using KeyPtr = std::unique_ptr<std::remove_pointer_t<ssh_key>, KeyFree>;

/// The server's key as a known_hosts entry.
Result<PinnedKey> offered_key(ssh_key key) {
    char* b64 = nullptr;
    if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) return fail("cannot encode the host key");
    PinnedKey out{ssh_key_type_to_char(ssh_key_type(key)), b64};
    ssh_string_free_char(b64);
    return out;
}

bool matches(ssh_key server, const PinnedKey& pin) {
    ssh_key raw = nullptr;
    if (ssh_pki_import_pubkey_base64(pin.base64.c_str(), ssh_key_type_from_name(pin.type.c_str()), &raw) != SSH_OK)
        return false;
    KeyPtr owned(raw);
    return ssh_key_cmp(server, raw, SSH_KEY_CMP_PUBLIC) == 0;
}

std::string fingerprints(const std::vector<PinnedKey>& pins) {
    std::string out;
    for (const auto& p : pins) out += (out.empty() ? "" : ", ") + fingerprint_of(p);
    return out;
}

/// Host key algorithms with the types pinned for the machine first, so a host with several keys
/// offers the one berth knows (what libssh's known_hosts lookup by address did before).
std::string host_key_algorithms(const SshTarget& target) {
    std::vector<std::string> order;
    auto add = [&](const std::string& algo) {
        if (std::find(order.begin(), order.end(), algo) == order.end()) order.push_back(algo);
    };
    for (const auto& pin : pinned_keys(target.known_hosts, host_key_alias(target.machine))) {
        if (pin.type == "ssh-rsa") {
            add("rsa-sha2-512");
            add("rsa-sha2-256");
        }
        add(pin.type);
    }
    for (const char* algo : {"ssh-ed25519", "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp256",
                             "rsa-sha2-512", "rsa-sha2-256"})
        add(algo);
    std::string out;
    for (const auto& a : order) out += (out.empty() ? "" : ",") + a;
    return out;
}

struct SessionFree {
    void operator()(ssh_session s) const {
        ssh_disconnect(s);
        ssh_free(s);
    }
};
using SessionPtr = std::unique_ptr<std::remove_pointer_t<ssh_session>, SessionFree>;

/// Host, port, user and the pinned known_hosts file; no ssh_config, no libssh logging.
void set_session_options(ssh_session s, const SshTarget& target) {
    long connect_timeout = 10;
    int port = target.port;
    bool no_config = false;
    int verbosity = SSH_LOG_NOLOG;
    ssh_options_set(s, SSH_OPTIONS_HOST, target.host.c_str());
    ssh_options_set(s, SSH_OPTIONS_PORT, &port);
    ssh_options_set(s, SSH_OPTIONS_USER, target.user.c_str());
    ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &connect_timeout);
    // berth checks the host key itself (check_host_key), by the machine's alias.
    ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
    ssh_options_set(s, SSH_OPTIONS_HOSTKEYS, host_key_algorithms(target).c_str());
    ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
    ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no_config);
    ssh_options_set(s, SSH_OPTIONS_LOG_VERBOSITY, &verbosity);
}

/// A connected session (not yet verified nor authenticated), retrying with back-off (0.5 s, then
/// every second: a refused connection costs nothing, and a guest's sshd that comes up is reached
/// within a second) until options.connect_timeout.
Result<SessionPtr> connect_with_retries(const SshTarget& target, const SshOptions& options,
                                        const std::string& where, const std::string& prefix) {
    const auto deadline = Clock::now() + options.connect_timeout;
    auto backoff = std::chrono::milliseconds(500);
    SessionPtr session;
    for (int attempts = 1;; ++attempts) {
        session.reset(ssh_new());
        if (!session) return fail("cannot allocate an SSH session");
        ssh_session s = session.get();
        set_session_options(s, target);
        if (ssh_connect(s) == SSH_OK) return session;
        const std::string last_error = ssh_get_error(s);
        spdlog::debug("{}ssh connect to {} failed (attempt {}): {}", prefix, where, attempts, last_error);
        if (Clock::now() + backoff >= deadline) {
            auto secs = std::chrono::duration_cast<std::chrono::seconds>(options.connect_timeout).count();
            return fail("cannot reach " + where + " over SSH within " + std::to_string(secs) + " s: " + last_error,
                        "check that the host is up and sshd listens there (--ssh-timeout waits longer)");
        }
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
    }
}

/// What to tell a user whose host offers a key berth does not have pinned.
std::string replace_hint(const SshTarget& target) {
    return "if " + target.machine + " was rebuilt on purpose, read its key's fingerprint on its console "
           "(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and pass it: --replace-host-key SHA256:...";
}

/// A key not pinned for the machine, under `options.host_key`: pinned (first use, or the
/// fingerprint the user gave), else an Error that says why berth refuses the host.
Result<void> unpinned_key(const SshTarget& target, const SshOptions& options, const PinnedKey& offered,
                          const std::vector<PinnedKey>& pins, const std::string& alias, const std::string& prefix) {
    const std::string new_fp = fingerprint_of(offered);
    const std::string at = " (" + known_hosts_address(target.host, target.port) + ")";
    if (options.host_key == HostKeyPolicy::ReplacePinned) {
        if (new_fp != options.expected_fingerprint)
            return fail("the SSH host key of " + target.machine + at + " is " + new_fp + ", not " +
                            (options.expected_fingerprint.empty() ? "a fingerprint you gave" : options.expected_fingerprint) +
                            " as --replace-host-key expects; berth refuses to connect",
                        "check the fingerprint on the host's console; a mismatch may be a man-in-the-middle");
        spdlog::warn("{}: pinning the host key {} (its fingerprint matches --replace-host-key){}", target.machine,
                     new_fp, pins.empty() ? "" : ", replacing " + fingerprints(pins));
        return pin_host_key(target.known_hosts, alias, offered, true);
    }
    if (!pins.empty())
        return fail("the SSH host key of " + target.machine + at + " has CHANGED: pinned " + fingerprints(pins) +
                        ", now offered " + new_fp +
                        "; this is what a man-in-the-middle looks like, so berth refuses to connect",
                    replace_hint(target));
    if (options.host_key == HostKeyPolicy::RequirePinned)
        return fail("no SSH host key is pinned for " + target.machine + at + ", which offers " + new_fp,
                    replace_hint(target));
    if (auto ok = pin_host_key(target.known_hosts, alias, offered, false); !ok) return ok;
    spdlog::info("{}Trusting the SSH host key {} of {} on first use (pinned as {})", prefix, new_fp, target.machine,
                 alias);
    return {};
}

/// The host key, checked against the keys pinned for the machine's alias (its address does not
/// matter): its fingerprint, or an Error that says why berth refuses the host.
Result<std::string> check_host_key(ssh_session s, const SshTarget& target, const SshOptions& options,
                                   const std::string& where, const std::string& prefix) {
    ssh_key server_key = nullptr;
    if (ssh_get_server_publickey(s, &server_key) != SSH_OK)
        return fail("cannot read the host key of " + where + ": " + ssh_get_error(s));
    KeyPtr server(server_key);
    auto offered = offered_key(server.get());
    if (!offered) return std::unexpected(offered.error());
    const std::string new_fp = fingerprint_of(*offered);
    const std::string alias = host_key_alias(target.machine);
    const auto pins = pinned_keys(target.known_hosts, alias);
    for (const auto& pin : pins) {
        if (!matches(server.get(), pin)) continue;
        spdlog::debug("{}host key {} of {} matches the key pinned for {}", prefix, new_fp, where, alias);
        return new_fp;
    }
    if (auto ok = unpinned_key(target, options, *offered, pins, alias, prefix); !ok) return std::unexpected(ok.error());
    return new_fp;
}

/// Logs in with the target's private key (unencrypted).
Result<void> authenticate(ssh_session s, const SshTarget& target, const std::string& where) {
    ssh_key raw = nullptr;
    if (ssh_pki_import_privkey_file(target.key.c_str(), nullptr, nullptr, nullptr, &raw) != SSH_OK)
        return fail("cannot read the SSH key " + target.key.string(), "it must be an unencrypted private key");
    KeyPtr key(raw);
    if (ssh_userauth_publickey(s, nullptr, key.get()) != SSH_AUTH_SUCCESS)
        return fail("SSH login to " + where + " with key " + target.key.string() + " was refused",
                    "check that the key's public half is in ~" + target.user + "/.ssh/authorized_keys there");
    return {};
}

/// One output stream of a remote command, kept up to k_max_remote_output_bytes: the rest is still
/// read (the command must not block on a full channel) but dropped, and counted.
struct CappedOutput {
    std::string& text;
    std::size_t dropped = 0;

    void add(const char* data, int n) {
        const auto bytes = static_cast<std::size_t>(n);
        const std::size_t room = k_max_remote_output_bytes - std::min(text.size(), k_max_remote_output_bytes);
        text.append(data, std::min(bytes, room));
        dropped += bytes - std::min(bytes, room);
    }
};

/// Says in the result's stderr and in the log what the cap cut off.
void report_cut(RemoteResult& result, const CappedOutput& out, const CappedOutput& err, const std::string& prefix) {
    for (const auto* stream : {&out, &err}) {
        if (stream->dropped == 0) continue;
        const std::string note = std::string("berth: the command's ") + (stream == &out ? "stdout" : "stderr") +
                                 " was cut at " + std::to_string(k_max_remote_output_bytes / (1024 * 1024)) +
                                 " MiB: the last " + std::to_string(stream->dropped) + " bytes were dropped";
        spdlog::warn("{}{}", prefix, note);
        if (!result.err.empty() && result.err.back() != '\n') result.err += '\n';
        result.err += note + "\n";
    }
}

/// TCP keepalive notices a dead peer even while no command runs.
void enable_tcp_keepalive(ssh_session s) {
    int fd = ssh_get_fd(s);
    int on = 1, idle = 30, interval = 10, count = 3;
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

/// A file mode as the four octal digits install(1) takes.
std::string octal_mode(unsigned mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", mode & 07777);
    return text;
}

/// An error of upload_all, when `written` of its files are in place.
Error upload_error(std::string message, std::size_t written) {
    return Error{ErrorKind::Failed, std::move(message), "", {{k_files_written, std::to_string(written)}}};
}

/// What the install script writes to stderr before it stops at file `i`.
constexpr std::string_view k_upload_failed = "berth-upload-failed: ";

/// The one command of upload_all: every staged file installed beside its path and renamed over
/// it, in order, stopping at the first that fails with k_upload_failed and its index on stderr;
/// the staging directory is removed whatever happens.
std::string install_script(const std::string& dir, const std::vector<std::string>& staged,
                           const std::vector<FileUpload>& files) {
    std::string script = "set -e\nberth_dir=" + shell_quote(dir) + "\ntrap 'rm -rf -- \"$berth_dir\"' EXIT\n";
    for (std::size_t i = 0; i < files.size(); ++i) {
        const FileUpload& f = files[i];
        const auto colon = f.owner.find(':');
        const std::string user = f.owner.substr(0, colon);
        const std::string group = colon == std::string::npos ? user : f.owner.substr(colon + 1);
        const std::string tmp = shell_quote(f.path + ".berth-new");
        script += "install -m " + octal_mode(f.mode) + " -o " + shell_quote(user) + " -g " + shell_quote(group) +
                  " -- " + shell_quote(staged[i]) + " " + tmp + " && mv -f -- " + tmp + " " + shell_quote(f.path) +
                  " || { rm -f -- " + tmp + "; echo '" + std::string(k_upload_failed) + std::to_string(i) +
                  "' >&2; exit 1; }\n";
    }
    return script;
}

/// The index of the file the install script stopped at, from its stderr.
std::optional<std::size_t> failed_index(const std::string& err, std::size_t files) {
    const auto at = err.rfind(k_upload_failed);
    if (at == std::string::npos) return std::nullopt;
    std::size_t i = 0;
    const char* begin = err.data() + at + k_upload_failed.size();
    auto [end, ec] = std::from_chars(begin, err.data() + err.size(), i);
    if (ec != std::errc() || end == begin || i >= files) return std::nullopt;
    return i;
}

/// The install script's stderr without its own marker line: what install or mv said.
std::string without_marker(const std::string& err) {
    std::string out;
    std::istringstream in(err);
    for (std::string line; std::getline(in, line);)
        if (!line.starts_with(k_upload_failed)) out += line + "\n";
    return out;
}

}  // namespace

struct LibsshSession::Impl {
    SessionPtr session;  // freed after the sftp session, which the destructor body frees
    sftp_session sftp = nullptr;  // started on the first upload
    bool root = true;
    ~Impl() {
        if (sftp != nullptr) sftp_free(sftp);
    }
};

LibsshSession::LibsshSession(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

LibsshSession::~LibsshSession() = default;

Result<std::unique_ptr<LibsshSession>> LibsshSession::connect(const SshTarget& target, const SshOptions& options) {
    const std::string where = target.user + "@" + target.host + ":" + std::to_string(target.port);
    const std::string prefix = log_prefix(target.machine);
    if (auto moved = migrate_known_hosts(target.known_hosts, known_hosts_address(target.host, target.port),
                                         host_key_alias(target.machine));
        moved && *moved)
        spdlog::debug("{}known_hosts pinned by address: now pinned as {}", prefix, host_key_alias(target.machine));
    auto connected = connect_with_retries(target, options, where, prefix);
    if (!connected) return std::unexpected(connected.error());
    auto impl = std::make_unique<Impl>();
    impl->session = std::move(*connected);
    ssh_session s = impl->session.get();

    auto new_fp = check_host_key(s, target, options, where, prefix);
    if (!new_fp) return std::unexpected(new_fp.error());
    if (auto ok = authenticate(s, target, where); !ok) return std::unexpected(ok.error());
    enable_tcp_keepalive(s);

    impl->root = target.user == "root";
    spdlog::debug("{}connected to {} (host key {})", prefix, where, *new_fp);
    std::unique_ptr<LibsshSession> session(new LibsshSession(std::move(impl)));
    session->m_target = target;
    session->m_options = options;
    session->m_fingerprint = *new_fp;
    return session;
}

Result<RemoteResult> LibsshSession::exec(const std::string& command, std::string_view input,
                                         std::chrono::seconds timeout,
                                         const std::function<void(std::string_view)>& on_out) {
    ssh_session s = m_impl->session.get();
    const std::string prefix = log_prefix(m_target.machine);
    auto lost = [&](const std::string& when) {
        return fail("the SSH connection to " + m_target.machine + " failed " + when + ": " + ssh_get_error(s),
                    "check the host and the network, then run the command again");
    };
    ssh_channel ch = ssh_channel_new(s);
    if (ch == nullptr) return lost("opening a channel");
    std::unique_ptr<std::remove_pointer_t<ssh_channel>, void (*)(ssh_channel)> channel(ch, [](ssh_channel c) {
        ssh_channel_close(c);
        ssh_channel_free(c);
    });
    if (ssh_channel_open_session(ch) != SSH_OK) return lost("opening a session channel");
    if (ssh_channel_request_exec(ch, command.c_str()) != SSH_OK) return lost("starting a command");
    ++m_channels;
    size_t off = 0;
    while (off < input.size()) {
        int n = ssh_channel_write(ch, input.data() + off, static_cast<uint32_t>(std::min<size_t>(input.size() - off, 32768)));
        if (n < 0) return lost("sending a script");
        off += static_cast<size_t>(n);
    }
    ssh_channel_send_eof(ch);

    if (timeout.count() == 0) timeout = m_options.command_timeout;
    const auto deadline = Clock::now() + timeout;
    auto next_keepalive = Clock::now() + m_options.keepalive;
    RemoteResult result;
    CappedOutput out{result.out}, err{result.err};
    char buf[16384];
    while (true) {
        int n = ssh_channel_read_timeout(ch, buf, sizeof buf, 0, 200);
        if (n == SSH_ERROR) return lost("while a command ran");
        if (n > 0) {
            out.add(buf, n);
            if (on_out) on_out(std::string_view(buf, static_cast<size_t>(n)));
        }
        int e;
        while ((e = ssh_channel_read_nonblocking(ch, buf, sizeof buf, 1)) > 0) err.add(buf, e);
        if (e == SSH_ERROR) return lost("while a command ran");
        if (ssh_channel_is_eof(ch) && n == 0) {
            // Drain what is left on both streams.
            while ((n = ssh_channel_read_nonblocking(ch, buf, sizeof buf, 0)) > 0) {
                out.add(buf, n);
                if (on_out) on_out(std::string_view(buf, static_cast<size_t>(n)));
            }
            while ((n = ssh_channel_read_nonblocking(ch, buf, sizeof buf, 1)) > 0) err.add(buf, n);
            break;
        }
        if (ssh_channel_is_closed(ch)) break;
        const auto now = Clock::now();
        if (now >= deadline) {
            spdlog::debug("{}command timed out after {} s", prefix, timeout.count());
            return fail("a command on " + m_target.machine + " did not finish within " +
                            std::to_string(timeout.count()) + " s",
                        "output so far: " + tail_lines(result.out + result.err, 5));
        }
        if (now >= next_keepalive) {
            ssh_send_ignore(s, "keepalive");
            next_keepalive = now + m_options.keepalive;
        }
    }
    // The exit status arrives just before or after EOF; wait for it briefly.
    result.exit_status = ssh_channel_get_exit_status(ch);
    for (int i = 0; i < 50 && result.exit_status == -1 && !ssh_channel_is_closed(ch); ++i) {
        ssh_channel_read_timeout(ch, buf, sizeof buf, 0, 100);
        result.exit_status = ssh_channel_get_exit_status(ch);
    }
    if (result.exit_status == -1) {
        if (ssh_get_status(s) & (SSH_CLOSED | SSH_CLOSED_ERROR)) return lost("while a command ran");
        // Killed by a signal: OpenSSH sends exit-signal instead of exit-status.
        result.exit_status = 255;
    }
    report_cut(result, out, err, prefix);
    return result;
}

Result<RemoteResult> LibsshSession::run(std::string_view script, std::chrono::seconds timeout) {
    return run_streaming(script, timeout, {});
}

Result<RemoteResult> LibsshSession::run_streaming(std::string_view script, std::chrono::seconds timeout,
                                                  const std::function<void(std::string_view)>& on_out) {
    // The script is read whole from stdin before it runs, so no command in it can swallow the rest.
    const std::string runner = "sh -c 'script=$(cat); eval \"$script\"'";
    const std::string command = m_impl->root ? runner : "sudo -n " + runner;
    spdlog::debug("{}run: {}", log_prefix(m_target.machine), tail_lines(script, 3));
    return exec(command, script, timeout, on_out);
}

Result<std::string> LibsshSession::make_staging_dir() {
    ssh_session s = m_impl->session.get();
    if (m_impl->sftp == nullptr) {
        m_impl->sftp = sftp_new(s);
        if (m_impl->sftp == nullptr || sftp_init(m_impl->sftp) != SSH_OK) {
            if (m_impl->sftp != nullptr) sftp_free(m_impl->sftp);
            m_impl->sftp = nullptr;
            return fail("cannot start SFTP on " + m_target.machine + ": " + ssh_get_error(s),
                        "the host's sshd needs the sftp subsystem");
        }
    }
    // What mktemp -d does, over SFTP: a new directory of a random name, private to the login
    // user (mkdir fails on any existing name, a symbolic link too).
    static constexpr std::string_view k_chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::random_device random;
    std::string dir;
    for (int attempt = 0; attempt < 5; ++attempt) {
        dir = "/tmp/berth-upload.";
        for (int i = 0; i < 12; ++i) dir += k_chars[random() % k_chars.size()];
        if (sftp_mkdir(m_impl->sftp, dir.c_str(), 0700) == SSH_OK) return dir;
    }
    return fail("cannot make a temporary directory on " + m_target.machine + " over SFTP: " + ssh_get_error(s));
}

Result<void> LibsshSession::stage(const std::string& dir, const std::vector<FileUpload>& files,
                                  std::vector<std::string>& staged) {
    ssh_session s = m_impl->session.get();
    for (std::size_t i = 0; i < files.size(); ++i) {
        const FileUpload& f = files[i];
        const std::string path = dir + "/" + std::to_string(i) + "-" + std::filesystem::path(f.path).filename().string();
        auto cannot = [&](const char* what) {
            return upload_error("cannot upload " + f.path + " to " + m_target.machine + ": cannot " + what + " " +
                                    path + " over SFTP: " + ssh_get_error(s),
                                0);
        };
        sftp_file file = sftp_open(m_impl->sftp, path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (file == nullptr) return std::unexpected(cannot("write"));
        staged.push_back(path);
        size_t off = 0;
        while (off < f.content.size()) {
            ssize_t n = sftp_write(file, f.content.data() + off, std::min<size_t>(f.content.size() - off, 32768));
            if (n < 0) {
                sftp_close(file);
                return std::unexpected(cannot("write"));
            }
            off += static_cast<size_t>(n);
        }
        if (sftp_close(file) != SSH_OK) return std::unexpected(cannot("finish writing"));
    }
    return {};
}

void LibsshSession::remove_staged(const std::string& dir, const std::vector<std::string>& staged) {
    // Best effort: the directory is private; what cannot be removed stays in /tmp.
    for (const auto& path : staged) sftp_unlink(m_impl->sftp, path.c_str());
    sftp_rmdir(m_impl->sftp, dir.c_str());
}

Result<void> LibsshSession::upload_all(const std::vector<FileUpload>& files) {
    if (files.empty()) return {};
    const std::string prefix = log_prefix(m_target.machine);
    auto dir = make_staging_dir();
    if (!dir) return std::unexpected(Error(dir.error()).with(k_files_written, "0"));  // nothing staged yet
    std::vector<std::string> staged;
    if (auto ok = stage(*dir, files, staged); !ok) {
        remove_staged(*dir, staged);
        return ok;
    }
    for (const auto& f : files)
        spdlog::debug("{}upload {} ({} bytes, {}, {})", prefix, f.path, f.content.size(), octal_mode(f.mode), f.owner);
    auto r = run(install_script(*dir, staged, files));
    if (!r) return std::unexpected(r.error());  // the directory is left: the connection is gone
    if (r->exit_status == 0) return {};
    const auto failed = failed_index(r->err, files.size());
    if (!failed)  // it did not say where it stopped (killed, say): any of the files may be written
        return fail("cannot install the uploaded files on " + m_target.machine + ": " + tail_lines(r->err, 3));
    return std::unexpected(upload_error("cannot install " + files[*failed].path + " on " + m_target.machine + ": " +
                                            tail_lines(without_marker(r->err), 3),
                                        *failed));
}

Result<std::string> LibsshSession::read(const std::string& path) {
    auto r = run("if [ ! -e " + shell_quote(path) + " ]; then exit 44; fi; cat -- " + shell_quote(path));
    if (!r) return std::unexpected(r.error());
    if (r->exit_status == 44) return fail_kind(ErrorKind::NotFound, path + " does not exist on " + m_target.machine);
    if (r->exit_status != 0)
        return fail("cannot read " + path + " on " + m_target.machine + ": " + tail_lines(r->err, 3));
    return r->out;
}

}  // namespace berth
