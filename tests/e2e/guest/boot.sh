#!/usr/bin/env bash
# Boots, stops and reports a throw-away Debian 12 guest for berth's end-to-end tests, made from the
# image of build-image.sh, under qemu TCG (no KVM), reachable over SSH on 127.0.0.1.
#
#   boot.sh start  --name NAME --ssh-port PORT [--forward HOSTPORT:GUESTPORT]... [--memory MiB]
#                  [--data-disk GiB] [--timeout SECONDS] [--cache DIR] [--state DIR]
#   boot.sh stop   --name NAME [--state DIR]
#   boot.sh status --name NAME [--state DIR]
#
#   --name NAME       the guest's name: letters, digits, '.', '_', '-'
#   --ssh-port PORT   host port (on 127.0.0.1) forwarded to the guest's port 22
#   --forward H:G     also forward 127.0.0.1:H to the guest's port G (TCP); repeatable, or H:G,H:G
#   --memory MiB      guest memory (default 1536)
#   --data-disk GiB   a second disk (/dev/vdb), sparse, formatted ext4 with the label docker-data
#                     (for /var/lib/docker on its own filesystem: CIS 1.1.1); default none
#   --timeout SECONDS how long start waits for SSH (default 180)
#   --cache DIR       the image cache (default: ${BERTH_E2E_CACHE:-/var/cache/berth-e2e})
#   --state DIR       where guests live; NAME's files go to DIR/NAME
#                     (default: ${BERTH_E2E_STATE:-/tmp/berth-e2e})
#
# start: makes DIR/NAME/disk.qcow2 (an overlay on the cache's base.qcow2), boots it daemonized and
#   waits until `ssh root@127.0.0.1 -p PORT true` works with the cache's id_ed25519. On timeout it
#   prints the end of the serial console and kills qemu. A NAME that is already running is an error.
# stop: kills qemu (SIGTERM, SIGKILL after 10 s) and removes DIR/NAME. Stopping a stopped NAME is fine.
# status: prints "running" (exit 0) or "stopped" (exit 3).
# Files in DIR/NAME: disk.qcow2, data.raw (--data-disk), console.log (serial console), qemu.log (qemu's stderr), qemu.pid,
# monitor.sock (qemu's HMP monitor), ssh-port, ssh_config (for `ssh -F DIR/NAME/ssh_config NAME`).
set -euo pipefail

readonly prog=boot.sh
die() { echo "$prog: error: $*" >&2; exit 1; }
note() { echo "$prog: $*"; }
usage() { sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; }

[ $# -ge 1 ] || { usage >&2; exit 2; }
action=$1; shift
case "$action" in
  start|stop|status) ;;
  -h|--help|help) usage; exit 0 ;;
  *) echo "$prog: error: unknown action '$action' (start, stop or status)" >&2; exit 2 ;;
esac

name=
ssh_port=
forwards=()
memory=1536
data_disk=0
timeout_s=180
cache=${BERTH_E2E_CACHE:-/var/cache/berth-e2e}
state_root=${BERTH_E2E_STATE:-/tmp/berth-e2e}
need_arg() { [ "$2" -ge 2 ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --name) need_arg "$1" $#; name=$2; shift 2 ;;
    --name=*) name=${1#*=}; shift ;;
    --ssh-port) need_arg "$1" $#; ssh_port=$2; shift 2 ;;
    --ssh-port=*) ssh_port=${1#*=}; shift ;;
    --forward) need_arg "$1" $#; IFS=, read -r -a f <<<"$2"; forwards+=("${f[@]}"); shift 2 ;;
    --forward=*) IFS=, read -r -a f <<<"${1#*=}"; forwards+=("${f[@]}"); shift ;;
    --memory) need_arg "$1" $#; memory=$2; shift 2 ;;
    --memory=*) memory=${1#*=}; shift ;;
    --data-disk) need_arg "$1" $#; data_disk=$2; shift 2 ;;
    --data-disk=*) data_disk=${1#*=}; shift ;;
    --timeout) need_arg "$1" $#; timeout_s=$2; shift 2 ;;
    --timeout=*) timeout_s=${1#*=}; shift ;;
    --cache) need_arg "$1" $#; cache=$2; shift 2 ;;
    --cache=*) cache=${1#*=}; shift ;;
    --state) need_arg "$1" $#; state_root=$2; shift 2 ;;
    --state=*) state_root=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[ -n "$name" ] || die "--name is required"
