#!/usr/bin/env bash
# Benchmark: `berth ls` of 10, 100 and 1000 machines per driver, with the external calls it made
# and its wall time. ls asks each driver once for all its machines (VirtualBox: `list vms` and
# `list runningvms`; libvirt: one connection and one virConnectGetAllDomainStats per URI), so the
# call count is flat: the last column, calls at 1000 / calls at 10, is 1.0.
#
#   bench/ls.sh [BERTH_BINARY]      (default: build/berth; no VM is made, nothing needs root)
#
# virtualbox: the VBoxManage simulator (tests/fakes/VBoxManage) first on PATH; its state file is
#   written directly (N registered VMs, half running) and every call it answers is logged
#   (VBOXMANAGE_SIM_LOG): the calls are the log's lines.
# libvirt: libvirt's test driver with a config file of N domains (half running, half shut off),
#   test:///WORK/node-N.xml. The calls are libvirt's public API entries that reach the driver,
#   counted from libvirt's own client debug log (LIBVIRT_LOG_FILTERS=1:libvirt): every public
#   API logs its name at entry. Entries that only read or free the client's own objects
#   (virDomainGetName, virDomainFree, ...) and libvirt's internal setup (virGlobalInit,
#   virRegister*, virConnectOpenInternal) are not calls to the hypervisor and are not counted.
#
# The records: one is made by the binary (`berth create -d none`, which needs no VM) and copied N
# times with its name and its driver settings changed (virtualbox: a VM's uuid and its NAT
# forwards; libvirt: the URI and the domain). Each libvirt machine also keeps the address berth
# found for it (libvirt-address, written by the driver's ip(), as after create), which ls shows in
# its URL column instead of asking libvirt per machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
berth=$(readlink -f "${1:-$here/../build/berth}")
[[ -x $berth ]] || { echo "no berth binary at $berth (build it, or pass its path)" >&2; exit 2; }
work=$(mktemp -d /tmp/berth-bench-ls.XXXXXX)
trap 'rm -rf "$work"' EXIT
unset DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH LIBVIRT_DEFAULT_URI
export PATH="$here/../tests/fakes:$PATH"
sizes=(10 100 1000)

# One record made by the binary, the template of every copy.
"$berth" -s "$work/template" create -d none --url tcp://127.0.0.1:2376 tmpl >/dev/null 2>"$work/create.err" ||
  { cat "$work/create.err" >&2; exit 1; }

# make_store DRIVER N STORE [URI]: N copies of the template record, named m1..mN.
make_store() {
  python3 - "$@" "$work/template" <<'EOF'
import json, os, shutil, sys
driver, n, store, uri, template = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
src = os.path.join(template, "machines", "tmpl")
record = json.load(open(os.path.join(src, "machine.json")))
os.makedirs(os.path.join(store, "locks"), mode=0o700, exist_ok=True)
os.chmod(store, 0o700)
os.makedirs(os.path.join(store, "machines"), mode=0o700, exist_ok=True)
for i in range(1, n + 1):
    name = f"m{i}"
    dst = os.path.join(store, "machines", name)
    shutil.copytree(src, dst)
    r = dict(record, name=name, driver_name=driver)
    if driver == "virtualbox":
        r["driver"] = {"uuid": f"00000000-0000-4000-8000-{i:012d}", "ssh_port": 40000 + 2 * i,
                       "docker_port": 40001 + 2 * i, "ssh_user": "docker", "hostonly": False}
    else:
        r["driver"] = {"uri": uri, "domain": f"berth-{name}", "ssh_user": "docker"}
        if i % 2 == 1:  # running: the address ip() found, kept by the driver
            with open(os.path.join(dst, "libvirt-address"), "w") as f:
                f.write(f"192.168.{122 + i // 250}.{2 + i % 250}\n")
    with open(os.path.join(dst, "machine.json"), "w") as f:
        f.write(json.dumps(r, indent=2) + "\n")
EOF
}

