#!/usr/bin/env bash
# End-to-end: `berth apply` of a fleet of 3 libvirt VMs (TCG) from the baked image, with
# --parallel 2. Run by ctest (label e2e) as   fleet_e2e.sh /path/to/berth
# Steps: libvirtd -> the baked image (bake_e2e.sh leaves it cached; baked here when missing) ->
# apply a spec of one machine per student (CSV: alice, bob, carol), bundles written -> each VM
# answers over TLS under its own CA, and refuses the others' certificates -> a second apply
# changes nothing -> one machine's engine-opt changed: only that machine is re-provisioned -> a
# student's bundle opens that student's VM and no other -> a revoked certificate is refused by
# the host -> swarm: the three are one Docker Swarm (docker node ls on the manager: 3 Ready), the
# swarm ports open to the peers only, docker not restarted for it, a second apply joins nothing
# -> carol dropped from the CSV: apply --prune removes her machine only.
set -euo pipefail

berth=$(readlink -f "${1:?usage: fleet_e2e.sh BERTH_BINARY}")
here=$(cd "$(dirname "$0")" && pwd)
export BERTH_STORAGE_PATH="${BERTH_E2E_CACHE:-/var/cache/berth-e2e}/libvirt-store"
uri=qemu:///system
baked=debian-12-docker
work=$(mktemp -d /tmp/berth-e2e-fleet.XXXXXX)
export DOCKER_CONFIG="$work/docker-config"
unset DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_MACHINE_NAME DOCKER_CONTEXT
students=(alice bob carol)
passed=0
started=$SECONDS
started_daemons=()