[[ "$data_disk" =~ ^[0-9]{1,3}$ ]] || die "bad --data-disk '$data_disk' (a size in GiB, 0 for none)"
[[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$ ]] \
  || die "bad --name '$name' (letters, digits, '.', '_', '-'; at most 63 characters)"
[ -n "$state_root" ] || die "the state directory is empty"
case "$state_root$cache" in *,*) die "paths with a ',' are not supported (qemu option syntax)" ;; esac
state_root=${state_root%/}
# Absolute paths: qemu -daemonize changes to /, and ssh_config names the key.
case "$state_root" in /*) ;; *) state_root=$PWD/$state_root ;; esac
case "$cache" in /*) ;; *) cache=$PWD/$cache ;; esac
state=$state_root/$name
pidfile=$state/qemu.pid

is_port() { [[ "$1" =~ ^[0-9]{1,5}$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ]; }

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Prints the pid of NAME's qemu if it is alive, else nothing (exit 1). The pid must still belong to
# a qemu started for this state dir (its command line names our pidfile), so a recycled pid is not
# taken for ours, and a zombie counts as gone.
live_pid() {
  local pid st
  [ -s "$pidfile" ] || return 1
  read -r pid <"$pidfile" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$pidfile" || return 1
  st=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ] || return 1
  echo "$pid"
}

# Waits (at most 5 s, best effort) until whoever reaps the daemonized qemu (init) has done so, so
# that nothing, not even a zombie, is listed once stop returns.
wait_reaped() {
  local i
  for ((i = 0; i < 50; i++)); do
    [ -e "/proc/$1" ] || return 0
    sleep 0.1
  done
}

# Pids of live processes whose command line has our pidfile as an argument (qemu of this NAME).
stray_pids() {
  local d pid
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    [ "$pid" != $$ ] || continue
    tr '\0' '\n' <"$d/cmdline" 2>/dev/null | grep -qxF "$pidfile" || continue
    [ "$(awk '{ print $3 }' "$d/stat" 2>/dev/null)" != Z ] || continue
    echo "$pid"
  done
}

# Kills NAME's qemu: SIGTERM, then SIGKILL after 10 s. Returns 1 if it would not die.
kill_qemu() {
  local pid i
  pid=$(live_pid) || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    live_pid >/dev/null || { wait_reaped "$pid"; return 0; }
    sleep 0.1
  done
  echo "$prog: qemu (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    live_pid >/dev/null || { wait_reaped "$pid"; return 0; }
    sleep 0.1
  done
  echo "$prog: error: qemu (pid $pid) is still alive after SIGKILL" >&2
  return 1
}

if [ "$action" = status ]; then
  if live_pid >/dev/null; then echo running; exit 0; fi
  echo stopped; exit 3
fi

# ---- start: check the arguments before taking the lock ---------------------------------------------
if [ "$action" = start ]; then
  [ -n "$ssh_port" ] || die "--ssh-port is required for start"
  is_port "$ssh_port" || die "bad --ssh-port '$ssh_port'"
  if ! [[ "$memory" =~ ^[0-9]{3,6}$ ]] || [ "$memory" -lt 256 ]; then
    die "bad --memory '$memory' (MiB, at least 256)"
  fi
  if ! [[ "$timeout_s" =~ ^[0-9]{1,5}$ ]] || [ "$timeout_s" -lt 1 ]; then
    die "bad --timeout '$timeout_s' (seconds)"
  fi
  hostfwd="hostfwd=tcp:127.0.0.1:$ssh_port-:22"
  used_ports=" $ssh_port "
  for fwd in "${forwards[@]}"; do
    [[ "$fwd" =~ ^([0-9]+):([0-9]+)$ ]] || die "bad --forward '$fwd' (want HOSTPORT:GUESTPORT)"
    hp=${BASH_REMATCH[1]} gp=${BASH_REMATCH[2]}
    if ! is_port "$hp" || ! is_port "$gp"; then die "bad port in --forward '$fwd'"; fi
    case "$used_ports" in *" $hp "*) die "host port $hp is forwarded twice" ;; esac
    used_ports+="$hp "
    hostfwd+=",hostfwd=tcp:127.0.0.1:$hp-:$gp"
  done

  for f in base.qcow2 vmlinuz initrd.img id_ed25519; do
    [ -s "$cache/$f" ] || die "$cache/$f is missing: build the image first (build-image.sh --cache $cache)"
  done
  [ -f "$cache/READY" ] \
    || die "$cache has no READY marker (a build is running or was interrupted): run build-image.sh --cache $cache"
  key=$cache/id_ed25519
  qemu=${BERTH_E2E_QEMU:-qemu-system-x86_64}
  for tool in "$qemu" qemu-img ssh timeout flock; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; run scripts/install-deps --e2e"
  done
fi

# One start/stop at a time per NAME.
mkdir -p "$state_root" || die "cannot create the state directory $state_root"
exec 9>"$state_root/.$name.lock"
if ! flock -n 9; then
  note "another boot.sh is starting or stopping '$name'; waiting for it (at most 60 s)"
  flock -w 60 9 || die "another boot.sh held $state_root/.$name.lock for more than 60 s"
fi

case "$action" in
stop)
  if pid=$(live_pid); then
    t0=$(now)
    kill_qemu || die "could not stop $name (pid $pid); state kept in $state"
    rm -rf "$state"
    note "stopped $name (qemu pid $pid) in $(since "$t0") s; removed $state"
  else
    rm -rf "$state"
    note "$name is not running; removed $state (if it existed)"
  fi
  exit 0
  ;;
esac

# ---- start ----------------------------------------------------------------------------------------
if pid=$(live_pid); then
  die "guest '$name' is already running (qemu pid $pid, ssh port $(cat "$state/ssh-port" 2>/dev/null || echo '?')); stop it first: $prog stop --name $name"
fi
if [ -e "$state" ]; then
  note "removing the leftovers of an earlier '$name' in $state"
  rm -rf "$state"
fi
mkdir -p "$state"

started=0
on_exit() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ "$started" = 0 ]; then
    kill_qemu || true
    # Interrupted between qemu's fork and its pidfile: find it by its command line.
    for p in $(stray_pids); do
      echo "$prog: killing qemu pid $p (no pidfile yet)" >&2
      kill -KILL "$p" 2>/dev/null || true
      wait_reaped "$p"
    done
    rm -f "$state/disk.qcow2" "$state/monitor.sock" "$pidfile"
    [ -d "$state" ] && echo "$prog: start of '$name' failed; qemu is gone; logs kept in $state" >&2
    [ "$rc" -ne 0 ] || rc=1
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

t0=$(now)
qemu-img create -q -f qcow2 -F qcow2 -b "$cache/base.qcow2" "$state/disk.qcow2" \
  || die "qemu-img create of the overlay failed"
data_drive=()
if [ "$data_disk" -gt 0 ]; then
  truncate -s "${data_disk}G" "$state/data.raw"
  mke2fs -q -t ext4 -L docker-data -F "$state/data.raw" >/dev/null || die "mke2fs of the data disk failed"
  data_drive=(-drive "file=$state/data.raw,if=virtio,format=raw,discard=unmap,cache=unsafe")
fi

monitor=()
# A unix socket path must fit in sun_path (108 bytes).
if [ "${#state}" -le 90 ]; then
  monitor=(-monitor "unix:$state/monitor.sock,server=on,wait=off")
fi

qemu_args=(
  -name "berth-e2e-$name"
  -accel "tcg,thread=multi,tb-size=256" -cpu qemu64 -smp 2 -m "$memory"
  -display none -serial "file:$state/console.log" "${monitor[@]}"
  -kernel "$cache/vmlinuz" -initrd "$cache/initrd.img"
  -append "root=/dev/vda rw console=ttyS0 net.ifnames=0"
  -drive "file=$state/disk.qcow2,if=virtio,format=qcow2,discard=unmap,cache=unsafe" "${data_drive[@]}"
  -netdev "user,id=n0,$hostfwd" -device "virtio-net-pci,netdev=n0"
  -device virtio-rng-pci
  -pidfile "$pidfile" -daemonize
)
printf '%q ' "$qemu" "${qemu_args[@]}" >"$state/qemu.cmdline"
echo >>"$state/qemu.cmdline"

# With -daemonize, qemu returns only after its set-up (port forwards included) worked or failed.
# fd 9 (our lock) must not leak into the daemon, or the lock would live as long as the guest.
if ! "$qemu" "${qemu_args[@]}" </dev/null >"$state/qemu.log" 2>&1 9>&-; then
  echo "$prog: qemu failed to start; its output:" >&2
  sed 's/^/  /' "$state/qemu.log" >&2
  if grep -q 'host forwarding rule' "$state/qemu.log"; then
    read -r -a ports <<<"$used_ports"
    echo "$prog: (is one of the host ports ${ports[*]} already in use on 127.0.0.1?)" >&2
  fi
  exit 1
fi
pid=$(live_pid) || die "qemu started but no live qemu matches $pidfile"
echo "$ssh_port" >"$state/ssh-port"
note "started $name (qemu pid $pid, forwards: ${hostfwd//hostfwd=tcp:/}); waiting up to ${timeout_s} s for SSH on 127.0.0.1:$ssh_port"

ssh_opts=(-F /dev/null -i "$key" -p "$ssh_port"
  -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=no
  -o UserKnownHostsFile=/dev/null -o ConnectTimeout=3 -o LogLevel=ERROR)
deadline=$(( $(date +%s) + timeout_s ))
attempts=0
while :; do
  if ! live_pid >/dev/null; then
    echo "$prog: error: qemu exited while '$name' was booting; last 30 lines of $state/console.log:" >&2
    tail -n 30 "$state/console.log" 2>/dev/null | sed 's/^/  | /' >&2 || true
    exit 1
  fi
  attempts=$((attempts + 1))
  # Each attempt is bounded too (a hung banner exchange), and ends near the deadline.
  left=$(( deadline - $(date +%s) ))
  [ "$left" -lt 20 ] || left=20
  [ "$left" -ge 5 ] || left=5
  if timeout "$left" ssh "${ssh_opts[@]}" root@127.0.0.1 true </dev/null >/dev/null 2>"$state/ssh-wait.err"; then
    break
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "$prog: error: no SSH on 127.0.0.1:$ssh_port after ${timeout_s} s ($attempts attempts); last ssh error:" >&2
    sed 's/^/  /' "$state/ssh-wait.err" >&2 || true
    echo "$prog: last 30 lines of $state/console.log:" >&2
    tail -n 30 "$state/console.log" 2>/dev/null | sed 's/^/  | /' >&2 || true
    exit 1
  fi
  sleep 1
done
rm -f "$state/ssh-wait.err"

cat >"$state/ssh_config" <<EOF
Host $name
  HostName 127.0.0.1
  Port $ssh_port
  User root
  IdentityFile $key
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
EOF
started=1
note "$name is up: SSH answered after $(since "$t0") s ($attempts attempts); try: ssh -F $state/ssh_config $name"