# vbox_state N FILE: the simulator's state with VMs of uuids ...001 to N, the odd ones running.
vbox_state() {
  local one="$work/one"
  rm -rf "$one"; mkdir -p "$one"
  VBOXMANAGE_SIM_STATE="$one/s.json" VBoxManage createvm --name x --uuid 00000000-0000-4000-8000-000000000000 \
    --basefolder "$one/vms" --register >/dev/null
  python3 - "$1" "$2" "$one/s.json" "$work/vms" <<'EOF'
import copy, json, sys
n, out, one, folder = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
state = json.load(open(one))
vm = state["vms"][0]
state["vms"] = []
for i in range(1, n + 1):
    v = copy.deepcopy(vm)
    v["name"], v["uuid"] = f"m{i}", f"00000000-0000-4000-8000-{i:012d}"
    v["settings_file"] = f"{folder}/m{i}/m{i}.vbox"
    if i % 2 == 1:
        v["state"], v["session"] = "running", "headless"
    state["vms"].append(v)
json.dump(state, open(out, "w"))
EOF
}

# libvirt_node N FILE: a test driver config of domains berth-m1..berth-mN, the odd ones running.
libvirt_node() {
  {
    echo "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
    for ((i = 1; i <= $1; i++)); do
      local runstate=5
      ((i % 2 == 1)) && runstate=1
      echo "  <domain type='test'><name>berth-m$i</name><memory>1048576</memory><vcpu>1</vcpu>"
      printf "    <os><type>hvm</type></os><devices><interface type='user'><mac address='52:54:00:%02x:%02x:%02x'/></interface></devices>\n" \
        $((i >> 16 & 255)) $((i >> 8 & 255)) $((i & 255))
      echo "    <test:runstate>$runstate</test:runstate></domain>"
    done
    echo "</node>"
  } >"$2"
}

# libvirt's public API entries that reach the driver, from its debug log.
libvirt_calls() {
  grep -oE ': debug : vir[A-Za-z]+:' "$1" | sed -E 's/: debug : (vir[A-Za-z]+):/\1/' |
    grep -vxE 'virGlobalInit|virRegister[A-Za-z]*|virConnectOpenInternal|virDomainGetName|virDomainFree|virDomainRef|virConnectRef|virDomainGetUUID|virDomainGetUUIDString|virDomainGetID|virDomainGetConnect|virTypedParams[A-Za-z]*|virDomainStatsRecordListFree|virResetLastError|virGetLastError[A-Za-z]*|virFreeError|virSetErrorFunc' |
    wc -l
}

declare -A calls
printf '%-12s %9s %15s %14s\n' driver machines "external calls" "wall time (s)"
for driver in virtualbox libvirt; do
  for n in "${sizes[@]}"; do
    store="$work/$driver-$n"
    if [[ $driver == virtualbox ]]; then
      make_store virtualbox "$n" "$store" ""
      vbox_state "$n" "$work/vbox-$n.json"
      log="$work/vbox-$n.log"
      env_run=(env VBOXMANAGE_SIM_STATE="$work/vbox-$n.json" VBOXMANAGE_SIM_LOG="$log")
    else
      libvirt_node "$n" "$work/node-$n.xml"
      make_store libvirt "$n" "$store" "test://$work/node-$n.xml"
      log="$work/libvirt-$n.log"
      env_run=(env LIBVIRT_LOG_OUTPUTS="1:file:$log" LIBVIRT_LOG_FILTERS="1:libvirt 4:*")
    fi
    rm -f "$log"
    t0=$(date +%s.%N)
    "${env_run[@]}" "$berth" -s "$store" ls >"$work/ls.out" 2>"$work/ls.err" || { cat "$work/ls.err" >&2; exit 1; }
    t1=$(date +%s.%N)
    rows=$(($(wc -l <"$work/ls.out") - 1))
    running=$(grep -c ' Running ' "$work/ls.out" || true)
    if ((rows != n || running != (n + 1) / 2)); then
      echo "ls of $n $driver machines listed $rows ($running running): expected $n ($(((n + 1) / 2)) running)" >&2
      head -5 "$work/ls.out" >&2
      exit 1
    fi
    if [[ $driver == virtualbox ]]; then c=$(wc -l <"$log"); else c=$(libvirt_calls "$log"); fi
    calls[$driver-$n]=$c
    printf '%-12s %9d %15d %14.2f\n' "$driver" "$n" "$c" "$(awk "BEGIN{print $t1 - $t0}")"
  done
done
echo
for driver in virtualbox libvirt; do
  printf '%-12s calls at %d / calls at %d = %s\n' "$driver" "${sizes[-1]}" "${sizes[0]}" \
    "$(awk "BEGIN{printf \"%.1f\", ${calls[$driver-${sizes[-1]}]} / ${calls[$driver-${sizes[0]}]}}")"
done
