#!/usr/bin/env bash
# deb_install_test.sh DEB_DIR: the .deb that deb_package_test.sh left in DEB_DIR installs into a
# clean Debian 12 tree with apt-get, its Depends resolved from this host's mirror (without
# Recommends: the Depends alone must be enough), and there `berth version` and
# `berth create -d none NAME` work, and every name in Recommends and Suggests exists in the mirror.
#
# The tree: debootstrap --variant=minbase bookworm from the mirror of this host's apt sources,
# cached as a tarball in ${BERTH_E2E_CACHE:-/var/cache/berth-e2e}/deb-base/ (keyed by suite and
# mirror, rebuilt after 30 days) and extracted into a fresh temporary directory on every run (in
# /dev/shm when it can), so each run starts clean. apt starts from the host's package lists (the
# same sources) and runs apt-get update only when they are stale; the .debs it downloads are kept
# beside the tarball for the next run. Nothing is mounted in the tree (berth and apt need no /proc
# here). Prints the time of each phase.
# Exit 77 (ctest: skipped) when it cannot run: not root, a tool missing (scripts/install-deps
# installs them), no .deb (deb_package skipped), or no tree cached and the mirror unreachable.
set -u
start=$SECONDS
suite=bookworm
deb_dir=$1
cache=${BERTH_E2E_CACHE:-/var/cache/berth-e2e}/deb-base

