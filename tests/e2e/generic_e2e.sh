#!/usr/bin/env bash
# End-to-end: berth hardens a real Debian 12 guest (qemu TCG) through the generic driver, and the
# host's docker CLI uses it over mutual TLS. Run by ctest (label e2e) as
#   generic_e2e.sh /path/to/berth
# Steps, each one checked: image (cached) -> boot -> berth create -d generic (as the sudo user
# "docker") -> env -> docker version/info/import/run -> a client without a certificate is refused
# -> berth-authz refuses every request of issue 11's list with its message -> ordinary work passes
# berth-authz -> the SUID bind-mount exploit fails -> berth audit passes, names what a hand edit,
# a key chmod, auditctl -D and a SUID file break, --fix repairs -> berth provision changes nothing,
# dockerd and berth-authz keep their PIDs -> regenerate-certs keeps a running container running ->
# berth rm leaves the host running.
set -euo pipefail

berth=$(readlink -f "${1:?usage: generic_e2e.sh BERTH_BINARY}")
here=$(cd "$(dirname "$0")" && pwd)
guest="$here/guest"
cache="${BERTH_E2E_CACHE:-/var/cache/berth-e2e}"
name=berth-e2e-generic
ssh_port=${BERTH_E2E_SSH_PORT:-42022}
engine_port=${BERTH_E2E_ENGINE_PORT:-42376}
work=$(mktemp -d /tmp/berth-e2e-generic.XXXXXX)
export BERTH_STORAGE_PATH="$work/store"
unset DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_MACHINE_NAME
passed=0
started=$SECONDS

step() { printf '\n[e2e %4ds] %s\n' $((SECONDS - started)) "$*"; }
ok() { passed=$((passed + 1)); printf '  ok: %s\n' "$*"; }
fail() {
  printf '  FAILED: %s\n' "$*" >&2
  exit 1
}
cleanup() {
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "--- guest console (last 40 lines) ---" >&2
    tail -n 40 "${BERTH_E2E_STATE:-/tmp/berth-e2e}/$name/console.log" 2>/dev/null >&2 || true
    echo "--- dockerd journal (last 40 lines) ---" >&2
    ssh -F "${BERTH_E2E_STATE:-/tmp/berth-e2e}/$name/ssh_config" "$name" journalctl -u docker --no-pager -n 40 >&2 2>/dev/null || true
    echo "e2e: $passed passed, 1 failed" >&2
  else
    echo "e2e: $passed passed, 0 failed"
  fi
  "$guest/boot.sh" stop --name "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
# shellcheck source=checks.sh
. "$here/checks.sh"

step "guest image (built once, cached in $cache)"
"$guest/build-image.sh" --cache "$cache"
"$guest/busybox-image.sh" "$work/busybox.tar" >/dev/null
ok "image and busybox rootfs ready"

step "boot the guest (qemu TCG)"
"$guest/boot.sh" stop --name "$name" >/dev/null 2>&1 || true
"$guest/boot.sh" start --name "$name" --ssh-port "$ssh_port" --forward "$engine_port:$engine_port" --cache "$cache" \
  --data-disk 8
ok "guest answers SSH on 127.0.0.1:$ssh_port"
# As an ops team prepares a host before handing it over: /var/lib/docker on a disk of its own
# (CIS 1.1.1; berth's libvirt VMs get one from their seed). berth audit checks it.
ssh -F "${BERTH_E2E_STATE:-/tmp/berth-e2e}/$name/ssh_config" "$name" \
  'mkdir -p /var/lib/docker && echo "LABEL=docker-data /var/lib/docker ext4 defaults 0 2" >>/etc/fstab && mount /var/lib/docker && mountpoint /var/lib/docker'
ok "/var/lib/docker is on its own disk"

step "berth create -d generic (user docker, through sudo)"
"$berth" create -d generic \
  --generic-ip-address 127.0.0.1 --generic-ssh-port "$ssh_port" --generic-ssh-user docker \
  --generic-ssh-key "$cache/id_ed25519" --generic-engine-port "$engine_port" \
  --engine-label e2e=true "$name"
ok "created"
"$berth" ls
[ "$("$berth" status "$name")" = Running ] || fail "status is not Running"
"$berth" ls --format '{{.DockerVersion}}' | grep '^v20\.10' >/dev/null || fail "ls does not show the Docker version"
ok "ls shows it running with its Docker version"

step "eval \"\$(berth env)\"; docker version, info, import, run"
eval "$("$berth" env --shell bash "$name")"
[ "$DOCKER_HOST" = "tcp://127.0.0.1:$engine_port" ] || fail "DOCKER_HOST is $DOCKER_HOST"
docker version --format '{{.Server.Version}}' | grep 20.10 >/dev/null || fail "docker version"
check_security_options
docker info --format '{{json .Labels}}' | grep 'e2e=true' >/dev/null || fail "engine label missing"
ok "engine label present"
check_container "$work/busybox.tar"

step "only mutual TLS is accepted"
check_tls_only "127.0.0.1:$engine_port"

step "berth-authz refuses every request of issue 11's list, naming the rule"
check_authz_refuses

step "ordinary work passes berth-authz"
check_ordinary_work

step "the SUID bind-mount exploit fails"
check_suid_escape_fails

step "berth audit: passes, names each break, --fix repairs"
check_audit

step "per-user certificates: alice's bundle opens the host, revoked she is refused"
check_user_certs

step "berth provision on a clean host changes nothing and restarts nothing"
authz_state() { "$berth" ssh "$name" -- systemctl show -p MainPID -p ActiveEnterTimestampMonotonic berth-authz.service berth-authz.socket | tr '\n' ' '; }
pid_before=$("$berth" ssh "$name" -- pidof dockerd)
authz_before=$(authz_state)
prov=$("$berth" provision "$name")
echo "  $prov"
grep -q "no changes; nothing uploaded, nothing restarted (1 remote commands" <<<"$prov" || fail "provision changed something"
pid_after=$("$berth" ssh "$name" -- pidof dockerd)
[ "$pid_before" = "$pid_after" ] || fail "dockerd restarted ($pid_before -> $pid_after)"
authz_after=$(authz_state)
[ "$authz_before" = "$authz_after" ] || fail "berth-authz restarted ($authz_before -> $authz_after)"
ok "one remote command, dockerd PID $pid_after and berth-authz (service and socket) unchanged"

step "regenerate-certs keeps a running container running (live-restore)"
docker run -d --name keeper e2e/busybox:1 sleep 3600 >/dev/null
started_at=$(docker inspect -f '{{.State.StartedAt}}' keeper)
"$berth" regenerate-certs -f "$name"
eval "$("$berth" env --shell bash "$name")"
[ "$(docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' keeper)" = "true $started_at" ] ||
  fail "the container did not survive the daemon restart"
pid_regen=$("$berth" ssh "$name" -- pidof dockerd)
[ "$pid_regen" != "$pid_after" ] || fail "dockerd did not restart with the new certificate"
ok "dockerd restarted ($pid_after -> $pid_regen), container still running since $started_at"

step "berth rm forgets the machine and leaves the host running"
"$berth" rm -y "$name"
[ -z "$("$berth" ls -q)" ] || fail "the machine is still listed"
"$guest/boot.sh" status --name "$name" >/dev/null || fail "the host was stopped"
ok "removed from berth; the guest still runs"
