#!/usr/bin/env bash
# Makes a minimal container root file system tarball for `docker import`, from the busybox of
# Debian's busybox-static package (no download, no registry):
#
#   busybox-image.sh OUT.tar
#   docker import -c 'CMD ["/bin/sh"]' OUT.tar e2e/busybox:1
#
# Contents: bin/busybox plus a symlink per applet (bin/sh, bin/ls, ...), etc/passwd, etc/group,
# root, tmp (1777), proc, sys, dev, mnt; every entry owned 0:0 (numeric). The tarball is
# reproducible: same busybox, same bytes (sorted names, fixed mtimes). OUT.tar is replaced
# atomically; running it again just rewrites the same file.
set -euo pipefail

readonly prog=busybox-image.sh
die() { echo "$prog: error: $*" >&2; exit 1; }

case "${1:-}" in
  -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  '') die "usage: $prog OUT.tar" ;;
esac
[ $# -eq 1 ] || die "usage: $prog OUT.tar"
out=$1
outdir=$(dirname -- "$out")
[ -d "$outdir" ] || die "directory $outdir does not exist"

busybox=/bin/busybox
dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' \
  || die "package busybox-static is not installed (scripts/install-deps --e2e installs it)"
[ -x "$busybox" ] || die "$busybox is missing although busybox-static is installed"
# A dynamically linked busybox would not run in an empty root file system.
if command -v readelf >/dev/null 2>&1 && readelf -l "$busybox" 2>/dev/null | grep -q 'Requesting program interpreter'; then
  die "$busybox is dynamically linked; the static one (busybox-static) is needed"
fi
version=$(dpkg-query -W -f '${Version}' busybox-static)

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-busybox.XXXXXX")
tmp_out=
cleanup() {
  rm -rf "$work"
  [ -z "$tmp_out" ] || rm -f "$tmp_out"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

root=$work/rootfs
mkdir -p "$root"/{bin,etc,dev,proc,sys,mnt}
install -d -m 700 "$root/root"
install -d -m 1777 "$root/tmp"
install -m 755 "$busybox" "$root/bin/busybox"
n=0
while read -r applet; do
  if [ -z "$applet" ] || [ "$applet" = busybox ]; then continue; fi
  [[ "$applet" =~ ^[A-Za-z0-9._\[-]+$ ]] || die "odd applet name '$applet'"
  ln -s busybox "$root/bin/$applet"
  n=$((n + 1))
done < <("$busybox" --list)
if [ "$n" -lt 50 ] || [ ! -e "$root/bin/sh" ]; then
  die "busybox --list gave only $n applets, or no sh"
fi
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
chmod 644 "$root/etc/passwd" "$root/etc/group"

tmp_out=$(mktemp "$outdir/.$(basename -- "$out").XXXXXX")
tar --sort=name --mtime=@0 --numeric-owner --owner=0 --group=0 --format=gnu \
  -C "$root" -cf "$tmp_out" . || die "tar failed"
chmod 644 "$tmp_out"
mv -f "$tmp_out" "$out"
tmp_out=
size=$(du -k --apparent-size "$out" | cut -f1)
echo "$prog: wrote $out (busybox-static $version, $n applets, ${size} KiB)"