step() { printf '\n[e2e %4ds] %s\n' $((SECONDS - started)) "$*"; }
ok() { passed=$((passed + 1)); printf '  ok: %s\n' "$*"; }
fail() { printf '  FAILED: %s\n' "$*" >&2; exit 1; }
vm() { printf 'fe2e-%s' "$1"; }
cleanup() {
  rc=$?
  if [ $rc -ne 0 ]; then echo "e2e: $passed passed, 1 failed" >&2; else echo "e2e: $passed passed, 0 failed"; fi
  for s in "${students[@]}"; do "$berth" rm -y -f "$(vm "$s")" >/dev/null 2>&1 || true; done
  "$here/../../scripts/start-libvirtd" --stop "${started_daemons[@]}" || true
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
# shellcheck source=checks.sh
. "$here/checks.sh"

# The spec: one machine per CSV row, from the baked image, small guests. $1: extra group lines,
# $2: extra top-level lines.
write_spec() {
  cat >"$work/fleet.yaml" <<EOF
version: 1
fleet: e2e-fleet
defaults:
  driver: libvirt
  libvirt-uri: $uri
  libvirt-virt-type: qemu
  libvirt-memory: 1024
  libvirt-cpu-count: 1
  libvirt-disk-size: 8
  libvirt-data-disk-size: 0
  libvirt-image: $baked
groups:
  - name: students
    users: students.csv
    pattern: "fe2e-{user}"
${1:-}
${2:-}
EOF
}
apply() {  # apply ARGS...; output in $work/apply.out
  "$berth" apply -f "$work/fleet.yaml" --progress=plain "$@" >"$work/apply.out" 2>&1 || {
    tail -n 60 "$work/apply.out" >&2
    return 1
  }
  grep -E '^Plan:|^[-+~=!]' "$work/apply.out" | sed 's/^/  /' || true
}
plan_line() { grep -E '^Plan:' "$work/apply.out" | tail -1; }
# docker with one set of client files against one machine: docker_as CERT_DIR MACHINE ARGS...
docker_as() {
  local certs=$1 machine=$2
  shift 2
  DOCKER_HOST="tcp://$("$berth" ip "$machine"):2376" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$certs" \
    timeout 60 docker "$@"
}
certs_of() { printf '%s/machines/%s/certs' "$BERTH_STORAGE_PATH" "$1"; }

step "libvirtd and the baked image"
daemons=$("$here/../../scripts/start-libvirtd" "$uri") || true
for daemon in $daemons; do started_daemons+=("$daemon"); done
virsh -c "$uri" version >/dev/null || fail "libvirtd does not answer at $uri"
if ! "$berth" image ls -q | grep -x "$baked" >/dev/null; then
  if ! "$berth" image ls -q | grep -x debian-12 >/dev/null; then "$berth" image build debian-12; fi
  "$berth" image bake debian-12 --as "$baked" --libvirt-uri "$uri" --libvirt-virt-type qemu --libvirt-memory 1536
fi
for s in "${students[@]}"; do "$berth" rm -y -f "$(vm "$s")" >/dev/null 2>&1 || true; done
ok "$baked cached"

step "apply: 3 VMs, --parallel 2, bundles written"
{ echo user; printf '%s\n' "${students[@]}"; } >"$work/students.csv"
write_spec
t0=$SECONDS
apply --parallel 2 --bundles-dir "$work/bundles"
plan_line | grep -q '3 to create' || fail "the first plan does not create 3 machines: $(plan_line)"
for s in "${students[@]}"; do
  [ "$("$berth" status "$(vm "$s")")" = Running ] || fail "$(vm "$s") is not running"
  [ -f "$work/bundles/$s.tar.gz" ] || fail "no bundle for $s"
done
ok "3 machines ready in $((SECONDS - t0))s; bundles for ${students[*]}"
for s in "${students[@]}"; do check_docker_started_once "$(vm "$s")"; done

step "each VM answers over TLS under its own CA, and refuses the others' certificates"
fps=()
for s in "${students[@]}"; do
  m=$(vm "$s")
  docker_as "$(certs_of "$m")" "$m" version --format '{{.Server.Version}}' >/dev/null || fail "$m does not answer its own client"
  fps+=("$(openssl x509 -noout -fingerprint -sha256 -in "$(certs_of "$m")/ca.pem")")
done
[ "$(printf '%s\n' "${fps[@]}" | sort -u | wc -l)" = 3 ] || fail "the machines do not have three different CAs"
if docker_as "$(certs_of "$(vm alice)")" "$(vm bob)" version >/dev/null 2>&1; then fail "bob's VM accepted alice's VM's client"; fi
if docker_as "$(certs_of "$(vm bob)")" "$(vm carol)" version >/dev/null 2>&1; then fail "carol's VM accepted bob's VM's client"; fi
ok "three CAs; a machine's client is refused by the others"

step "a second apply changes nothing"
t0=$SECONDS
apply --parallel 2
plan_line | grep -Eq '0 to create, 0 to change, 0 to remove, 3 unchanged' || fail "the second plan is not empty: $(plan_line)"
ok "converged: $(plan_line) in $((SECONDS - t0))s"

step "one machine's engine-opt changed: only that machine is re-provisioned"
write_spec "    machines:
      $(vm bob): {engine-opt: [log-level=warn]}"
before_alice=$("$berth" ssh "$(vm alice)" -- sudo -n systemctl show docker -p ActiveEnterTimestamp)
apply --parallel 2
plan_line | grep -Eq '0 to create, 1 to change, 0 to remove, 2 unchanged' || fail "the plan is not one change: $(plan_line)"
grep -E '^~ ' "$work/apply.out" | grep -qw "$(vm bob)" || fail "the change is not bob's machine"
"$berth" ssh "$(vm bob)" -- sudo -n cat /etc/docker/daemon.json | grep -q '"log-level": *"warn"' ||
  fail "bob's daemon.json has no log-level warn"
[ "$("$berth" ssh "$(vm alice)" -- sudo -n systemctl show docker -p ActiveEnterTimestamp)" = "$before_alice" ] ||
  fail "alice's docker restarted"
ok "only $(vm bob) re-provisioned (log-level warn); alice's docker untouched"

step "a student's bundle opens that student's VM and no other"
mkdir -p "$work/alice"
tar -xzf "$work/bundles/alice.tar.gz" -C "$work/alice"
acerts=$(dirname "$(find "$work/alice" -name cert.pem | head -1)")
[ -f "$acerts/ca.pem" ] && [ -f "$acerts/key.pem" ] || fail "alice's bundle lacks ca.pem or key.pem"
if find "$work/alice" -name 'ca-key*' | grep . >/dev/null; then fail "the bundle holds a CA key"; fi
openssl x509 -noout -subject -in "$acerts/cert.pem" | grep -q 'CN *= *alice' || fail "alice's certificate is not CN=alice"
docker_as "$acerts" "$(vm alice)" ps >/dev/null || fail "alice's bundle does not open her VM"
if docker_as "$acerts" "$(vm bob)" ps >/dev/null 2>&1; then fail "alice's bundle opens bob's VM"; fi
ok "alice's bundle (CN=alice, no CA key) opens $(vm alice), not $(vm bob)"

step "a revoked certificate is refused by the host"
"$berth" certs revoke "$(vm alice)" alice
"$berth" certs ls "$(vm alice)"
if docker_as "$acerts" "$(vm alice)" ps >"$work/revoked.out" 2>&1; then fail "the revoked certificate still works"; fi
cat "$work/revoked.out" | sed 's/^/  /'
docker_as "$(certs_of "$(vm alice)")" "$(vm alice)" ps >/dev/null || fail "the owner's certificate no longer works"
ok "alice's revoked certificate refused; the owner's still works"

step "swarm: the fleet becomes one Docker Swarm"
bob_opt="    machines:
      $(vm bob): {engine-opt: [log-level=warn]}"
swarm_spec="swarm:
  managers: [$(vm alice)]"
write_spec "$bob_opt" "$swarm_spec"
before_bob=$("$berth" ssh "$(vm bob)" -- sudo -n systemctl show docker -p ActiveEnterTimestamp)
t0=$SECONDS
apply --parallel 2
grep -E '^Swarm' "$work/apply.out" | sed 's/^/  /'
plan_line | grep -Eq '0 to create, 0 to change, 0 to remove, 3 unchanged' || fail "swarm: changed the machines' plan: $(plan_line)"
grep -q '^Swarm: 3 nodes ready, manager '"$(vm alice)"'; initialised on '"$(vm alice)" "$work/apply.out" ||
  fail "the apply did not report a swarm of 3 initialised on $(vm alice)"
docker_as "$(certs_of "$(vm alice)")" "$(vm alice)" node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}' \
  >"$work/nodes.out" || fail "docker node ls on the manager failed"
