#!/usr/bin/env bash
# End-to-end: berth image bake, on a real TCG guest (libvirt, qemu:///system). Run by ctest
# (label e2e) as   bake_e2e.sh /path/to/berth
# Steps: libvirtd -> debian-12 (built once, cached) -> berth image bake debian-12 --as
# debian-12-docker (timed) -> the temporary machine is gone (no record, domain or volume) -> the
# baked disk is a standalone qcow2, read offline with debugfs: no SSH host keys, an empty
# machine-id, no TLS files, no authz policy, no cloud-init instance or first-boot stamp, no authorized_keys, an empty
# /var/lib/docker and journal, docker not enabled; Docker, apparmor, auditd and nftables installed;
# the generic hardening (daemon.json, the drop-in) kept -> create from the baked image (timed): no
# package install, only the machine's own files written, docker enabled and answering over TLS
# under the machine's own CA with the security options, a machine-id and host key of its own ->
# berth restart: every audit rule loaded at boot and berth audit passing -> rm. It also prints the figures (bake time, create-to-ready from the baked image with its phases).
# The baked image stays cached for tests/e2e/fleet_e2e.sh and bench/fleet.sh.
set -euo pipefail

berth=$(readlink -f "${1:?usage: bake_e2e.sh BERTH_BINARY}")
here=$(cd "$(dirname "$0")" && pwd)
export BERTH_STORAGE_PATH="${BERTH_E2E_CACHE:-/var/cache/berth-e2e}/libvirt-store"
uri=qemu:///system
baked=debian-12-docker
name=berth-e2e-baked
work=$(mktemp -d /tmp/berth-e2e-bake.XXXXXX)
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
    tail -n 30 "/var/log/libvirt/qemu/berth-$name.log" >&2 2>/dev/null || true
    echo "e2e: $passed passed, 1 failed" >&2
  else
    echo "e2e: $passed passed, 0 failed"
  fi
  "$berth" rm -y -f "$name" >/dev/null 2>&1 || true
  "$here/../../scripts/start-libvirtd" --stop "${started_daemons[@]}" || true
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
# shellcheck source=checks.sh
. "$here/checks.sh"

step "libvirtd"
daemons=$("$here/../../scripts/start-libvirtd" "$uri") || true
for daemon in $daemons; do started_daemons+=("$daemon"); done
virsh -c "$uri" version >/dev/null || fail "libvirtd does not answer at $uri"
if ! "$berth" image ls -q | grep -x debian-12 >/dev/null; then "$berth" image build debian-12; fi
"$here/guest/busybox-image.sh" "$work/busybox.tar" >/dev/null
ok "libvirtd answers; debian-12 cached"

step "berth image bake debian-12 --as $baked"
"$berth" image rm "$baked" >/dev/null 2>&1 || true
t0=$SECONDS
"$berth" --debug image bake debian-12 --as "$baked" --libvirt-uri "$uri" --libvirt-virt-type qemu \
  --libvirt-memory 1536 >"$work/bake.out" 2>"$work/bake.log" || { tail -n 60 "$work/bake.log" >&2; fail "bake failed"; }
bake_seconds=$((SECONDS - t0))
[ "$(cat "$work/bake.out")" = "$baked" ] || fail "bake printed '$(cat "$work/bake.out")', not the image's name"
grep -o 'bake [a-z]*: [0-9.]* s' "$work/bake.log" | sed 's/^/  /'
"$berth" image ls
"$berth" image ls --json >"$work/images.json"
python3 - "$work/images.json" "$baked" <<'EOF' || fail "image ls --json does not describe the baked image"
import json, sys
image = next(i for i in json.load(open(sys.argv[1])) if i["name"] == sys.argv[2])
assert image["baked_from"] == "debian-12", image
assert image["packages"] == ["docker.io", "apparmor", "auditd", "nftables"], image
assert image["source"] == "baked from debian-12", image
EOF
ok "baked in ${bake_seconds}s; image ls shows it baked from debian-12 with its packages"

step "the temporary machine is gone"
[ ! -e "$BERTH_STORAGE_PATH/machines/bake-$baked" ] || fail "the temporary machine's record is left"
if virsh -c "$uri" list --all --name | grep -x "berth-bake-$baked" >/dev/null; then fail "its domain is left"; fi
if virsh -c "$uri" vol-list berth | awk 'NR>2 {print $1}' | grep "^bake-$baked" >/dev/null; then fail "its volumes are left"; fi
ok "no record, domain or volume of bake-$baked"

step "the baked disk, read offline: nothing machine-specific, the packages in"
disk=$("$berth" image ls --json | python3 -c "import json,sys; print(next(i['disk_path'] for i in json.load(sys.stdin) if i['name']=='$baked'))")
qemu-img info "$disk" | grep -q '^backing file' && fail "the baked disk has a backing file"
qemu-img convert -O raw "$disk" "$work/root.raw"
fsck() { debugfs -R "$1" "$work/root.raw" 2>/dev/null; }
fsck "stat /etc/hostname" | grep -q 'Type: regular' || fail "debugfs cannot read the baked disk's file system"
exists() { fsck "stat $1" | grep -q '^Inode:'; }
# The names in a directory (debugfs ls -p: /inode/mode/uid/gid/name/size/), without . and ..
names() { fsck "ls -p $1" | awk -F/ '$6 != "" && $6 != "." && $6 != ".." {print $6}'; }
[ -n "$(names /etc/ssh)" ] || fail "debugfs lists nothing in /etc/ssh"
[ -z "$(names /etc/ssh | grep '^ssh_host_' || true)" ] || fail "SSH host keys are baked in"
fsck "stat /etc/machine-id" | grep -Eq 'Size: 0$|Size: 0[^0-9]' || fail "/etc/machine-id is not empty"
for f in /etc/docker/tls/ca.pem /etc/docker/tls/server-cert.pem /etc/docker/tls/server-key.pem /etc/berth/authz.yaml /etc/berth/authz-revoked.yaml \
  /etc/docker/berth-engine.env /var/lib/cloud/instance /var/lib/berth/firstboot-done /home/docker/.ssh/authorized_keys /root/.bash_history \
  /etc/systemd/system/multi-user.target.wants/docker.service; do
  if exists "$f"; then fail "$f is baked in"; fi
