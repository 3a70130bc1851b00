#!/usr/bin/env bash
# Benchmark of golden images and fleets (issue 12, point 6), in one run:
#   1. berth image bake debian-12 --as debian-12-docker (skipped when the baked image is cached,
#      unless --rebake);
#   2. create-to-ready of one libvirt VM from debian-12 against one from the baked image, with
#      create's own phase timings (the "hardening" phase holds the package install);
#   3. ten VMs from the baked image with `berth apply --parallel 2`, against the same ten with
#      `berth apply --parallel 1` (one after another).
# Each VM is removed after it is measured. Guests run under TCG here (no KVM), so the figures are
# this host's; compare the rows, not the absolute values.
#
#   bench/fleet.sh [--rebake] [--no-fleet] [--count N] [BERTH_BINARY]
#     (default binary build/berth, with berth-authz beside it; needs root, libvirt and qemu)
#   BERTH_E2E_CACHE   where the e2e store with the cached debian-12 lives (/var/cache/berth-e2e)
#   BENCH_MEMORY      guest memory in MiB (default 1024)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rebake=0
fleet=1
count=10
while [ $# -gt 0 ]; do
  case "$1" in
    --rebake) rebake=1 ;;
    --no-fleet) fleet=0 ;;
    --count) count=$2; shift ;;
    -*) echo "fleet.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
  shift
done
berth=$(readlink -f "${1:-$here/../build/berth}")
memory=${BENCH_MEMORY:-1024}
work=$(mktemp -d /tmp/berth-bench-fleet.XXXXXX)
# shellcheck source=lib.sh
. "$here/lib.sh"
trap cleanup_libvirt EXIT
declare -A secs
start_libvirt

if ! "$berth" image ls -q | grep -x "$base" >/dev/null; then "$berth" image build "$base"; fi

# 1. The bake.
if [ "$rebake" = 1 ]; then "$berth" image rm "$baked" >/dev/null 2>&1 || true; fi
if ! "$berth" image ls -q | grep -x "$baked" >/dev/null; then
  t0=$(now)
  "$berth" image bake "$base" --as "$baked" --libvirt-uri "$uri" --libvirt-virt-type qemu \
    --libvirt-memory 1536 2>"$work/bake.log" >/dev/null || { cat "$work/bake.log" >&2; exit 1; }
  row "bake $base --as $baked" "$(since "$t0") s"
  grep -o 'bake [a-z]*: [0-9.]* s' "$work/bake.log" | sed 's/^/  /' >&2 || true
else
  row "bake (cached; --rebake to measure)" "-"
fi

# 2. One create from each image.
create_one() {  # image name
  local image=$1 name=$2 t0 phases
  made+=("$name")
  t0=$(now)
  "$berth" create -d libvirt --libvirt-uri "$uri" --libvirt-virt-type qemu --libvirt-memory "$memory" \
    --libvirt-data-disk-size 0 --libvirt-image "$image" "$name" 2>"$work/$name.log" >/dev/null ||
    { cat "$work/$name.log" >&2; exit 1; }
  secs[$image]=$(since "$t0")
  row "create-to-ready from $image" "${secs[$image]} s"
  phases=$(grep -o 'Time: .*' "$work/$name.log" | tail -1)
  echo "  $phases" >&2
  rows+=("  ${phases}")
  "$berth" rm -y "$name" >/dev/null
}
create_one "$base" bench-plain
create_one "$baked" bench-baked
row "  ratio: from $base / from $baked" "$(ratio "${secs[$base]}" "${secs[$baked]}")"

# 3. Ten from the baked image, two at a time and one after another.
if [ "$fleet" = 1 ]; then
  if ! "$berth" apply --help >/dev/null 2>&1; then
    row "apply: this berth has no apply verb; fleet rows skipped" "-"
  else
    spec="$work/fleet.yaml"
    last=$(printf '%02d' "$count")
    cat >"$spec" <<EOF
version: 1
fleet: bench
defaults:
  driver: libvirt
  libvirt-uri: $uri
  libvirt-virt-type: qemu
  libvirt-memory: $memory
  libvirt-data-disk-size: 0
  libvirt-image: $baked
groups:
  - name: vms
    count: $count
    pattern: "bench-{01..$last}"
EOF
    for i in $(seq -w 1 "$count"); do made+=("bench-$i"); done
    for parallel in 2 1; do
      t0=$(now)
      "$berth" apply -f "$spec" --parallel "$parallel" --progress=plain >"$work/apply-$parallel.log" 2>&1 ||
        { tail -n 40 "$work/apply-$parallel.log" >&2; exit 1; }
      secs[parallel$parallel]=$(since "$t0")
      row "$count VMs from $baked, apply --parallel $parallel" "${secs[parallel$parallel]} s"
      for i in $(seq -w 1 "$count"); do "$berth" rm -y -f "bench-$i" >/dev/null 2>&1 || true; done
    done
    row "  ratio: --parallel 1 / --parallel 2" "$(ratio "${secs[parallel1]}" "${secs[parallel2]}")"
  fi
fi

echo
echo "berth bench/fleet.sh on $(nproc) cores, guests under $(guest_kind), $memory MiB each"
printf '%s\n' "${rows[@]}"
