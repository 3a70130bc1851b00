#!/usr/bin/env bash
# Benchmark of create against the floor (issue 13, point 4), in one run on one image:
#   1. the floor: the image berth uses (debian-12 from berth's cache) booted by libvirt with the
#      same kernel, command line, CPUs and memory, but with its first boot (berth-firstboot, or
#      cloud-init in older images) disabled and an SSH key and host keys written into a copy of
#      its disk beforehand - boot-to-SSH (domain start to a root login) - then the package
#      install alone in that guest (apt-get update and install of the packages berth installs,
#      --no-install-recommends);
#   2. berth create from the same image, with its own phase timings, and how often dockerd
#      started in the new machine (1 = no restart);
#   3. berth create from the baked image (debian-12-docker, made by bench/fleet.sh or
#      `berth image bake`), when it is cached, against the floor's boot-to-SSH.
# It prints each figure and the ratios against the targets: create <= 1.1x the floor, baked
# create <= 1.5x boot-to-SSH. Guests run under TCG here (no KVM): compare the rows, not the
# absolute values. Each VM is removed after it is measured.
#
#   bench/create.sh [--no-baked] [BERTH_BINARY]
#     (default binary build/berth, with berth-authz beside it; needs root, libvirt and qemu)
#   BERTH_E2E_CACHE   where the e2e store with the cached images lives (/var/cache/berth-e2e)
#   BENCH_MEMORY      guest memory in MiB (default 2048, berth's default)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
baked_row=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-baked) baked_row=0 ;;
    -*) echo "create.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
  shift
done
berth=$(readlink -f "${1:-$here/../build/berth}")
memory=${BENCH_MEMORY:-2048}
packages="docker.io apparmor auditd nftables"
work=$(mktemp -d /tmp/berth-bench-create.XXXXXX)
floor_dir=/var/lib/libvirt/images/berth-bench-floor
floor_domain="berth-bench-floor"
# shellcheck source=lib.sh
. "$here/lib.sh"

cleanup() {
  virsh -c "$uri" destroy "$floor_domain" >/dev/null 2>&1 || true
  mountpoint -q "$work/mnt" 2>/dev/null && umount "$work/mnt"
  rm -rf "$floor_dir"
  cleanup_libvirt
}
trap cleanup EXIT
start_libvirt
if ! "$berth" image ls -q | grep -x "$base" >/dev/null; then "$berth" image build "$base"; fi
image_dir="$BERTH_STORAGE_PATH/cache/images/$base"
for f in disk.qcow2 vmlinuz initrd.img; do
  [ -f "$image_dir/$f" ] || { echo "create.sh: $image_dir/$f is missing (berth image build $base)" >&2; exit 1; }
done

# 1. The floor. A copy of the image's disk, with what the first boot (berth-firstboot or
# cloud-init) would have written put in beforehand: root's key, host keys, DHCP on eth0 (the
# command line has net.ifnames=0).
ssh-keygen -q -t ed25519 -N '' -f "$work/key"
mkdir -p "$floor_dir" "$work/mnt"
qemu-img convert -O raw "$image_dir/disk.qcow2" "$floor_dir/disk.raw"
mount -o loop "$floor_dir/disk.raw" "$work/mnt"
# Neither first-boot agent runs: cloud-init (older images) nor berth-firstboot (images built now).
[ -d "$work/mnt/etc/cloud" ] && touch "$work/mnt/etc/cloud/cloud-init.disabled"
mkdir -p "$work/mnt/var/lib/berth" && touch "$work/mnt/var/lib/berth/firstboot-done"
mkdir -p "$work/mnt/etc/ssh" && ssh-keygen -A -f "$work/mnt" >/dev/null
install -d -m 0700 "$work/mnt/root/.ssh" && install -m 0600 "$work/key.pub" "$work/mnt/root/.ssh/authorized_keys"
printf 'allow-hotplug eth0\niface eth0 inet dhcp\n' > "$work/mnt/etc/network/interfaces.d/eth0"
echo berth-bench-floor > "$work/mnt/etc/hostname"
umount "$work/mnt"
cp "$image_dir/vmlinuz" "$image_dir/initrd.img" "$floor_dir/"
cmdline=$(virsh -c "$uri" dumpxml "$(virsh -c "$uri" list --all --name | grep -m1 '^berth-' || true)" 2>/dev/null |
  sed -n 's:.*<cmdline>\(.*\)</cmdline>.*:\1:p' || true)
