# Checks shared by the end-to-end tests (sourced). Each takes the berth binary and machine name
# from $berth and $name, uses the docker CLI as `eval "$(berth env)"` sets it up, and calls ok/fail.
# shellcheck disable=SC2154 # berth, name and work (a scratch directory) are the caller's

# Docker answers over mutual TLS with userns, AppArmor, the default seccomp profile, live-restore.
check_security_options() {
  local info
  info=$(docker info --format '{{json .SecurityOptions}}')
  echo "  SecurityOptions: $info"
  for opt in name=userns name=apparmor 'name=seccomp,profile=default'; do
    grep -q "\"$opt" <<<"$info" || fail "SecurityOptions lack $opt"
  done
  [ "$(docker info --format '{{.LiveRestoreEnabled}}')" = true ] || fail "live-restore is off"
  ok "docker info: userns, apparmor, default seccomp, live-restore"
}

# dockerd started exactly once in this boot of machine $1 (default $name), and never stopped:
# create wrote Docker's configuration before its first start, so nothing was restarted.
check_docker_started_once() {
  local m=${1:-$name} journal starts stops
  journal=$("$berth" ssh "$m" -- sudo -n journalctl -b -u docker.service --no-pager -o cat)
  starts=$(grep -c '^Starting docker.service\|^Starting Docker Application Container Engine' <<<"$journal" || true)
  stops=$(grep -c '^Stopping docker.service\|^Stopping Docker Application Container Engine' <<<"$journal" || true)
  if [ "$starts" != 1 ] || [ "$stops" != 0 ]; then
    fail "dockerd on $m started $starts times and stopped $stops times in this boot (want 1 and 0):
$(grep -i 'start\|stop' <<<"$journal" | head -n 10)"
  fi
  ok "dockerd on $m started once, configured (0 restarts)"
}

# A container runs with root remapped and no-new-privileges; $1 is the busybox rootfs tarball.
check_container() {
  docker image inspect e2e/busybox:1 >/dev/null 2>&1 || docker import -c 'CMD ["/bin/sh"]' "$1" e2e/busybox:1 >/dev/null
  local out
  out=$(docker run --rm e2e/busybox:1 sh -c 'id -u; cat /proc/self/uid_map; grep NoNewPrivs /proc/self/status')
  echo "$out" | sed 's/^/  container: /'
  grep -Eq '^ +0 +[1-9][0-9]+ +65536' <<<"$out" || fail "root in the container is not remapped"
  grep -q 'NoNewPrivs:[[:space:]]*1' <<<"$out" || fail "no-new-privileges is off"
  ok "a container runs: root remapped, no-new-privileges"
}

