#!/usr/bin/env bash
# Builds (once) the Debian 12 (bookworm) guest image of berth's end-to-end tests and caches it
# outside the build tree.
#
#   build-image.sh [--cache DIR] [--mirror URL] [--security-mirror URL] [--force] [--check]
#
#   --cache DIR            cache directory (default: ${BERTH_E2E_CACHE:-/var/cache/berth-e2e})
#   --mirror URL           Debian mirror for debootstrap and the guest's sources.list
#                          (default: http://deb.debian.org/debian)
#   --security-mirror URL  mirror of bookworm-security (default: the --mirror URL + "-security",
#                          i.e. http://deb.debian.org/debian-security)
#   --force                rebuild even if the cache is up to date
#   --check                only report: exit 0 if the cache is up to date, 1 if not
#
# The cache holds, when done: base.qcow2 (root disk, ext4 of 4 GiB, no partition table, /dev/vda),
# vmlinuz + initrd.img (direct kernel boot), id_ed25519 + id_ed25519.pub (test key, authorised for
# root and for the user "docker" (uid 1000, groups users + sudo, passwordless sudo)), packages.txt,
# build.log, and READY, written last. READY's first line names the sha256 of this script and the
# mirrors: a changed script or mirror rebuilds; a cache without a matching READY (for example after
# a build was killed) is never used. Runs as root (debootstrap, chroot). See README.md.
set -euo pipefail

readonly prog=build-image.sh
# Bump when the recipe changes in a way the script's own hash would not show (it normally does).
readonly recipe_version=1

die() { echo "$prog: error: $*" >&2; exit 1; }
note() { echo "$prog: $*"; }
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }

cache=${BERTH_E2E_CACHE:-/var/cache/berth-e2e}
mirror=http://deb.debian.org/debian
security_mirror=
force=0
check_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --cache) [ $# -ge 2 ] || die "--cache needs a directory"; cache=$2; shift 2 ;;
    --cache=*) cache=${1#*=}; shift ;;
    --mirror) [ $# -ge 2 ] || die "--mirror needs a URL"; mirror=$2; shift 2 ;;
    --mirror=*) mirror=${1#*=}; shift ;;
    --security-mirror) [ $# -ge 2 ] || die "--security-mirror needs a URL"; security_mirror=$2; shift 2 ;;
    --security-mirror=*) security_mirror=${1#*=}; shift ;;
    --force) force=1; shift ;;
    --check) check_only=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[ -n "$cache" ] || die "the cache directory is empty"
mirror=${mirror%/}
[ -n "$security_mirror" ] || security_mirror=${mirror}-security
security_mirror=${security_mirror%/}
case "$mirror$security_mirror" in *[[:space:]]*) die "mirror URLs must not contain spaces" ;; esac

script_hash=$(sha256sum "${BASH_SOURCE[0]}") || die "cannot hash ${BASH_SOURCE[0]}"
script_hash=${script_hash%% *}
# Line 1 of READY: what the cache was built from. Anything that changes the image belongs here.
stamp="berth-e2e-guest v$recipe_version recipe-sha256=$script_hash mirror=$mirror security-mirror=$security_mirror"

artifacts=(base.qcow2 vmlinuz initrd.img id_ed25519 id_ed25519.pub)

cache_is_current() {
  [ -f "$cache/READY" ] || return 1
  [ "$(head -n1 "$cache/READY" 2>/dev/null)" = "$stamp" ] || return 1
  local f
  for f in "${artifacts[@]}"; do [ -s "$cache/$f" ] || return 1; done
}

if [ "$check_only" = 1 ]; then
  if cache_is_current; then note "cache $cache is up to date"; exit 0; fi
  note "cache $cache is missing, incomplete or out of date"; exit 1
fi

if [ "$force" = 0 ] && cache_is_current; then
  note "cache $cache is up to date (READY matches this recipe); nothing to do"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap and chroot need it)"
for tool in debootstrap mke2fs qemu-img ssh-keygen chroot flock sha256sum; do
  command -v "$tool" >/dev/null 2>&1 \
    || die "'$tool' not found; install the e2e tools first: scripts/install-deps --e2e"
done

mkdir -p "$cache" || die "cannot create the cache directory $cache"
cache=$(cd "$cache" && pwd -P)

# One builder at a time; a second one waits, then finds the cache up to date.
exec 9>"$cache/.lock"
if ! flock -n 9; then
  note "another build holds $cache/.lock; waiting for it"
  flock 9
fi
if [ "$force" = 0 ] && cache_is_current; then
  note "cache $cache is up to date (built by another run); nothing to do"
  exit 0
fi

