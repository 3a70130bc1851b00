#!/usr/bin/env bash
# End-to-end: berth makes a real VM with the libvirt driver (qemu:///system, TCG) from an image it
# built with debootstrap, hardens it, and the host's docker CLI uses it over mutual TLS. Run by
# ctest (label e2e) as   libvirt_e2e.sh /path/to/berth
# Steps: libvirtd (started by hand where there is no systemd) -> berth image build (cached) ->
# create -d libvirt --libvirt-virt-type qemu -> its first SSH connection verified against the host
# key berth put in the seed, the seed gone; DOCKER_CERT_PATH holds only the client files -> TLS
# only, security options, the SUID exploit fails -> /var/lib/docker on its own disk -> berth set
# (memory with --restart, CPUs at the next start, engine settings), TLS still valid -> ssh -> rm leaves no domain and no volume but the cached base image -> the
# same through qemu+ssh:// (libvirt's ssh transport to an sshd on loopback, host key checked) -> a
# create killed with SIGKILL half-way leaves a machine that rm removes completely.
set -euo pipefail

berth=$(readlink -f "${1:?usage: libvirt_e2e.sh BERTH_BINARY}")
here=$(cd "$(dirname "$0")" && pwd)
# Images are kept between runs in a store of their own under the e2e cache.
export BERTH_STORAGE_PATH="${BERTH_E2E_CACHE:-/var/cache/berth-e2e}/libvirt-store"
name=berth-e2e-lv
uri=qemu:///system
work=$(mktemp -d /tmp/berth-e2e-libvirt.XXXXXX)
unset DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_MACHINE_NAME
passed=0
started=$SECONDS
started_daemons=()

