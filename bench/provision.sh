#!/usr/bin/env bash
# Benchmark: one full provision of a fresh Debian 12 guest (berth create -d generic) and one
# no-drift re-provision (berth provision), each with the SSH connections the guest's sshd
# accepted (counted from its own log, not from berth), the remote commands berth ran, and the
# wall time. docker-machine opens 19-20 SSH connections for one provision; berth opens one.
#
#   bench/provision.sh [BERTH_BINARY]      (default: build/berth; needs root, qemu, debootstrap)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
berth=$(readlink -f "${1:-$here/../build/berth}")
guest="$here/../tests/e2e/guest"
cache="${BERTH_E2E_CACHE:-/var/cache/berth-e2e}"
name=berth-bench
ssh_port=43022
engine_port=43376
work=$(mktemp -d /tmp/berth-bench.XXXXXX)
export BERTH_STORAGE_PATH="$work/store"
unset DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH
trap '"$guest/boot.sh" stop --name "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

"$guest/build-image.sh" --cache "$cache" >/dev/null
"$guest/boot.sh" start --name "$name" --ssh-port "$ssh_port" --forward "$engine_port:$engine_port" --cache "$cache" >/dev/null
cfg="${BERTH_E2E_STATE:-/tmp/berth-e2e}/$name/ssh_config"
accepted() { ssh -F "$cfg" "$name" "journalctl -u ssh --no-pager -o cat | grep -c 'Accepted publickey'" 2>/dev/null || echo 0; }

measure() {  # label, then the berth command; prints one row
  local label=$1; shift
  local before after t0 t1 out
  before=$(accepted)
  t0=$(date +%s.%N)
  out=$("$berth" "$@" 2>&1)
  t1=$(date +%s.%N)
  after=$(accepted)
  # Our own counting connection above is one of them; it is not berth's.
  local conns=$((after - before - 1))
  local cmds
  cmds=$(grep -o '([0-9]* remote commands' <<<"$out" | grep -o '[0-9]*' | tail -1)
  printf '%-34s %16s %16s %12.1f\n' "$label" "$conns" "${cmds:-?}" "$(awk "BEGIN{print $t1 - $t0}")"
}

printf '%-34s %16s %16s %12s\n' "run" "SSH connections" "remote commands" "wall s"
measure "create -d generic (full provision)" create -d generic --generic-ip-address 127.0.0.1 \
  --generic-ssh-port "$ssh_port" --generic-ssh-user docker --generic-ssh-key "$cache/id_ed25519" \
  --generic-engine-port "$engine_port" "$name"
measure "provision (no drift)" provision "$name"
echo "docker-machine, for comparison: 19-20 SSH connections for one provision."