skip() { echo "skipped: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, chroot)"
for tool in debootstrap chroot dpkg-deb flock curl tar; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/install-deps installs it)"
done
debs=("$deb_dir"/berth_*.deb)
# deb_package (the ctest fixture this test requires) makes it; it made none when it was skipped.
[ -f "${debs[0]}" ] || skip "no berth_*.deb in $deb_dir: deb_package did not make one"
[ ${#debs[@]} = 1 ] || fail "more than one berth_*.deb in $deb_dir"
deb=${debs[0]}

# The first mirror this host's apt sources list for $suite (one-line or deb822 format).
host_mirror() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        sed -E 's/\[[^]]*\]//' "$f" | awk -v s="$suite" '$1 == "deb" && $3 == s { print $2; exit }'
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" }
            { uri = ""; ok = 0; deb = 0
              for (i = 1; i <= NF; i++) {
                  if ($i ~ /^Types:/) { n = split($i, w, " "); for (j = 2; j <= n; j++) if (w[j] == "deb") deb = 1 }
                  if ($i ~ /^URIs:/) { split($i, w, " "); uri = w[2] }
                  if ($i ~ /^Suites:/) { n = split($i, w, " "); for (j = 2; j <= n; j++) if (w[j] == s) ok = 1 }
              }
              if (ok && deb && uri != "") { print uri; exit } }' "$f"
    done
}
mirror=$(host_mirror | head -n1)
mirror=${mirror%/}
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian

mkdir -p "$cache/archives"
exec 9>"$cache/.lock"
flock 9  # one run at a time builds the tree and writes the cache
key=$(printf '%s %s minbase v1' "$suite" "$mirror" | sha256sum | cut -c1-12)
tarball="$cache/$suite-minbase-$key.tar"
find "$cache" -maxdepth 1 -name "$suite-minbase-*.tar" -mtime +30 -delete

# The tree lives in memory when it can (/dev/shm, unless mounted noexec): extracting and removing
# it there takes a second instead of tens on a busy disk.
scratch=/var/tmp
[ -w /dev/shm ] && ! findmnt -no OPTIONS /dev/shm 2>/dev/null | grep -qw noexec && scratch=/dev/shm
tmp=$(mktemp -d "$scratch/berth-deb-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root="$tmp/root"
mkdir "$root"

if [ ! -s "$tarball" ]; then
    curl -fsS --max-time 20 -o /dev/null "$mirror/dists/$suite/Release" ||
        skip "the mirror $mirror cannot be reached and no base tree is cached ($tarball)"
    echo "building the $suite base tree from $mirror (cached for the next runs)"
    t=$SECONDS
    debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$tmp/debootstrap.log" 2>&1 ||
        { tail -n 20 "$tmp/debootstrap.log"; fail "debootstrap $suite from $mirror"; }
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*_*
    tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball" || fail "cannot write $tarball"
    echo "base tree: debootstrap $((SECONDS - t)) s"
else
    tar -C "$root" -xf "$tarball" || fail "cannot extract $tarball"
fi

# The host's sources (suites, security, keyrings by path) and their lists, its resolver, the
# cached .debs.
rm -f "$root/etc/apt/sources.list"
cp /etc/apt/sources.list "$root/etc/apt/" 2>/dev/null
cp /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/" 2>/dev/null
cp /var/lib/apt/lists/*_dists_* "$root/var/lib/apt/lists/" 2>/dev/null
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
cp "$cache"/archives/*.deb "$root/var/cache/apt/archives/" 2>/dev/null
cp "$deb" "$root/tmp/"

in_root() { chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
                DEBIAN_FRONTEND=noninteractive "$@"; }

# With the host's lists first; when they are stale (a version the mirror no longer has), again
# after apt-get update.
install() {
    in_root apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-unsafe-io \
        "/tmp/$(basename "$deb")" >"$tmp/install.log" 2>&1
}
prepare_s=$((SECONDS - start))
t=$SECONDS
update_s=0
if ! install; then
    u=$SECONDS
    in_root apt-get update -q >"$tmp/update.log" 2>&1 ||
        { cat "$tmp/update.log"; skip "apt-get update in the tree failed (mirror $mirror)"; }
    update_s=$((SECONDS - u))
    install || { tail -n 30 "$tmp/install.log"; fail "apt-get install of $(basename "$deb") into a clean $suite tree"; }
fi
install_s=$((SECONDS - t - update_s))
grep -E '^(Get|Unpacking|Setting up)' "$tmp/install.log" | grep -c '^Setting up' | xargs echo "packages set up:"
# Keep this run's .debs (and only those) for the next run.
rm -f "$cache"/archives/*.deb
cp "$root"/var/cache/apt/archives/*.deb "$cache/archives/" 2>/dev/null

failures=0
check() {  # check LABEL COMMAND...: runs COMMAND in the tree, shows its output, counts a failure
    local label=$1 out
    shift
    if out=$(in_root "$@" 2>&1); then
        echo "ok: $label: $(head -n3 <<<"$out" | tr '\n' ' ')"
    else
        echo "FAIL: $label: $out"
        failures=$((failures + 1))
    fi
}
check "berth version" sh -c 'berth version | grep -x "berth version [0-9][0-9.]*, build .*"'
check "berth --version" sh -c 'berth --version | grep "^berth version "'
check "create -d none" berth create -d none --url tcp://10.1.2.3:2376 m1
check "ls -q lists m1" sh -c 'test "$(berth ls -q)" = m1'
check "url of m1" sh -c 'test "$(berth url m1)" = tcp://10.1.2.3:2376'
check "berth-authz installed" test -x /usr/lib/berth/berth-authz
check "man page installed" sh -c 'zcat /usr/share/man/man1/berth.1.gz | grep -q "^\.TH BERTH 1 "'
check "bash completion installed" grep -q "complete -F _berth berth" /usr/share/bash-completion/completions/berth
# Recommends and Suggests are not installed here; each name must still be a package of the mirror.
wanted=$(dpkg-deb -f "$deb" Recommends Suggests | sed 's/^[A-Za-z]*://' | tr ',|' '\n\n' | sed 's/(.*//; s/ //g' | grep .)
known=$(in_root apt-cache show --no-all-versions $wanted 2>&1 | sed -n 's/^Package: //p')
for name in $wanted; do
    if grep -qx "$name" <<<"$known"; then echo "ok: Recommends/Suggests $name is a package of the mirror"
    else echo "FAIL: Recommends/Suggests $name is not a package of the mirror"; failures=$((failures + 1)); fi
done

echo "timing: total $((SECONDS - start)) s (tree ready ${prepare_s} s, apt-get update ${update_s} s, install ${install_s} s)"
[ "$failures" = 0 ] || fail "$failures check(s) failed"
echo "PASS: $(basename "$deb") installs into a clean $suite tree and runs"