# Unmounts whatever debootstrap left mounted below $1 (it mounts proc and sys in the target),
# then removes $1 without crossing into another file system.
remove_tree() {
  local dir=$1 mnt
  [ -d "$dir" ] || return 0
  # /proc/mounts escapes spaces as \040; our temp paths have none.
  while read -r mnt; do
    umount -l "$mnt" 2>/dev/null || true
  done < <(awk -v d="$dir" 'index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r)
  rm -rf --one-file-system "$dir"
}

# Leftovers of builds that were killed (SIGKILL skips the trap). We hold the lock: nobody uses them.
for stale in "$cache"/.build.*; do
  [ -e "$stale" ] || continue
  note "removing the leftover $stale of an interrupted build"
  remove_tree "$stale"
done

# The old READY goes first: from here on, the cache counts as not built until the new READY.
rm -f "$cache/READY"

start_s=$(date +%s)
child=
work=$(mktemp -d "$cache/.build.XXXXXX")
log=$work/build.log
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ "$rc" -ne 0 ]; then
    echo "$prog: build FAILED (exit $rc) after $(( $(date +%s) - start_s )) s" >&2
    if [ -s "$log" ]; then
      echo "$prog: last lines of the build log:" >&2
      tail -n 25 "$log" >&2 || true
      cp -f "$log" "$cache/build-failed.log" 2>/dev/null \
        && echo "$prog: full log kept in $cache/build-failed.log" >&2
    fi
  fi
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    echo "$prog: stopping debootstrap (pid $child)" >&2
    kill -TERM -- "-$child" 2>/dev/null || true
    for _ in $(seq 50); do
      # Not yet waited for, a dead child stays a zombie ("Z"): that counts as gone.
      [ "$(awk '{ print $3 }' "/proc/$child/stat" 2>/dev/null)" = Z ] && break
      [ -e "/proc/$child" ] || break
      sleep 0.2
    done
    kill -KILL -- "-$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  remove_tree "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

step() { note "[$(( $(date +%s) - start_s ))s] $*"; }

R=$work/rootfs
packages=systemd-sysv,udev,dbus,openssh-server,linux-image-amd64,ifupdown,isc-dhcp-client,iproute2,sudo,ca-certificates

step "debootstrap bookworm (minbase) from $mirror (about 1.5-3 min; log: $cache/build.log)"
# In the background in its own process group, so that a signal to this script runs the trap at once
# (bash defers traps while a foreground child runs) and the trap can stop debootstrap and its dpkgs.
setsid debootstrap --variant=minbase --components=main --include="$packages" \
  bookworm "$R" "$mirror" >>"$log" 2>&1 9>&- </dev/null &
child=$!
if ! wait "$child"; then
  child=
  # debootstrap's own log inside the target says more than its stdout.
  [ -f "$R/debootstrap/debootstrap.log" ] && tail -n 40 "$R/debootstrap/debootstrap.log" >>"$log"
  die "debootstrap failed (mirror $mirror reachable?)"
fi
child=
if [ ! -x "$R/usr/sbin/sshd" ] || [ ! -x "$R/lib/systemd/systemd" ]; then
  die "debootstrap left an incomplete tree"
fi
step "debootstrap done in $(( $(date +%s) - start_s )) s; configuring the guest"

# --- test key -------------------------------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C berth-e2e-test-key -f "$work/id_ed25519" >>"$log" 2>&1 \
  || die "ssh-keygen failed"

# --- identity, network, apt ------------------------------------------------------------------------
echo berth-e2e-guest >"$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tberth-e2e-guest\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
  >"$R/etc/hosts"
echo '/dev/vda / ext4 defaults,errors=remount-ro 0 1' >"$R/etc/fstab"
# net.ifnames=0 is on the kernel command line (boot.sh), so the NIC is eth0. slirp answers DHCP.
cat >"$R/etc/network/interfaces" <<'EOF'
# berth e2e guest: qemu user networking (slirp) hands out 10.0.2.15 by DHCP
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback

allow-hotplug eth0
iface eth0 inet dhcp
EOF
# debootstrap copied the build host's resolv.conf; dhclient writes the guest's own (10.0.2.3).
rm -f "$R/etc/resolv.conf"
: >"$R/etc/resolv.conf"
cat >"$R/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security_mirror bookworm-security main
EOF

# --- users ----------------------------------------------------------------------------------------
install -d -m 700 "$R/root/.ssh"
install -m 600 "$work/id_ed25519.pub" "$R/root/.ssh/authorized_keys"
# Primary group "users", not a private group "docker": the group "docker" must be left to the
# docker.io package (as a system group), which the provisioner installs (boot2docker did the same
# with "staff").
chroot "$R" useradd --create-home --uid 1000 --no-user-group --gid users --groups sudo \
  --shell /bin/bash docker >>"$log" 2>&1 || die "useradd docker failed in the chroot"