step() { printf '\n[e2e %4ds] %s\n' $((SECONDS - started)) "$*"; }
ok() { passed=$((passed + 1)); printf '  ok: %s\n' "$*"; }
fail() { printf '  FAILED: %s\n' "$*" >&2; exit 1; }
cleanup() {
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "--- domain console / qemu log ---" >&2
    tail -n 30 "/var/log/libvirt/qemu/berth-$name.log" >&2 2>/dev/null || true
    echo "e2e: $passed passed, 1 failed" >&2
  else
    echo "e2e: $passed passed, 0 failed"
  fi
  # A create still running in the background (the crash step failed early) holds its machine's lock.
  if [ -n "${pid:-}" ]; then kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  "$berth" rm -y -f "$name" >/dev/null 2>&1 || true
  "$berth" rm -y -f "$name-crash" >/dev/null 2>&1 || true
  "$berth" rm -y -f "$name-ssh" >/dev/null 2>&1 || true
  if [ -f "$work/ssh/sshd.pid" ]; then kill "$(cat "$work/ssh/sshd.pid")" 2>/dev/null || true; fi
  if [ -n "${proxy_pid:-}" ]; then kill "$proxy_pid" 2>/dev/null || true; fi
  # Stop only the daemons this test started (none when libvirtd already ran, e.g. started by
  # scripts/run-tests), and the NAT rules libvirt leaves behind.
  "$here/../../scripts/start-libvirtd" --stop "${started_daemons[@]}" || true
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

# fails unless machine $1 left neither its domain nor a volume of its own ($2 says after what)
check_removed() {
  virsh -c "$uri" list --all --name | grep -x "berth-$1" >/dev/null && fail "$2: the domain berth-$1 is still defined"
  local left
  left=$(virsh -c "$uri" vol-list berth 2>/dev/null | awk 'NR>2 && $1 != "" {print $1}' | grep -- "^$1[.-]" || true)
  [ -z "$left" ] || fail "$2: volumes left behind: $left"
}
# shellcheck source=checks.sh
. "$here/checks.sh"

step "libvirtd (by hand where there is no systemd)"
# scripts/start-libvirtd prints the daemons it started (nothing if libvirtd already answers).
daemons=$("$here/../../scripts/start-libvirtd" "$uri") || true
for daemon in $daemons; do started_daemons+=("$daemon"); done
virsh -c "$uri" version >/dev/null || fail "libvirtd does not answer at $uri"
ok "libvirtd answers at $uri"

step "berth image build debian-12 (once; cached in $BERTH_STORAGE_PATH)"
if ! "$berth" image ls -q | grep -x debian-12 >/dev/null; then
  "$berth" image build debian-12
fi
"$berth" image ls
"$here/guest/busybox-image.sh" "$work/busybox.tar" >/dev/null
ok "image ready"

step "an apt proxy on the host for the machine's packages (tests/e2e/apt_proxy.py, logging)"
# The gateway of libvirt's default network (berth defines it with this address when it is absent).
gw=$(virsh -c "$uri" net-dumpxml default 2>/dev/null | sed -n "s/.*<ip address='\([0-9.]*\)'.*/\1/p" | head -n 1)
gw=${gw:-192.168.122.1}
proxy_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
python3 "$here/apt_proxy.py" "$proxy_port" "$work/proxy.log" deb.debian.org security.debian.org >"$work/proxy.out" 2>&1 &
proxy_pid=$!
for _ in $(seq 50); do grep -q ready "$work/proxy.out" 2>/dev/null && break; sleep 0.2; done
grep -q ready "$work/proxy.out" || fail "the apt proxy did not start: $(cat "$work/proxy.out")"
proxy_url="http://$gw:$proxy_port"
ok "apt proxy at $proxy_url"

step "berth create -d libvirt --libvirt-virt-type qemu --engine-apt-proxy $proxy_url"
"$berth" rm -y -f "$name" >/dev/null 2>&1 || true
"$berth" --debug create -d libvirt --libvirt-uri "$uri" --libvirt-virt-type qemu --libvirt-memory 1536 \
  --libvirt-cpu-count 2 --libvirt-disk-size 8 --libvirt-data-disk-size 4 --engine-apt-proxy "$proxy_url" "$name" 2>&1 |
  tee "$work/create.log"
"$berth" ls
[ "$("$berth" status "$name")" = Running ] || fail "status is not Running"
ip=$("$berth" ip "$name")
ok "VM $name runs at $ip"
check_docker_started_once "$name"
grep -E "^200 GET http://deb\.debian\.org/.*/docker\.io_[^ ]*\.deb$" "$work/proxy.log" >/dev/null ||
  fail "docker.io's package did not come through the apt proxy; its log: $(tail -n 5 "$work/proxy.log")"
"$berth" ssh "$name" -- cat /etc/apt/apt.conf.d/90berth-proxy | grep -Fx "Acquire::http::Proxy \"$proxy_url\";" >/dev/null ||
  fail "the machine's /etc/apt/apt.conf.d/90berth-proxy does not name $proxy_url"
ok "the packages came through the apt proxy ($(grep -c '^200 ' "$work/proxy.log") requests); 90berth-proxy names it"

step "no trust on first use: the host key berth put in the seed was pinned and verified; the seed is gone"
mdir="$BERTH_STORAGE_PATH/machines/$name"
grep -F "matches the key pinned for berth-$name" "$work/create.log" >/dev/null ||
  fail "create's debug log does not say the first connection matched the pre-pinned host key"
if grep -F "Trusting the SSH host key" "$work/create.log" >/dev/null; then fail "create trusted the host key on first use"; fi
pinned=$(awk -v a="berth-$name" '$1 == a {print $2 " " $3}' "$mdir/known_hosts")
guest_key=$("$berth" ssh "$name" -- sudo -n cat /etc/ssh/ssh_host_ed25519_key.pub | awk '{print $1 " " $2}')
[ -n "$pinned" ] && [ "$pinned" = "$guest_key" ] || fail "the pinned key ($pinned) is not the guest's ($guest_key)"
others=$("$berth" ssh "$name" -- sh -c "'ls /etc/ssh/ssh_host_*_key | grep -v ed25519 || true'")
[ -z "$others" ] || fail "the guest made other host keys: $others"
if virsh -c "$uri" vol-list berth | awk 'NR>2 {print $1}' | grep -x "$name-seed.iso" >/dev/null; then
  fail "the seed volume $name-seed.iso is still in the pool"
fi
if virsh -c "$uri" dumpxml "berth-$name" | grep -F "seed.iso" >/dev/null; then fail "the domain still has the seed"; fi
if virsh -c "$uri" dumpxml --inactive "berth-$name" | grep -F "seed.iso" >/dev/null; then
  fail "the domain's definition still has the seed"
fi
[ ! -e "$mdir/seed.iso" ] && [ ! -e "$mdir/cloud-init" ] || fail "the local seed files are still in $mdir"
# The image berth built has no cloud-init: berth-firstboot ran the seed's script, once.
"$berth" ssh "$name" -- sh -c "'test -e /var/lib/berth/firstboot-done && ! command -v cloud-init'" ||
  fail "the first boot was not berth-firstboot's (no /var/lib/berth/firstboot-done, or cloud-init is installed)"
ok "first SSH connection verified against the pre-pinned key $pinned; seed volume and files deleted; first boot by berth-firstboot"

step "DOCKER_CERT_PATH holds only what the docker CLI reads"
certs=$(ls "$mdir/certs" | tr '\n' ' ')
[ "$certs" = "ca.pem cert.pem key.pem " ] || fail "$mdir/certs holds: $certs"
[ "$(stat -c %a "$mdir/certs")" = 700 ] || fail "$mdir/certs is not 0700"
"$berth" env --shell bash "$name" | grep -F "DOCKER_CERT_PATH=\"$mdir/certs\"" >/dev/null ||
  fail "berth env does not point DOCKER_CERT_PATH at $mdir/certs"
ok "certs/ (0700) holds ca.pem cert.pem key.pem; ca-key.pem and id_ed25519 stay outside"

step "docker through berth env: security options, a container, TLS only, the SUID exploit"
eval "$("$berth" env --shell bash "$name")"
check_security_options
check_container "$work/busybox.tar"
check_tls_only "$ip:2376"
check_suid_escape_fails

step "/var/lib/docker is on its own disk (CIS 1.1.1)"
src=$("$berth" ssh "$name" -- findmnt -n -o SOURCE /var/lib/docker)
echo "  /var/lib/docker is on $src"
[[ "$src" =~ ^/dev/vdb[0-9]*$ ]] || fail "/var/lib/docker is not on the data disk (vdb)"
ok "/var/lib/docker on $src"

step "berth audit passes on the fresh VM (berth-authz active and refusing its probe, no drift)"
audit_out=$("$berth" audit --format '{{.ID}} {{.Status}}' "$name") || {
  echo "$audit_out" | grep -v ' PASS$' >&2
  fail "berth audit failed on a fresh VM"
}
grep -qx '2.12 PASS' <<<"$audit_out" || fail "berth audit did not report 2.12 (authorization plugin) PASS"
ok "berth audit: $(grep -c ' PASS$' <<<"$audit_out") checks pass, none scored warns"

step "berth set: memory with --restart, CPUs of a stopped machine, engine settings through the plan"
if "$berth" set "$name" --libvirt-memory 2048 >"$work/set.out" 2>&1; then fail "set changed a running machine's memory without --restart"; fi
grep -F "needs a stop and a start" "$work/set.out" >/dev/null || fail "set without --restart did not say why: $(cat "$work/set.out")"
"$berth" set "$name" --libvirt-memory 2048 --restart
[ "$("$berth" status "$name")" = Running ] || fail "status is not Running after set --restart"
mem_kib=$("$berth" ssh "$name" -- grep MemTotal: /proc/meminfo | awk '{print $2}')
[ "$mem_kib" -gt 1700000 ] || fail "the guest has $mem_kib KiB after set --libvirt-memory 2048 --restart"
eval "$("$berth" env --shell bash "$name")"
docker version --format '{{.Server.Version}}' >/dev/null || fail "docker does not answer after set --restart"
"$berth" stop "$name"
[ "$("$berth" status "$name")" = Stopped ] || fail "status is not Stopped after stop"
"$berth" set "$name" --libvirt-cpu-count 1 | grep -F "take effect when it starts" >/dev/null ||
  fail "set on a stopped machine did not say when its change takes effect"
"$berth" start "$name"
[ "$("$berth" ssh "$name" -- nproc)" = 1 ] || fail "the guest does not have 1 CPU after set --libvirt-cpu-count 1 and start"
eval "$("$berth" env --shell bash "$name")"
docker version --format '{{.Server.Version}}' >/dev/null || fail "docker does not answer after start"
"$berth" set "$name" --engine-opt max-concurrent-downloads=4 --engine-env BERTH_E2E=set | tee "$work/set.out"
grep -F "changed /etc/docker/daemon.json" "$work/set.out" >/dev/null || fail "set --engine-opt did not write daemon.json"
"$berth" ssh "$name" -- sudo -n cat /etc/docker/daemon.json | grep -E '"max-concurrent-downloads": ?"?4' >/dev/null ||
  fail "daemon.json has no max-concurrent-downloads 4"
"$berth" ssh "$name" -- sudo -n sh -c "'xargs -0 -n1 </proc/\$(pidof dockerd)/environ'" | grep -x "BERTH_E2E=set" >/dev/null ||
  fail "dockerd's environment has no BERTH_E2E=set"
docker version --format '{{.Server.Version}}' >/dev/null || fail "docker does not answer after set --engine-opt"
"$berth" set "$name" --engine-opt max-concurrent-downloads=4 | grep -F "nothing to change" >/dev/null ||
  fail "the same set again changed something"
"$berth" provision "$name" | grep -F "no changes" >/dev/null || fail "a provision after set changed something"
ok "set: memory 2048 MiB with --restart ($mem_kib KiB), 1 CPU at the next start, an engine opt and env through the plan; again: nothing"

step "berth rm leaves no domain and no volume but the cached base image"
"$berth" rm -y "$name"
check_removed "$name" "berth rm"
ok "domain and volumes removed; base images kept"

step "the same through qemu+ssh:// (libvirt's ssh transport to an sshd on loopback)"
# A remote hypervisor is reached only through the libvirt API; here "remote" is this host's
# libvirtd behind an sshd of its own, with the host key checked (a wrapper gives ssh a known_hosts).
mkdir -p "$work/ssh" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$work/ssh/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/ssh/client_key"
cp "$work/ssh/client_key.pub" "$work/ssh/authorized_keys"
sshport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '%s\n' "Port $sshport" "ListenAddress 127.0.0.1" "HostKey $work/ssh/host_key" \
  "AuthorizedKeysFile $work/ssh/authorized_keys" "PermitRootLogin prohibit-password" \
  "PasswordAuthentication no" "KbdInteractiveAuthentication no" "UsePAM no" "StrictModes no" \
  "PidFile $work/ssh/sshd.pid" >"$work/ssh/sshd_config"
/usr/sbin/sshd -f "$work/ssh/sshd_config" -E "$work/ssh/sshd.log"
echo "[127.0.0.1]:$sshport $(cut -d' ' -f1,2 "$work/ssh/host_key.pub")" >"$work/ssh/known_hosts"
printf '#!/bin/sh\nexec ssh -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o BatchMode=yes "$@"\n' \
  "$work/ssh/known_hosts" >"$work/ssh/ssh"
chmod +x "$work/ssh/ssh"
remote="qemu+ssh://root@127.0.0.1:$sshport/system?keyfile=$work/ssh/client_key&command=$work/ssh/ssh"
virsh -c "$remote" version >/dev/null || fail "virsh cannot reach $remote"
"$berth" create -d libvirt --libvirt-uri "$remote" --libvirt-virt-type qemu --libvirt-memory 1536 \
  --libvirt-disk-size 8 --libvirt-data-disk-size 0 "$name-ssh"
logins=$(grep -c "Accepted publickey for root" "$work/ssh/sshd.log")
"$berth" ls --filter "name=$name-ssh"
[ "$("$berth" status "$name-ssh")" = Running ] || fail "status over qemu+ssh is not Running"
[ "$(grep -c "Accepted publickey for root" "$work/ssh/sshd.log")" -gt "$logins" ] ||
  fail "ls and status did not go through the ssh transport"
eval "$("$berth" env --shell bash "$name-ssh")"
docker version --format '{{.Server.Version}}' >/dev/null || fail "docker does not answer on the machine made over qemu+ssh"
"$berth" rm -y "$name-ssh"
check_removed "$name-ssh" "berth rm over qemu+ssh"
ok "created, listed, used over TLS and removed through qemu+ssh://root@127.0.0.1:$sshport/system"

step "a create killed half-way leaves a machine that rm removes completely"
crash="$name-crash"
"$berth" create -d libvirt --libvirt-uri "$uri" --libvirt-virt-type qemu --libvirt-memory 1024 \
  --libvirt-disk-size 8 --libvirt-data-disk-size 2 "$crash" >"$work/crash.log" 2>&1 &
pid=$!
# (grep without -q: with pipefail, grep -q leaving early can fail the pipeline on virsh's SIGPIPE.)
defined=0
for _ in $(seq 1 300); do
  if virsh -c "$uri" list --all --name 2>/dev/null | grep -x "berth-$crash" >/dev/null; then defined=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 1
done
[ "$defined" = 1 ] || { cat "$work/crash.log"; fail "the domain was never defined"; }
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
"$berth" ls
"$berth" rm -y "$crash"
check_removed "$crash" "berth rm of the killed create"
[ ! -e "$BERTH_STORAGE_PATH/machines/$crash" ] || fail "the killed create left its record"
ok "killed after the domain was defined; rm removed the domain, its volumes and its record"