cmdline=${cmdline:-root=/dev/vda rw console=ttyS0 net.ifnames=0}
cat > "$work/floor.xml" <<XML
<domain type='qemu'>
  <name>$floor_domain</name>
  <memory unit='MiB'>$memory</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$floor_dir/vmlinuz</kernel><initrd>$floor_dir/initrd.img</initrd><cmdline>$cmdline</cmdline></os>
  <features><acpi/><apic/></features>
  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw' discard='unmap'/>
      <source file='$floor_dir/disk.raw'/><target dev='vda' bus='virtio'/></disk>
    <interface type='network'><source network='default'/><model type='virtio'/></interface>
    <serial type='pty'><target port='0'/></serial>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='none'/>
  </devices>
</domain>
XML
virsh -c "$uri" net-start default >/dev/null 2>&1 || true
ssh_opts=(-i "$work/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes
  -o ConnectTimeout=2 -o LogLevel=ERROR)
t0=$(now)
virsh -c "$uri" create "$work/floor.xml" >/dev/null
mac=$(virsh -c "$uri" domiflist "$floor_domain" | awk '/network/{print $5}')
ip=
until [ -n "$ip" ]; do
  ip=$(virsh -c "$uri" net-dhcp-leases default --mac "$mac" 2>/dev/null | awk '/ipv4/{sub("/.*","",$5); print $5}' | tail -1)
  [ -n "$ip" ] || sleep 0.5
  awk -v a="$(since "$t0")" 'BEGIN{exit !(a > 300)}' && { echo "create.sh: the floor VM got no address" >&2; exit 1; }
done
lease=$(since "$t0")
until ssh "${ssh_opts[@]}" "root@$ip" true 2>/dev/null; do
  sleep 0.5
  awk -v a="$(since "$t0")" 'BEGIN{exit !(a > 300)}' && { echo "create.sh: no SSH login to the floor VM" >&2; exit 1; }
done
boot=$(since "$t0")
row "floor: domain start to DHCP lease" "$lease s"
row "floor: boot-to-SSH (no first-boot agent, no berth)" "$boot s"
t1=$(now)
ssh "${ssh_opts[@]}" "root@$ip" "export DEBIAN_FRONTEND=noninteractive; apt-get -o Acquire::Retries=5 update -q &&
  apt-get -o Acquire::Retries=5 install -y -q --no-install-recommends $packages" >"$work/floor-install.log" 2>&1 ||
  { tail -n 20 "$work/floor-install.log" >&2; exit 1; }
install_secs=$(since "$t1")
row "floor: package install alone (apt-get update + install)" "$install_secs s"
virsh -c "$uri" destroy "$floor_domain" >/dev/null
floor=$(sum "$boot" "$install_secs")
row "floor: boot-to-SSH + package install" "$floor s"

# 2 and 3. berth create, from the image and from the baked image.
create_one() {  # image, machine name; sets $created
  local image=$1 name=$2 t0 starts phases
  made+=("$name")
  t0=$(now)
  "$berth" create -d libvirt --libvirt-uri "$uri" --libvirt-virt-type qemu --libvirt-memory "$memory" \
    --libvirt-image "$image" "$name" 2>"$work/$name.log" >/dev/null || { cat "$work/$name.log" >&2; exit 1; }
  created=$(since "$t0")
  row "berth create from $image" "$created s"
  phases=$(grep -o 'Time: .*' "$work/$name.log" | tail -1 || true)
  echo "  $phases" >&2
  rows+=("  $phases")
  starts=$("$berth" ssh "$name" -- sudo journalctl -b -u docker --no-pager -o cat 2>/dev/null |
    grep -c '^Starting docker.service\|^Starting Docker Application Container Engine' || true)
  row "  dockerd starts in $name (1 = no restart)" "$starts"
  "$berth" rm -y "$name" >/dev/null
}
create_one "$base" bench-create
plain=$created
row "ratio: create / floor (target <= 1.10x)" "$(ratio "$plain" "$floor")"
if [ "$baked_row" = 1 ]; then
  if "$berth" image ls -q | grep -x "$baked" >/dev/null; then
    create_one "$baked" bench-create-baked
    row "ratio: create from $baked / floor boot-to-SSH (target <= 1.50x)" "$(ratio "$created" "$boot")"
  else
    row "create from $baked: not cached (bench/fleet.sh bakes it)" "-"
  fi
fi

echo
echo "berth bench/create.sh on $(nproc) cores, guests under $(guest_kind), $memory MiB each, image $base"
printf '%s\n' "${rows[@]}"