done
[ -z "$(names /var/lib/docker)" ] || fail "/var/lib/docker is not empty: $(names /var/lib/docker | tr '\n' ' ')"
[ -z "$(names /var/lib/cloud)" ] || fail "cloud-init's state is baked in: $(names /var/lib/cloud | tr '\n' ' ')"
[ -z "$(names /var/log/journal)" ] || fail "a journal is baked in"
[ -z "$(names /var/lib/apt/lists | grep -F '_dists_' || true)" ] || fail "apt lists are baked in"
for f in /etc/docker/daemon.json /etc/systemd/system/docker.service.d/10-berth.conf /usr/local/sbin/berth-authz; do
  exists "$f" || fail "the hardening's $f is not in the image"
done
fsck "cat /var/lib/dpkg/status" >"$work/status"
for p in docker.io apparmor auditd nftables; do
  awk -v p="$p" '$0 == "Package: " p {f=1} f && /^Status:/ {print; exit}' "$work/status" | grep -q 'install ok installed' ||
    fail "$p is not installed in the baked image"
done
rm -f "$work/root.raw"
ok "no host keys, empty machine-id, no TLS/authz/engine env, no cloud-init instance, no login key, docker disabled; packages installed"

step "create from the baked image"
t0=$SECONDS
"$berth" --debug create -d libvirt --libvirt-uri "$uri" --libvirt-virt-type qemu --libvirt-memory 1024 \
  --libvirt-disk-size 8 --libvirt-data-disk-size 2 --libvirt-image "$baked" "$name" >"$work/create.out" 2>"$work/create.log" ||
  { tail -n 60 "$work/create.log" >&2; fail "create from the baked image failed"; }
create_seconds=$((SECONDS - t0))
grep -o 'Time: .*' "$work/create.log" | sed 's/^/  /'
if grep -F "Installing " "$work/create.log" | grep -v "Installing the" >/dev/null; then
  grep -F "Installing " "$work/create.log" >&2
  fail "the create installed packages"
fi
if grep -E 'apt-get|dnf ' "$work/create.log" >/dev/null; then fail "the create ran apt-get"; fi
written=$(grep -o 'writing /[^ ]*' "$work/create.log" | awk '{print $2}' | sort | tr '\n' ' ')
echo "  written: $written"
[ "$written" = "/etc/apt/apt.conf.d/90berth-proxy /etc/berth/authz-revoked.yaml /etc/berth/authz.yaml /etc/docker/berth-engine.env /etc/docker/tls/ca.pem /etc/docker/tls/server-cert.pem /etc/docker/tls/server-key.pem " ] ||
  fail "the create wrote more than the machine's own files: $written"
ok "ready in ${create_seconds}s; no package install, only the machine's own files written"

step "the machine from the baked image: its own identity, docker enabled, TLS under its own CA"
mid=$("$berth" ssh "$name" -- cat /etc/machine-id)
[ ${#mid} = 32 ] || fail "the machine has no machine-id of its own ('$mid')"
[ "$("$berth" ssh "$name" -- systemctl is-enabled docker)" = enabled ] || fail "docker is not enabled"
eval "$("$berth" env --shell bash "$name")"
check_security_options
check_container "$work/busybox.tar"
check_tls_only "$("$berth" ip "$name"):2376"
ok "machine-id $mid, docker enabled, TLS only, security options on"

step "after a reboot the hardening is all back: every audit rule loaded, berth audit passes"
"$berth" restart "$name" >"$work/restart.log" 2>&1 || { cat "$work/restart.log" >&2; fail "berth restart failed"; }
# auditd loads the rules at boot, before containerd runs: a watch whose parent directory is
# missing stops auditctl there (berth's tmpfiles.d entry makes /run/containerd first).
rules=$("$berth" ssh "$name" -- sudo -n grep -c '^-w ' /etc/audit/rules.d/berth-docker.rules)
loaded=$("$berth" ssh "$name" -- sudo -n auditctl -l | grep -c -- '-k docker' || true)
[ "$loaded" = "$rules" ] || fail "after a reboot the kernel holds $loaded of berth's $rules audit rules"
"$berth" audit "$name" >"$work/audit.out" 2>&1 || { grep -v ' PASS' "$work/audit.out" >&2; fail "berth audit fails after a reboot"; }
"$berth" rm -y "$name"
ok "$loaded of $rules audit rules loaded at boot; berth audit passes; removed"

echo
echo "figures: bake ${bake_seconds}s; create-to-ready from $baked ${create_seconds}s (libvirt_e2e.sh's create from debian-12 for comparison; bench/fleet.sh prints both)"