# Only mutual TLS is accepted on the Docker port ($1: host:port).
check_tls_only() {
  if curl -sS --max-time 10 --cacert "$DOCKER_CERT_PATH/ca.pem" "https://$1/_ping" >/dev/null 2>&1; then
    fail "a client without a certificate was let in"
  fi
  if curl -sS --max-time 10 "http://$1/_ping" 2>/dev/null | grep OK >/dev/null; then fail "plain HTTP was answered"; fi
  [ "$(curl -sS --max-time 10 --cacert "$DOCKER_CERT_PATH/ca.pem" --cert "$DOCKER_CERT_PATH/cert.pem" \
        --key "$DOCKER_CERT_PATH/key.pem" "https://$1/_ping")" = OK ] || fail "the client certificate was refused"
  ok "no certificate: refused; plain HTTP: refused; berth's client certificate: OK"
}

# Runs a command on the machine as berth's SSH user (a single string, parsed by the remote shell).
on_host() { "$berth" ssh "$name" -- "$1"; }

# The Docker API over mutual TLS with the machine's client certificate, for requests the docker CLI
# cannot make; prints `curl ...` as a command string (for expect_refused's bash -c).
api_curl() {
  printf 'curl -sS --max-time 60 --cacert %q --cert %q --key %q' \
    "$DOCKER_CERT_PATH/ca.pem" "$DOCKER_CERT_PATH/cert.pem" "$DOCKER_CERT_PATH/key.pem"
}
api_url() { printf 'https://%s/v1.41' "${DOCKER_HOST#tcp://}"; }

# expect_refused RULES COMMAND: COMMAND (run by bash) must be refused by berth-authz: dockerd
# prefixes the plugin's answer with "authorization denied by plugin berth-authz: ", and the answer
# must start with "berth-authz:" and name one of RULES (comma-separated) as "(rule R in
# /etc/berth/authz.yaml)". A docker command must also exit non-zero (curl exits 0 on a 403).
expect_refused() {
  local rules=$1 cmd=$2 out rc=0 msg re
  out=$(bash -c "$cmd" </dev/null 2>&1) || rc=$?
  re="berth-authz: .+ \\(rule (${rules//,/|}) in /etc/berth/authz\\.yaml\\)"
  # The docker CLI prints the message as is; curl shows dockerd's JSON ({"message":"..."}), where a
  # quote in the message is escaped.
  msg=$(grep -oE 'denied by plugin berth-authz: berth-authz: .*' <<<"$out" | head -n 1 |
    sed 's/^denied by plugin berth-authz: //; s/"}$//; s/\\"/"/g')
  if [ -z "$msg" ] || ! grep -Eq "^$re" <<<"$msg" || { [ "${cmd%% *}" = docker ] && [ $rc -eq 0 ]; }; then
    printf '  NOT refused as expected (want berth-authz naming rule %s; exit %d):\n    $ %s\n' "$rules" "$rc" "$cmd" >&2
    sed 's/^/    | /' <<<"$out" >&2
    return 1
  fi
  printf '  refused: %s\n      -> %s\n' "$cmd" "$msg"
}

# Every request of issue 11's "Why" list (and the rest of berth's default policy) is refused through
# `berth env` with berth-authz's message naming the rule; the refusal is in the host's journal with
# the client certificate's CN.
check_authz_refuses() {
  local img=e2e/busybox:1 curl api failed=0 n=0 rules cmd
  curl=$(api_curl) api=$(api_url)
  docker rm -f authz-box >/dev/null 2>&1 || true
  docker run -d --name authz-box $img sleep 3600 >/dev/null || fail "could not start a plain container for the exec case"
  # A symlink inside the allow-list that points out of it: the plugin must resolve it on the host.
  on_host "sudo mkdir -p /srv/berth && sudo ln -sfn /etc /srv/berth/etc-link" ||
    fail "could not make /srv/berth/etc-link"
  while IFS='|' read -r rules cmd; do
    [ -n "$rules" ] || continue
    n=$((n + 1))
    expect_refused "$rules" "$cmd" || failed=$((failed + 1))
  done <<EOF
privileged|docker run --rm --privileged $img true
userns_host|docker run --rm --userns=host $img true
userns_host,bind_mounts|docker run --rm --userns=host -v /:/host $img cat /host/etc/shadow
userns_host,bind_mounts|docker run --rm --userns=host -v /srv:/mnt $img true
privileged,userns_host|docker run --rm --privileged --userns=host $img true
host_namespaces|docker run --rm --pid=host $img true
userns_host,host_namespaces|docker run --rm --pid=host --userns=host $img true
host_namespaces|docker run --rm --ipc=host $img true
host_namespaces|docker run --rm --uts=host $img true
host_namespaces|docker run --rm --network=host $img true
userns_host,host_namespaces|docker run --rm --userns=host --network=host $img true
cap_add|docker run --rm --cap-add ALL $img true
cap_add|docker run --rm --cap-add SYS_ADMIN $img true
security_opt|docker run --rm --security-opt seccomp=unconfined $img true
security_opt|docker run --rm --security-opt apparmor=unconfined $img true
security_opt|docker run --rm --security-opt label=disable $img true
security_opt|docker run --rm --security-opt no-new-privileges=false $img true
devices|docker run --rm --device /dev/vda $img true
devices|docker run --rm --device-cgroup-rule 'b 254:* rmw' $img true
devices|docker run --rm --gpus all $img true
docker_socket,bind_mounts|docker run --rm -v /var/run/docker.sock:/s $img true
bind_mounts|docker run --rm -v /etc:/hostetc $img true
bind_mounts|docker run --rm --mount type=bind,src=/etc,dst=/hostetc $img true
bind_mounts|docker run --rm -v /srv/berth/etc-link:/hostetc $img true
bind_mounts|docker volume create --opt type=none --opt o=bind --opt device=/etc e2e-bind-etc
sysctls|$curl -H 'Content-Type: application/json' -d '{"Image":"$img","Cmd":["true"],"HostConfig":{"Sysctls":{"kernel.core_pattern":"|/tmp/x"}}}' '$api/containers/create?name=e2e-sysctl'
exec_privileged|docker exec --privileged authz-box true
plugins|$curl -H 'Content-Type: application/json' -d '[]' '$api/plugins/pull?remote=vieux%2Fsshfs%3Alatest&name=sshfs'
plugins|docker plugin enable sshfs
build_network_host|printf 'FROM $img\nRUN true\n' | DOCKER_BUILDKIT=0 docker build -q --network host -
swarm|docker swarm init --advertise-addr 127.0.0.1
malformed|$curl -X POST -H 'Content-Length: 0' $api/containers/create
malformed|$curl -H 'Content-Type: text/plain' -d '{"Image":"$img","Cmd":["true"]}' $api/containers/create
EOF
  # Whatever a request that was wrongly let through made:
  docker rm -f authz-box e2e-sysctl >/dev/null 2>&1 || true
  docker volume rm e2e-bind-etc >/dev/null 2>&1 || true
  docker swarm leave --force >/dev/null 2>&1 || true
  on_host "sudo rm -f /srv/berth/etc-link" || true
  [ "$failed" = 0 ] || fail "$failed of $n requests were not refused by berth-authz as expected (see above)"
  ok "all $n requests refused by berth-authz, each naming its rule"
  # The journal has the refusals, with the client certificate's CN and the rule.
  local journal
  journal=$(on_host "sudo journalctl -u berth-authz.service --no-pager -o cat -n 500") ||
    fail "could not read berth-authz's journal"
  # (grep without -q: with pipefail, grep -q leaving early can fail the pipeline on SIGPIPE.)
  grep -F "berth client for $name" <<<"$journal" | grep 'privileged' >/dev/null || {
    tail -n 20 <<<"$journal" | sed 's/^/    | /' >&2
    fail "berth-authz's journal has no refusal naming the CN 'berth client for $name' and rule privileged"
  }
  ok "refusals are in berth-authz's journal with the certificate's CN"
}

# Ordinary work keeps working through berth-authz (issue 11, Deliver 4): run, exec, logs, build, cp,
# a named volume, a bind mount under /srv/berth, a published port answered, two containers talking on
# a user-defined network, docker update; pull and push get as far as the registry.
check_ordinary_work() {
  local img=e2e/busybox:1 out
  docker rm -f e2e-web >/dev/null 2>&1 || true
  docker network rm e2e-net >/dev/null 2>&1 || true
  docker volume rm e2e-vol >/dev/null 2>&1 || true

  out=$(docker run --rm $img echo hello-from-run) || fail "docker run: $out"
  [ "$out" = hello-from-run ] || fail "docker run printed '$out'"
  ok "docker run"

  docker run --rm -v e2e-vol:/data $img sh -c 'echo in-volume > /data/f' || fail "a named volume could not be written"
  out=$(docker run --rm -v e2e-vol:/data $img cat /data/f) || fail "a named volume could not be read: $out"
  [ "$out" = in-volume ] || fail "the named volume holds '$out'"
  ok "named volume: written by one container, read by another"

  on_host "sudo install -d -m 1777 /srv/berth/work" || fail "could not make /srv/berth/work"
  docker run --rm -v /srv/berth/work:/data $img sh -c 'echo in-bind > /data/from-container' ||
    fail "a bind mount under /srv/berth was not allowed"
  out=$(on_host "cat /srv/berth/work/from-container") || fail "the host cannot read /srv/berth/work/from-container"
  [ "$out" = in-bind ] || fail "/srv/berth/work/from-container holds '$out'"
  docker run --rm --mount type=bind,src=/srv/berth/work,dst=/data,readonly $img cat /data/from-container >/dev/null ||
    fail "--mount type=bind under /srv/berth was not allowed"
  on_host "sudo rm -rf /srv/berth/work" || true
  ok "bind mounts under /srv/berth (-v and --mount): the host sees what the container wrote"

  docker network create e2e-net >/dev/null || fail "docker network create"
  docker run -d --name e2e-web --network e2e-net -p 8080:80 $img \
    sh -c 'mkdir -p /www && echo berth-ok > /www/index.html && echo web-started && exec httpd -f -p 80 -h /www' >/dev/null ||
    fail "a container with a published port on a user-defined network did not start"
  # busybox nc, not wget: Debian's static busybox wget segfaults (seen with docker.io 20.10 here).
  out=$(docker run --rm --network e2e-net $img sh -c 'printf "GET / HTTP/1.0\r\n\r\n" | nc -w 10 e2e-web 80') ||
    fail "a container could not reach e2e-web by name on e2e-net: $out"
  grep -q '^berth-ok' <<<"$out" || fail "e2e-web answered on e2e-net: $out"
  ok "two containers talk on a user-defined network (GET http://e2e-web/ -> berth-ok)"

  # The published port, from the host itself (no curl/wget in the guest image: bash's /dev/tcp).
  out=$(on_host "timeout 15 bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080 && printf \"GET / HTTP/1.0\\r\\n\\r\\n\" >&3 && cat <&3'") ||
    fail "nothing answered on the host's published port 8080: $out"
  grep -q '^berth-ok' <<<"$out" || fail "the published port 8080 answered: $out"
  ok "-p 8080:80 answers on the host (GET / -> berth-ok)"

  out=$(docker exec e2e-web cat /www/index.html) || fail "docker exec: $out"
  [ "$out" = berth-ok ] || fail "docker exec printed '$out'"
  out=$(docker logs e2e-web 2>&1) || fail "docker logs: $out"
  grep -q web-started <<<"$out" || fail "docker logs does not show the container's output: $out"
  ok "docker exec and docker logs"

  echo cp-payload >"$work/cp-in.txt"
  docker cp "$work/cp-in.txt" e2e-web:/tmp/cp-in.txt >/dev/null || fail "docker cp into a container"
  out=$(docker cp e2e-web:/tmp/cp-in.txt - | tar -xO) || fail "docker cp out of a container"
  [ "$out" = cp-payload ] || fail "docker cp round trip gave '$out'"
  ok "docker cp in and out"

  docker update -m 64m --memory-swap 128m e2e-web >/dev/null || fail "docker update -m"
  out=$(docker inspect -f '{{.HostConfig.Memory}}' e2e-web)
  [ "$out" = 67108864 ] || fail "docker update did not set the memory limit (HostConfig.Memory=$out)"
  ok "docker update -m 64m"

  local builder=()
  docker buildx version >/dev/null 2>&1 || builder=(env DOCKER_BUILDKIT=0)
  printf 'FROM %s\nRUN echo built > /built\n' "$img" | "${builder[@]}" docker build -q -t e2e/built:1 - >/dev/null ||
    fail "docker build${builder:+ (legacy builder)}"
  out=$(docker run --rm e2e/built:1 cat /built) || fail "the built image does not run: $out"
  [ "$out" = built ] || fail "the built image has '$out' in /built"
  ok "docker build${builder:+ (legacy builder: no buildx here)} and run of the result"

  # No registry is reachable from the guest: a network error proves the request got past berth-authz.
  local what
  for what in pull push; do
    if [ $what = pull ]; then
      out=$(docker pull busybox:1.36 2>&1) && fail "docker pull succeeded (the test expects no registry access)"
    else
      docker tag $img 127.0.0.1:5000/e2e/busybox:1
      out=$(docker push 127.0.0.1:5000/e2e/busybox:1 2>&1) && fail "docker push succeeded (nothing listens on :5000)"
    fi
    if grep -q 'berth-authz' <<<"$out"; then fail "docker $what was refused by berth-authz: $out"; fi
    grep -Eq 'dial tcp|no such host|connection refused|i/o timeout|TLS handshake timeout|server misbehaving' <<<"$out" ||
      fail "docker $what failed, but not at the registry: $out"
    echo "  docker $what reached the registry step (a network error, not a berth-authz refusal): $(tail -n 1 <<<"$out")"
  done
  ok "pull and push pass berth-authz"

  docker rm -f e2e-web >/dev/null
  docker network rm e2e-net >/dev/null
  docker volume rm e2e-vol >/dev/null
  docker rmi e2e/built:1 127.0.0.1:5000/e2e/busybox:1 >/dev/null
}

# The course's escape: a container writes a SUID shell into a bind mount. The original attack
# (--userns=host with a bind of /srv, or of an allowed directory) is refused by berth-authz; through
# an allowed bind mount under /srv/berth the file is owned by the remapped uid, and running it does
# not give root. (/usr/bin/bash cannot be bind-mounted any more: the host copies its own bash into
# the exchange directory instead.)
check_suid_escape_fails() {
  local img=e2e/busybox:1 x=/srv/berth/xchg
  on_host "sudo install -d -m 1777 $x && cp /usr/bin/bash $x/srcbash" ||
    fail "could not prepare $x"
  expect_refused userns_host,bind_mounts "docker run --rm --userns=host -v /srv:/mnt $img true" ||
    fail "the original attack (--userns=host -v /srv:/mnt) was not refused by berth-authz"
  expect_refused userns_host "docker run --rm --userns=host -v $x:/mnt $img true" ||
    fail "--userns=host with an allowed bind mount was not refused by berth-authz"
  ok "--userns=host (the original attack) is refused by berth-authz"
  docker run --rm -v $x:/mnt $img sh -c 'cp /mnt/srcbash /mnt/rootbash && chmod 4755 /mnt/rootbash' ||
    fail "the container could not write into $x"
  local owner mode euid
  owner=$(on_host "stat -c %u $x/rootbash")
  mode=$(on_host "stat -c %A $x/rootbash")
  euid=$(on_host "sudo su -s /bin/sh nobody -c '$x/rootbash -p -c \"id -u\"'")
  echo "  SUID file on the host: owner $owner, mode $mode; nobody running it gets euid $euid"
  on_host "sudo rm -f $x/rootbash $x/srcbash" || true
  [ "$owner" != 0 ] || fail "the SUID file is owned by root on the host"
  [ "$euid" != 0 ] || fail "nobody got root through the SUID file"
  ok "the SUID file is owned by the remapped uid $owner, not root"
}

# `berth audit` for one machine: sets audit_rc, audit_out (--format '{{.ID}} {{.Status}}') and prints
# the table when asked ($1 = table).
run_audit() {
  audit_rc=0
  audit_out=$("$berth" audit --format '{{.ID}} {{.Status}}' "$name" 2>&1) || audit_rc=$?
  if [ "${1:-}" = table ] || [ "$audit_rc" -gt 1 ]; then
    "$berth" audit "$name" 2>&1 | sed 's/^/    | /' || true
  fi
}
# audit_warns ERE: the audit lists a check whose id matches ERE with status WARN.
audit_warns() { grep -Eq "^($1) WARN$" <<<"$audit_out"; }
# expect_audit_fails AFTER WANT [NOT...]: exit 1, a WARN for an id matching WANT (an ERE), none for NOT.
expect_audit_fails() {
  local after=$1 want=$2 not
  shift 2
  run_audit
  if [ "$audit_rc" != 1 ] || ! audit_warns "$want"; then
    printf '  after %s: want exit 1 and a WARN for %s; got exit %s:\n' "$after" "$want" "$audit_rc" >&2
    sed 's/^/    | /' <<<"$audit_out" >&2
    fail "berth audit did not report $after as $want"
  fi
  for not in "$@"; do
    if audit_warns "$not"; then
      sed 's/^/    | /' <<<"$audit_out" >&2
      fail "berth audit warns about $not before it was broken (after $after)"
    fi
  done
  ok "after $after: berth audit exits 1, WARN: $(grep ' WARN$' <<<"$audit_out" | cut -d' ' -f1 | tr '\n' ' ')"
}

# berth audit (issue 11, Deliver 6): passes on the fresh host; names the check after each of a hand
# edit of daemon.json, a chmod of the server key and `auditctl -D` (one after the other, each new
# WARN appears only after its break); `--fix` repairs all three; a SUID file in an allow-listed
# directory a running container bind-mounts is reported, --fix cannot repair it, removing it can.
check_audit() {
  local img=e2e/busybox:1 x=/srv/berth/suid auditid='1\.1\.([3-9]|1[0-8])'
  run_audit table
  [ "$audit_rc" = 0 ] || { sed 's/^/    | /' <<<"$audit_out" >&2; fail "berth audit fails on the fresh host (exit $audit_rc)"; }
  ok "berth audit passes on the fresh host ($(wc -l <<<"$audit_out") checks)"

  on_host "sudo sed -i -E 's/\"icc\": *false/\"icc\": true/' /etc/docker/daemon.json && grep -Eq '\"icc\": *true' /etc/docker/daemon.json" ||
    fail "could not edit icc in daemon.json"
  expect_audit_fails "a hand edit of daemon.json (icc true)" '2\.2' '3\.14' "$auditid"
  audit_warns 'berth\.drift' || fail "berth.drift does not report the edited daemon.json"

  on_host "sudo chmod 0644 /etc/docker/tls/server-key.pem" || fail "could not chmod the server key"
  expect_audit_fails "chmod 0644 of the server key" '3\.14' "$auditid"

  on_host "sudo auditctl -D" >/dev/null || fail "auditctl -D failed"
  expect_audit_fails "auditctl -D" "$auditid"

  local fix_rc=0
  "$berth" audit --fix "$name" 2>&1 | sed 's/^/    | /' || fix_rc=${PIPESTATUS[0]}
  run_audit
  if [ "$fix_rc" != 0 ] || [ "$audit_rc" != 0 ]; then
    sed 's/^/    | /' <<<"$audit_out" >&2
    fail "berth audit --fix did not repair daemon.json, the key mode and the audit rules (--fix exit $fix_rc, audit exit $audit_rc)"
  fi
  [ "$(on_host "sudo stat -c %a /etc/docker/tls/server-key.pem")" = 400 ] || fail "--fix left the server key's mode"
  ok "berth audit --fix repaired all three; berth audit passes again"

  docker rm -f e2e-suid >/dev/null 2>&1 || true
  on_host "sudo install -d -m 1777 $x" || fail "could not make $x"
  docker run -d --name e2e-suid -v $x:/data $img sleep 3600 >/dev/null || fail "could not start a container bind-mounting $x"
  docker exec e2e-suid sh -c 'cp /bin/busybox /data/suid-sh && chmod 4755 /data/suid-sh' || fail "could not drop a SUID file"
  expect_audit_fails "a SUID file dropped into $x (bind-mounted by a running container)" 'berth\.suid'
  fix_rc=0
  "$berth" audit --fix "$name" >/dev/null 2>&1 || fix_rc=$?
  [ "$fix_rc" = 1 ] || fail "berth audit --fix exited $fix_rc with the SUID file still there (want 1: it cannot repair that)"
  docker exec e2e-suid rm -f /data/suid-sh || fail "could not remove the SUID file"
  run_audit
  [ "$audit_rc" = 0 ] || { sed 's/^/    | /' <<<"$audit_out" >&2; fail "berth audit still fails after the SUID file was removed"; }
  docker rm -f e2e-suid >/dev/null
  on_host "sudo rm -rf $x" || true
  ok "the SUID file: reported (berth.suid), not repaired by --fix (exit 1), audit passes once it is removed"
}

# Per-user certificates (issue 12, Deliver 5): a certificate for alice from the machine's CA; her
# bundle's env script opens the host and `docker run` works, a privileged run is refused; revoked,
# every request with her certificate is refused with berth-authz's revoked message (and logged),
# while the owner's certificate still works. dockerd never restarts for any of it.
check_user_certs() {
  local dir="$work/bundle-alice" img=e2e/busybox:1 pid_before serial out rc
  pid_before=$(on_host "pidof dockerd")
  "$berth" certs issue "$name" --user alice || fail "berth certs issue $name --user alice failed"
  serial=$("$berth" certs ls "$name" --json | python3 -c 'import json,sys; print([u for u in json.load(sys.stdin) if u["User"]=="alice"][-1]["Serial"])')
  "$berth" certs ls "$name" | grep -Eq "^alice +restricted +$serial +[0-9TZ:-]+ +no$" || fail "certs ls does not list alice"
  on_host "sudo grep -q '^  \"alice\": restricted\$' /etc/berth/authz.yaml" || fail "the host's policy does not give alice her role"
  rm -rf "$dir" && mkdir -p "$dir"
  "$berth" bundle "$name" --user alice -o "$work/alice.tar.gz" || fail "berth bundle failed"
  tar -xzf "$work/alice.tar.gz" -C "$dir"
  # alice's shell: her bundle's variables only.
  (
    unset DOCKER_HOST DOCKER_CERT_PATH DOCKER_TLS_VERIFY
    # shellcheck disable=SC1090,SC1091
    . "$dir/$name-alice/env.sh"
    [ "$DOCKER_CERT_PATH" = "$(cd "$dir/$name-alice" && pwd -P)" ] || { echo "  DOCKER_CERT_PATH=$DOCKER_CERT_PATH" >&2; exit 1; }
    docker run --rm $img true || exit 2
    expect_refused privileged "docker run --rm --privileged $img true" || exit 3
  ) || fail "alice's bundle does not work as it should (exit $?)"
  ok "alice's bundle opens $name: docker run works, --privileged is refused"

  "$berth" certs revoke "$name" alice || fail "berth certs revoke failed"
  on_host "sudo grep -q 'serial: $serial' /etc/berth/authz-revoked.yaml" || fail "the revocation list lacks $serial"
  rc=0
  out=$(
    unset DOCKER_HOST DOCKER_CERT_PATH DOCKER_TLS_VERIFY
    # shellcheck disable=SC1090,SC1091
    . "$dir/$name-alice/env.sh"
    docker run --rm $img true 2>&1
  ) || rc=$?
  echo "$out" | sed 's/^/  alice after revoke: /'
  [ $rc -ne 0 ] || fail "alice's revoked certificate still runs containers"
  grep -q "berth-authz: certificate serial $serial is revoked on this host (rule revoked)" <<<"$out" ||
    fail "the refusal does not name the revoked serial"
  on_host "sudo journalctl -u berth-authz --no-pager | grep 'refused user=\"alice\" .* rule=revoked what=\"certificate serial $serial\"'" ||
    fail "the journal lacks the revoked refusal"
  docker run --rm $img true || fail "the owner's certificate stopped working"
  [ "$(on_host "pidof dockerd")" = "$pid_before" ] || fail "dockerd restarted for a certificate change"
  ok "revoked: alice is refused (rule revoked, in the journal), the owner still works, dockerd never restarted"
}

# check_bundle_does_not_open BUNDLE OTHER: a bundle (`berth bundle ... -o BUNDLE`) made for one
# machine does not open machine OTHER (the fleet e2e: a student's bundle opens that student's VM
# and no other): its certificate is from another machine's CA, so OTHER's TLS handshake refuses it.
check_bundle_does_not_open() {
  local bundle=$1 other=$2 dir url out rc=0
  dir=$(mktemp -d "$work/bundle.XXXXXX")
  tar -xzf "$bundle" -C "$dir"
  url=$("$berth" url "$other") || fail "berth url $other"
  out=$(
    unset DOCKER_HOST DOCKER_CERT_PATH DOCKER_TLS_VERIFY
    cd "$dir"/*/ || exit 99
    # shellcheck disable=SC1091
    . ./env.sh
    DOCKER_HOST=$url docker version --format '{{.Server.Version}}' 2>&1
  ) || rc=$?
  if [ $rc -eq 0 ] || [ $rc -eq 99 ]; then fail "the bundle $(basename "$bundle") opened $other: $out"; fi
  grep -Eqi 'certificate|tls|x509' <<<"$out" || fail "$other refused the bundle, but not in the TLS handshake: $out"
  ok "the bundle $(basename "$bundle") does not open $other (TLS: $(head -n 1 <<<"$out" | cut -c1-120))"
}
