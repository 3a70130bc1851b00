# Checks shared by the end-to-end tests (sourced). Each takes the berth binary and machine name
# from $berth and $name, uses the docker CLI as `eval "$(berth env)"` sets it up, and calls ok/fail.

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

# The course's escape: a container writes a SUID shell into a bind mount. On the host it must not
# be root's, and running it must not give root.
check_suid_escape_fails() {
  "$berth" ssh "$name" -- sudo install -d -m 1777 /srv/xchg
  docker run --rm -v /srv/xchg:/mnt -v /usr/bin/bash:/srcbash:ro e2e/busybox:1 \
    sh -c 'cp /srcbash /mnt/rootbash && chmod 4755 /mnt/rootbash'
  local owner euid
  owner=$("$berth" ssh "$name" -- stat -c %u /srv/xchg/rootbash)
  euid=$("$berth" ssh "$name" -- sudo su -s /bin/sh nobody -c "'/srv/xchg/rootbash -p -c \"id -u\"'")
  echo "  SUID file owner on the host: $owner; nobody running it gets euid $euid"
  [ "$owner" != 0 ] || fail "the SUID file is owned by root on the host"
  [ "$euid" != 0 ] || fail "nobody got root through the SUID file"
  ok "the SUID file is owned by the remapped uid $owner, not root"
}
