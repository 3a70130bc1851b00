#!/usr/bin/env bash
# deb_package_test.sh BUILD_DIR SOURCE_DIR: makes the Debian package from the build tree
# (cpack -G DEB with BUILD_DIR's CPackConfig.cmake) into BUILD_DIR/deb/, where deb_install_test.sh
# takes it, and checks it: the control fields (version = berth --version's, Section admin, the
# relations), that Depends names the package of every library the binaries link (read with
# objdump, found with dpkg -S), the files (binaries stripped, berth-authz static, completions, the
# man page, every doc of docs/, copyright, changelog.Debian.gz), then lintian: an error fails, the
# warnings are counted. Exit 77 (ctest: skipped) when a tool is missing (scripts/install-deps
# installs them).
set -u
start=$SECONDS
build=$(realpath "$1")
src=$(realpath "$2")
out="$build/deb"

skip() { echo "skipped: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
for tool in cpack dpkg-deb dpkg-shlibdeps objdump file lintian; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/install-deps installs it)"
done

rm -rf "$out"
mkdir -p "$out"
t=$SECONDS
# gzip instead of the package's xz: the same package, made in a sixth of the CPU time (xz is most
# of cpack's time; CI is short of it).
cpack -G DEB -D CPACK_DEBIAN_COMPRESSION_TYPE=gzip --config "$build/CPackConfig.cmake" -B "$out" \
    >"$out/cpack.log" 2>&1 ||
    { tail -n 30 "$out/cpack.log"; fail "cpack -G DEB"; }
cpack_s=$((SECONDS - t))
debs=("$out"/berth_*.deb)
[ ${#debs[@]} = 1 ] && [ -f "${debs[0]}" ] || fail "cpack made no berth_*.deb in $out"
deb=${debs[0]}
echo "made $(basename "$deb"): $(stat -c %s "$deb") bytes in ${cpack_s} s"
rm -rf "$out/_CPack_Packages"

failures=0
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }
field() { dpkg-deb -f "$deb" "$1"; }

# --- control fields ------------------------------------------------------------------------------
dpkg-deb -I "$deb" control | sed 's/^/  control: /'
version=$("$build/berth" --version | sed -n 's/^berth version \([^,]*\),.*/\1/p')
[ -n "$version" ] || bad "cannot read the version from berth --version"
[ "$(field Version)" = "$version-1" ] || bad "Version $(field Version), want $version-1 (berth --version)"
[ "$(field Package)" = berth ] || bad "Package $(field Package)"
[ "$(field Section)" = admin ] || bad "Section $(field Section), want admin"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || bad "Architecture $(field Architecture)"
[ -n "$(field Maintainer)" ] || bad "no Maintainer"
[ -n "$(field Description)" ] || bad "no Description"
depends=$(field Depends)
# A package name in a relation field: its entries, without versions or architectures.
names() { tr ',|' '\n\n' <<<"$1" | sed 's/(.*//; s/:.*//; s/ //g' | grep .; }
for want in gpgv libc6; do
    names "$depends" | grep -qx "$want" || bad "Depends lacks $want: $depends"
done
for want in libvirt-daemon-system qemu-system-x86 genisoimage openssh-client; do
    names "$(field Recommends)" | grep -qx "$want" || bad "Recommends lacks $want"
done

# --- files ---------------------------------------------------------------------------------------
root="$out/root"
dpkg-deb -x "$deb" "$root" || fail "dpkg-deb -x"
for path in usr/bin/berth usr/lib/berth/berth-authz usr/share/man/man1/berth.1.gz \
            usr/share/bash-completion/completions/berth usr/share/zsh/vendor-completions/_berth \
            usr/share/fish/vendor_completions.d/berth.fish usr/share/doc/berth/copyright \
            usr/share/doc/berth/changelog.Debian.gz usr/share/doc/berth/README.md \
            usr/share/doc/berth/drivers/generic/README.md usr/share/lintian/overrides/berth; do
    [ -f "$root/$path" ] || bad "the package lacks /$path"
done
while IFS= read -r doc; do
    [ -f "$root/usr/share/doc/berth/docs/$doc" ] || bad "the package lacks docs/$doc"
done < <(cd "$src/docs" && find . -name '*.md' | sed 's|^\./||')
for bin in usr/bin/berth usr/lib/berth/berth-authz; do
    file -b "$root/$bin" | grep -q ', stripped' || bad "/$bin is not stripped: $(file -b "$root/$bin")"
done
objdump -p "$root/usr/lib/berth/berth-authz" | grep -q NEEDED && bad "berth-authz links shared libraries"
# Every library berth links (NEEDED, at the path the loader finds it) comes from a package that
# Depends names, or that provides a name Depends names (libspdlog1.10 provides libspdlog1.10-fmt9).
needed=$(objdump -p "$root/usr/bin/berth" | awk '$1 == "NEEDED" { print $2 }')
[ -n "$needed" ] || bad "objdump finds no NEEDED library in berth"
ldd "$root/usr/bin/berth" | awk '$2 == "=>" { print $1, $3 }' >"$out/ldd.txt"
# One dpkg -S for all the paths (each call reads dpkg's whole file list); a path dpkg does not know
# (merged /usr) is tried again under /usr.
paths=$(awk 'NR == FNR { need[$1] = 1; next } ($1 in need) { print $2 }' <(tr ' ' '\n' <<<"$needed") "$out/ldd.txt")
dpkg -S $paths $(sed 's|^|/usr|' <<<"$paths") 2>/dev/null | grep -v '^diversion' >"$out/owners.txt"
for lib in $needed; do
    path=$(awk -v l="$lib" '$1 == l { print $2 }' "$out/ldd.txt")
    owner=$(awk -v p="$path" -v u="/usr$path" '$NF == p || $NF == u { sub(/:.*/, "", $1); print $1; exit }' \
            "$out/owners.txt")
    if [ -z "$owner" ]; then bad "no package of this host holds $lib (NEEDED by berth, at '$path')"; continue; fi
    provided=$(dpkg-query -W -f='${Provides}' "$owner" 2>/dev/null)
    if ! names "$owner, $provided" | grep -qxFf <(names "$depends"); then
        bad "berth links $lib (package $owner), which Depends lacks: $depends"
    fi
done
echo "Depends covers the $(wc -w <<<"$needed") libraries berth links"
zcat "$root/usr/share/doc/berth/changelog.Debian.gz" | head -n1 | grep -q "^berth ($version-1) " ||
    bad "changelog.Debian.gz's first entry is not berth ($version-1)"
echo "files: $(dpkg-deb -c "$deb" | grep -vc '/$') in the package"

# --- lintian -------------------------------------------------------------------------------------
t=$SECONDS
lintian --fail-on error --display-info "$deb" >"$out/lintian.txt" 2>&1
lintian_rc=$?
sed 's/^/  lintian: /' "$out/lintian.txt"
errors=$(grep -c '^E: ' "$out/lintian.txt")
warnings=$(grep -c '^W: ' "$out/lintian.txt")
infos=$(grep -c '^I: ' "$out/lintian.txt")
echo "lintian: $errors error(s), $warnings warning(s), $infos info(s) in $((SECONDS - t)) s"
[ "$lintian_rc" = 0 ] && [ "$errors" = 0 ] || bad "lintian reports errors (exit $lintian_rc)"

echo "timing: total $((SECONDS - start)) s"
[ "$failures" = 0 ] || fail "$failures check(s) failed"
echo "PASS: $(basename "$deb")"