if grep -q '^docker:' "$R/etc/group"; then die "the image must not have a group 'docker'"; fi
# "*": no password, but not a locked ("!") account, so key logins work with or without PAM.
chroot "$R" usermod -p '*' docker >>"$log" 2>&1 || die "usermod docker failed in the chroot"
read -r docker_uid docker_gid < <(awk -F: '$1 == "docker" { print $3, $4 }' "$R/etc/passwd")
[ "$docker_uid" = 1000 ] || die "user docker got uid '$docker_uid', expected 1000"
install -d -m 700 -o "$docker_uid" -g "$docker_gid" "$R/home/docker/.ssh"
install -m 600 -o "$docker_uid" -g "$docker_gid" "$work/id_ed25519.pub" "$R/home/docker/.ssh/authorized_keys"
echo 'docker ALL=(ALL) NOPASSWD:ALL' >"$R/etc/sudoers.d/docker"
chmod 440 "$R/etc/sudoers.d/docker"
chroot "$R" visudo -cqf /etc/sudoers.d/docker >>"$log" 2>&1 || die "sudoers drop-in does not parse"

# --- sshd -----------------------------------------------------------------------------------------
# Debian's sshd_config includes sshd_config.d/*.conf first; the first value of a keyword wins.
printf 'PasswordAuthentication no\nPermitRootLogin prohibit-password\nUseDNS no\n' \
  >"$R/etc/ssh/sshd_config.d/50-berth-e2e.conf"
# Host keys: none in the image; every VM makes its own at first boot, before ssh.service.
rm -f "$R"/etc/ssh/ssh_host_*
cat >"$R/etc/systemd/system/berth-e2e-ssh-hostkeys.service" <<'EOF'
[Unit]
Description=Generate this machine's SSH host keys (berth e2e image)
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
RemainAfterExit=yes

[Install]
WantedBy=ssh.service
EOF
install -d "$R/etc/systemd/system/ssh.service.wants"
ln -sf /etc/systemd/system/berth-e2e-ssh-hostkeys.service \
  "$R/etc/systemd/system/ssh.service.wants/berth-e2e-ssh-hostkeys.service"

# --- boot speed and no surprises under TCG ----------------------------------------------------------
# apt timers would race the provisioner for the dpkg lock; e2scrub_reap alone costs ~11 s of boot.
for unit in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
            e2scrub_reap.service fstrim.timer; do
  ln -sf /dev/null "$R/etc/systemd/system/$unit"
done
install -d "$R/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' >"$R/etc/systemd/journald.conf.d/50-berth-e2e.conf"

# --- kernel for direct boot -------------------------------------------------------------------------
shopt -s nullglob
kernels=("$R"/boot/vmlinuz-*)
initrds=("$R"/boot/initrd.img-*)
shopt -u nullglob
[ "${#kernels[@]}" -eq 1 ] || die "expected one kernel in /boot, found ${#kernels[@]}"
[ "${#initrds[@]}" -eq 1 ] || die "expected one initrd in /boot, found ${#initrds[@]}"
install -m 644 "${kernels[0]}" "$work/vmlinuz"
install -m 644 "${initrds[0]}" "$work/initrd.img"
kernel_release=${kernels[0]##*/vmlinuz-}

# --- record, then slim down -------------------------------------------------------------------------
# shellcheck disable=SC2016 # dpkg-query's own ${...} format, not shell
chroot "$R" dpkg-query -W -f '${Package} ${Version}\n' >"$work/packages.txt" 2>>"$log" \
  || die "dpkg-query failed in the chroot"
rm -f "$R"/var/cache/apt/archives/*.deb "$R"/var/cache/apt/*.bin
# debootstrap's package lists belong to a fake "debootstrap.invalid" source: useless in the guest.
find "$R/var/lib/apt/lists" -maxdepth 1 -type f ! -name lock -delete
rm -rf "$R/debootstrap"

# --- disk image -------------------------------------------------------------------------------------
step "making the ext4 image (mke2fs -d) and base.qcow2"
mke2fs -q -F -t ext4 -L root -d "$R" "$work/base.raw" 4G >>"$log" 2>&1 || die "mke2fs -d failed"
remove_tree "$R"
qemu-img convert -O qcow2 "$work/base.raw" "$work/base.qcow2" >>"$log" 2>&1 || die "qemu-img convert failed"
rm -f "$work/base.raw"
chmod 644 "$work/base.qcow2" "$work/id_ed25519.pub" "$work/packages.txt"
chmod 600 "$work/id_ed25519"

# --- publish: READY last ----------------------------------------------------------------------------
step "publishing into $cache"
for f in "${artifacts[@]}" packages.txt; do
  mv -f "$work/$f" "$cache/$f"
done
rm -f "$cache/build-failed.log"
elapsed=$(( $(date +%s) - start_s ))
{
  printf '%s\n' "$stamp"
  printf 'built=%s seconds=%s kernel=%s host=%s\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$elapsed" "$kernel_release" "$(uname -n)"
} >"$work/READY"
cp -f "$log" "$cache/build.log"
sync -f "$cache/base.qcow2" 2>/dev/null || sync
mv -f "$work/READY" "$cache/READY"

size=$(du -m --apparent-size "$cache/base.qcow2" | cut -f1)
note "built $cache (Debian 12, kernel $kernel_release, base.qcow2 ${size} MB) in ${elapsed} s"
