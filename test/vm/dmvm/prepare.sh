#!/usr/bin/env bash
# prepare.sh - one-time (cached) host setup for run-in-vm.sh
#
#  * installs the Debian packages the VM runner needs (qemu, busybox, dm tools)
#  * downloads Debian's stock kernel package (apt-get download, no install) and
#    unpacks it with dpkg -x into $DMVM_CACHE/kernel
#  * extracts the uncompressed vmlinux (PVH direct boot, skips the xz
#    decompressor that is slow under TCG)
#  * generates modules.dep with busybox depmod
#  * builds a tiny busybox initramfs with the virtio/9p/overlay/dm/loop/ext4
#    modules and the /init that runs the command
#
# Idempotent: re-running with everything in place costs ~0 s.
# Env: DMVM_CACHE (default /tmp/berth-dmvm/cache), DMVM_KPKG (kernel package name,
#      default: whatever linux-image-amd64 depends on), DMVM_NO_APT=1 (skip apt).
set -euo pipefail

CACHE=${DMVM_CACHE:-/tmp/berth-dmvm/cache}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DID=0
log() { DID=1; echo "[dmvm-prepare] $*" >&2; }

# one preparer at a time: concurrent test runs share the cache (and apt)
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

# ---------------------------------------------------------------- packages
# qemu-system-x86 : the VM (TCG or KVM); qemu's built-in 9p server (virtfs)
# busybox-static  : the initramfs userland (insmod/modprobe/mount/chroot ...)
# dmsetup         : dmsetup binary + libdevmapper (used inside the VM from the host root)
# thin-provisioning-tools : thin_check/thin_dump/... (optional, used by lvm/docker)
# e2fsprogs, xfsprogs     : mkfs.ext4 (essential on Debian anyway), mkfs.xfs
# python3 is used only to extract vmlinux (present on this machine kind);
# without it the compressed bzImage is booted instead.
PKGS=(qemu-system-x86 busybox-static dmsetup thin-provisioning-tools e2fsprogs xfsprogs)
need_apt=0
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || need_apt=1
done
if [[ $need_apt = 1 && ${DMVM_NO_APT:-0} != 1 ]]; then
  log "apt-get install ${PKGS[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
fi

cd "$CACHE"

# ---------------------------------------------------------------- kernel
if [[ ! -s KVER || ! -d kernel/boot ]]; then
  KPKG=${DMVM_KPKG:-}
  if [[ -z $KPKG ]]; then
    KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null |
           awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    if [[ -z $KPKG ]]; then apt-get update -qq >/dev/null
      KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    fi
  fi
  [[ -n $KPKG ]] || { log "cannot determine kernel package"; exit 1; }
  log "downloading $KPKG"
  rm -rf dl kernel && mkdir dl
  # apt-get download as root into a dir _apt cannot write prints a harmless warning
  (cd dl && apt-get download "$KPKG" 2>&1 | grep -v -e unsandboxed -e '^Get:' -e '^Fetched' >&2 || true)
  deb=$(ls dl/*.deb | head -1)
  [[ -f $deb ]] || { log "download failed"; exit 1; }
  dpkg -x "$deb" kernel
  rm -rf dl
  KV=$(ls kernel/lib/modules | head -1)
  # drop big subtrees no VM test needs (-150 MB, halves depmod time)
  (cd "kernel/lib/modules/$KV/kernel" && rm -rf drivers/gpu drivers/media sound \
     drivers/net/wireless drivers/infiniband drivers/iio drivers/staging)
  log "kernel $KV: busybox depmod"
  busybox depmod -b "$CACHE/kernel" "$KV"
  echo "$KV" > KVER.tmp && mv KVER.tmp KVER
  rm -f vmlinux initramfs.cpio
fi
KV=$(cat KVER)
MODDIR=kernel/lib/modules/$KV

if [[ ! -s vmlinux ]] && command -v python3 >/dev/null; then
  log "extracting vmlinux for PVH boot"
  python3 - "kernel/boot/vmlinuz-$KV" vmlinux.tmp <<'EOF' && mv vmlinux.tmp vmlinux || rm -f vmlinux.tmp
import lzma, sys
d = open(sys.argv[1], 'rb').read()
i = d.find(b'\xfd7zXZ\x00')
if i < 0: sys.exit(1)
out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(d[i:])
if out[:4] != b'\x7fELF': sys.exit(1)
open(sys.argv[2], 'wb').write(out)
EOF
fi

# ---------------------------------------------------------------- initramfs
# rebuilt when the scripts that make it change (by content: a git checkout touches every mtime)
IKEY=$(cat "$HERE/prepare.sh" "$HERE/guest-init.sh" "$CACHE/KVER" | sha256sum | cut -c1-16)
if [[ ! -s initramfs.cpio || $(cat initramfs.key 2>/dev/null) != "$IKEY" ]]; then
  log "building initramfs"
  R=$(mktemp -d "$CACHE/initramfs.XXXXXX")
  mkdir -p "$R"/{bin,sbin,dev,proc,sys,lower,upper,newroot,dmvmrun,lib/modules/$KV,etc}
  cp /bin/busybox "$R/bin/busybox"
  for a in $(/bin/busybox --list); do
    [[ $a = busybox ]] || ln -s busybox "$R/bin/$a"
  done
  ln -s ../bin/modprobe "$R/sbin/modprobe"
  # modules needed before the host root is reachable + the dm/loop/fs ones
  # (everything else is modprobe'd on demand from the full tree over 9p)
  WANT="virtio_pci virtio_mmio 9pnet_virtio 9p overlay loop dm-thin-pool dm-snapshot crc32c_generic ext4"
  declare -A seen=()
  add() {  # add module by name and its deps (from modules.dep)
    local n=${1//-/_} line f d
    [[ -n ${seen[$n]:-} ]] && return; seen[$n]=1
    line=$(grep -E "(^|/)(${n}|${n//_/-})\.ko:" "$MODDIR/modules.dep" | head -1) || true
    if [[ -z $line ]]; then
      grep -qE "/(${n}|${n//_/-})\.ko\$" "$MODDIR/modules.builtin" && return
      log "module $1 not found"; exit 1
    fi
    f=${line%%:*}
    for d in ${line#*:}; do add "$(basename "$d" .ko)"; done
    mkdir -p "$R/lib/modules/$KV/$(dirname "$f")"
    cp "$MODDIR/$f" "$R/lib/modules/$KV/$f"
  }
  for m in $WANT; do add "$m"; done
  cp "$MODDIR"/modules.{dep,alias,builtin,order,symbols} "$R/lib/modules/$KV/" 2>/dev/null || true
  echo "$KV" > "$R/etc/kver"
  cp "$HERE/guest-init.sh" "$R/init"
  chmod 755 "$R/init"
  # uncompressed: gunzip under TCG costs ~0.5 s of boot, copying 8 MB does not
  (cd "$R" && find . | busybox cpio -o -H newc 2>/dev/null > "$CACHE/initramfs.cpio.tmp")
  mv initramfs.cpio.tmp initramfs.cpio
  echo "$IKEY" > initramfs.key
  rm -rf "$R"
fi
[[ $DID = 1 ]] && log "ready: kernel $KV, cache $CACHE"
exit 0
