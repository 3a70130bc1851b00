# Shared by the libvirt benchmarks (sourced by bench/create.sh and bench/fleet.sh): the e2e store,
# the images, the result rows, timing and ratio helpers. The caller sets $here, $berth and $work,
# and fills `made` with the machines to remove at exit.
# shellcheck shell=bash disable=SC2034 # the variables are the caller's
export BERTH_STORAGE_PATH="${BERTH_E2E_CACHE:-/var/cache/berth-e2e}/libvirt-store"
uri=qemu:///system
base=debian-12
baked=debian-12-docker
started_daemons=()
made=()
rows=()
unset DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH

# row LABEL VALUE: printed now (stderr) and again in the summary at the end.
row() { rows+=("$(printf '%-56s %10s' "$1" "$2")"); printf '%-56s %10s\n' "$1" "$2" >&2; }
# ratio A B: A/B to two decimals ("-" when either is missing or B is 0).
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN{ if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2fx", a / b }'; }
sum() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", a + b}'; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b - a}'; }
# Starts libvirtd when nothing answers at $uri; cleanup_libvirt stops what this started.
start_libvirt() {
  local daemons d
  daemons=$("$here/../scripts/start-libvirtd" "$uri") || true
  for d in $daemons; do started_daemons+=("$d"); done
}
# Removes the machines in `made`, stops the daemons start_libvirt started, removes $work.
cleanup_libvirt() {
  local m
  for m in "${made[@]}"; do "$berth" rm -y -f "$m" >/dev/null 2>&1 || true; done
  "$here/../scripts/start-libvirtd" --stop "${started_daemons[@]}" || true
  rm -rf "$work"
}
# guest_kind: "KVM" or "TCG", as the summary line says.
guest_kind() {
  virsh -c "$uri" capabilities 2>/dev/null | grep -q "<domain type='kvm'" && echo "KVM (unused: TCG forced)" || echo TCG
}