sed 's/^/  /' "$work/nodes.out"
[ "$(grep -c ' Ready' "$work/nodes.out")" = 3 ] || fail "docker node ls does not list 3 Ready nodes"
grep -q "^$(vm alice) Ready Leader" "$work/nodes.out" || fail "$(vm alice) is not the swarm's leader"
bob_ip=$("$berth" ip "$(vm bob)")
"$berth" ssh "$(vm alice)" -- sudo -n nft list ruleset >"$work/nft.out"
grep -E '2377' "$work/nft.out" | grep -q "$bob_ip" || fail "alice's firewall does not open 2377 to bob ($bob_ip)"
if grep -E '2377' "$work/nft.out" | grep -Eq 'accept$' && ! grep -E '2377' "$work/nft.out" | grep -q 'saddr'; then
  fail "alice's firewall opens 2377 to everyone"
fi
[ "$("$berth" ssh "$(vm bob)" -- sudo -n systemctl show docker -p ActiveEnterTimestamp)" = "$before_bob" ] ||
  fail "bob's docker restarted for the swarm"
ok "3 nodes Ready, $(vm alice) the leader, 2377 open to the peers only, no docker restart, in $((SECONDS - t0))s"

step "a second apply with swarm: joins nothing, changes nothing"
apply --parallel 2
grep -E '^Swarm' "$work/apply.out" | sed 's/^/  /'
grep -q '^Swarm: 3 nodes ready, manager '"$(vm alice)"'\.$' "$work/apply.out" || fail "the second apply changed the swarm"
plan_line | grep -Eq '3 unchanged' || fail "the second plan is not empty: $(plan_line)"
ok "swarm converged: nothing joined, nothing provisioned"

step "--prune removes a machine dropped from the spec"
{ echo user; echo alice; echo bob; } >"$work/students.csv"
apply --parallel 2 --prune
grep -E '^Swarm|warning' "$work/apply.out" | sed 's/^/  /' || true
plan_line | grep -Eq '1 to remove' || fail "the plan does not remove carol's machine: $(plan_line)"
if "$berth" ls -q | grep -x "$(vm carol)" >/dev/null; then fail "$(vm carol) is still in the store"; fi
if virsh -c "$uri" list --all --name | grep -x "berth-$(vm carol)" >/dev/null; then fail "carol's domain is left"; fi
for s in alice bob; do [ "$("$berth" status "$(vm "$s")")" = Running ] || fail "$(vm "$s") is not running after the prune"; done
grep -q "^Swarm: 2 nodes ready, manager $(vm alice); removed: $(vm carol)" "$work/apply.out" ||
  fail "the apply did not remove $(vm carol) from the swarm"
docker_as "$(certs_of "$(vm alice)")" "$(vm alice)" node ls --format '{{.Hostname}} {{.Status}}' >"$work/nodes.out" ||
  fail "docker node ls on the manager failed"
sed 's/^/  /' "$work/nodes.out"
[ "$(wc -l <"$work/nodes.out")" = 2 ] && ! grep -q "$(vm carol)" "$work/nodes.out" || fail "the swarm still lists $(vm carol)"
ok "$(vm carol) removed (record, domain and swarm node); alice and bob kept"
