#!/usr/bin/env bash
# run-in-vm.sh 'COMMAND'        (or: run-in-vm.sh PROG ARG...)
#
# Boots Debian's stock kernel under qemu (KVM when it is real hardware KVM,
# otherwise TCG), with the host's / visible read-only via virtio-9p and a
# tmpfs overlay on top (writes go to guest RAM and are discarded), loads
# loop + dm-thin-pool (+ dm-snapshot, ext4) and runs COMMAND as root inside,
# in the caller's cwd with the caller's exported environment (PATH, ...).
# The command's stdout/stderr are streamed to ours; we exit with its code.
#
# Exit codes of our own: 125 = VM-side setup failed, 124 = timeout,
#                        126 = VM died without reporting a result.
# Env:
#   DMVM_CACHE   cache dir (kernel, initramfs)            default /tmp/berth-dmvm/cache
#   DMVM_ACCEL   kvm|tcg|auto                              default auto
#   DMVM_MEM     guest RAM (MiB); the overlay tmpfs and any
#                sparse files written inside live in it    default 2048
#   DMVM_SMP     vCPUs (TCG: 1 is faster on a 2-core host)  default 1
#   DMVM_TIMEOUT seconds before the VM is killed           default 900
#   DMVM_RW      colon-separated host dirs to share WRITABLE at the same path
#   DMVM_VERBOSE 1 = print the guest console (kernel log) to stderr at the end
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${DMVM_CACHE:-/tmp/berth-dmvm/cache}
MEM=${DMVM_MEM:-2048}
SMP=${DMVM_SMP:-1}
TMO=${DMVM_TIMEOUT:-900}
MSIZE=${DMVM_MSIZE:-512000}

[[ $# -ge 1 ]] || { echo "usage: $0 'COMMAND' | PROG ARG..." >&2; exit 2; }

"$HERE/prepare.sh" >&2
KV=$(cat "$CACHE/KVER")
KERNEL=${DMVM_KERNEL:-$CACHE/vmlinux}     # uncompressed ELF -> PVH direct boot
[[ -s $KERNEL ]] || KERNEL=$CACHE/kernel/boot/vmlinuz-$KV

# ---- accelerator. /dev/kvm can exist yet be useless for a stock kernel:
# on PVM hosts (kvm_pvm, no vmx/svm) only PVM-enabled guest kernels run at
# speed; a Debian kernel is emulated instruction by instruction and never
# gets past the decompressor in minutes. So "auto" wants hardware KVM.
ACCEL=${DMVM_ACCEL:-auto}
if [[ $ACCEL = auto ]]; then
  ACCEL=tcg
  if [[ -r /dev/kvm && -w /dev/kvm ]] && grep -qwE 'vmx|svm' /proc/cpuinfo &&
     [[ ! -d /sys/module/kvm_pvm ]]; then ACCEL=kvm; fi
fi
if [[ $ACCEL = kvm && -d /sys/module/kvm_pvm ]] && ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
  echo "run-in-vm: warning: /dev/kvm here is PVM-only (kvm_pvm); a stock kernel will crawl" >&2
fi
if [[ $ACCEL = kvm ]]; then ACCEL_ARGS=(-accel kvm -cpu host)
else ACCEL_ARGS=(-accel tcg,thread=multi,tb-size=256 -cpu "${DMVM_CPU:-max}"); fi

RUN=$(mktemp -d /tmp/dmvm-run.XXXXXX)
QPID=
cleanup() {
  if [[ -n $QPID ]] && kill -0 "$QPID" 2>/dev/null; then kill "$QPID" 2>/dev/null || true; fi
  [[ -n ${TPID1:-} ]] && kill "$TPID1" 2>/dev/null || true
  [[ -n ${TPID2:-} ]] && kill "$TPID2" 2>/dev/null || true
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the script the guest runs (inside chroot of the overlay root)
export -p | grep -vE '^declare -x (PWD|OLDPWD|SHLVL|_|DMVM_[A-Z_]*)=' > "$RUN/env.sh" || true
if [[ $# -eq 1 ]]; then printf '%s\n' "$1" > "$RUN/cmd"
else printf '%q ' "$@" > "$RUN/cmd"; echo >> "$RUN/cmd"; fi
cat > "$RUN/cmd.sh" <<EOF
. $RUN/env.sh
export DMVM=1 DMVM_GUEST=1
# no udevd in the guest: make libdevmapper create /dev/mapper/* nodes itself
export DM_DISABLE_UDEV=\${DM_DISABLE_UDEV:-1}
export PATH="\$PATH:/run/dmvm"
cd $(printf '%q' "$PWD") 2>/dev/null || cd /
eval "\$(<$RUN/cmd)"
EOF
: > "$RUN/out"; : > "$RUN/err"

# ---- extra writable shares
RW_ARGS=(); RW_LIST=
if [[ -n ${DMVM_RW:-} ]]; then
  i=0; IFS=: read -ra rws <<< "$DMVM_RW"
  for d in "${rws[@]}"; do
    d=$(realpath "$d")
    RW_ARGS+=(-fsdev "local,id=rw$i,path=$d,security_model=none,multidevs=remap"
              -device "virtio-9p-pci,fsdev=rw$i,mount_tag=rw$i")
    RW_LIST+="${RW_LIST:+:}$d"; i=$((i+1))
  done
fi

# pc (SeaBIOS, PCI, ACPI) or microvm (qboot, virtio-mmio, no PCI): microvm
# boots ~2x faster under TCG.
MACHINE=${DMVM_MACHINE:-microvm}
APPEND="console=ttyS0 quiet loglevel=4 panic=-1 reboot=t tsc=reliable no_timer_check"
# boot-time savers under TCG (each measured with initcall_debug): crypto
# self-tests (~0.7 s), the KDF108 self-test (~1.7 s), encrypted-keys init
# (~0.35 s), kprobe-trace init (~0.17 s). Nothing a dm test needs.
APPEND+=" cryptomgr.notests initcall_blacklist=crypto_kdf108_init,init_encrypted,init_kprobe_trace"
if [[ $MACHINE = microvm ]]; then
  M_ARGS=(-machine microvm,x-option-roms=off,rtc=on,isa-serial=on,pit=on,pic=on)
  VDEV=device
  # microvm has no HPET/ACPI-PM timer: TSC calibration against the PIT is
  # flaky under TCG ("Unable to calibrate against PIT", then a hang). Under
  # TCG the guest TSC ticks at the host TSC rate, so hand the kernel that.
  if [[ $ACCEL = tcg ]]; then
    khz=$(awk -F: '/^cpu MHz/{printf "%d", $2*1000; exit}' /proc/cpuinfo)
    [[ -n $khz && $khz -gt 0 ]] && APPEND+=" tsc_early_khz=$khz"
  fi
else
  M_ARGS=(-machine pc); VDEV=pci
fi
for i in "${!RW_ARGS[@]}"; do RW_ARGS[$i]=${RW_ARGS[$i]//virtio-9p-pci/virtio-9p-$VDEV}; done
APPEND+=" dmvm.run=$RUN dmvm.cache=$CACHE dmvm.msize=$MSIZE"
[[ -n $RW_LIST ]] && APPEND+=" dmvm.rw=$RW_LIST"
APPEND+=" ${DMVM_APPEND:-}"

T0=$(date +%s.%N)
timeout -k 5 "$TMO" qemu-system-x86_64 \
  -nodefaults -no-user-config -nographic -no-reboot \
  "${M_ARGS[@]}" "${ACCEL_ARGS[@]}" -m "$MEM" -smp "$SMP" \
  -kernel "$KERNEL" -initrd "$CACHE/initramfs.cpio" -append "$APPEND" \
  -serial "file:$RUN/console.log" -monitor none \
  -fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap" \
  -device virtio-9p-$VDEV,fsdev=hostroot,mount_tag=hostroot \
  -fsdev "local,id=dmvmrun,path=$RUN,security_model=none" \
  -device virtio-9p-$VDEV,fsdev=dmvmrun,mount_tag=dmvmrun \
  "${RW_ARGS[@]}" \
  -device virtio-rng-$VDEV \
  </dev/null >"$RUN/qemu.log" 2>&1 &
QPID=$!
# stream the command's output while it runs
tail -q -s 0.2 -n +1 -F --pid=$QPID "$RUN/out" 2>/dev/null & TPID1=$!
tail -q -s 0.2 -n +1 -F --pid=$QPID "$RUN/err" >&2 2>/dev/null & TPID2=$!
set +e
wait $QPID; qrc=$?
set -e
QPID=
wait $TPID1 $TPID2 2>/dev/null || true
TPID1= TPID2=
T1=$(date +%s.%N)

show_console() { echo "---- guest console ($RUN/console.log) ----" >&2; cat "$RUN/console.log" >&2
                 echo "---- qemu ----" >&2; cat "$RUN/qemu.log" >&2; }
[[ ${DMVM_VERBOSE:-0} = 1 ]] && show_console
if [[ $qrc = 124 || $qrc = 137 ]]; then
  echo "run-in-vm: timeout after ${TMO}s (accel=$ACCEL)" >&2; show_console; exit 124
fi
if [[ ! -s $RUN/rc ]]; then
  echo "run-in-vm: VM exited (qemu rc=$qrc) without a result (accel=$ACCEL)" >&2; show_console; exit 126
fi
rc=$(cat "$RUN/rc")
if [[ $rc = setup-failed ]]; then
  echo "run-in-vm: setup inside the VM failed" >&2; show_console; exit 125
fi
if [[ ${DMVM_VERBOSE:-0} = 1 || ${DMVM_TIMING:-0} = 1 ]]; then
  b=$(cat "$RUN/boot_s" 2>/dev/null || echo 0); e=$(cat "$RUN/end_s" 2>/dev/null || echo 0)
  echo "run-in-vm: accel=$ACCEL machine=$MACHINE smp=$SMP rc=$rc wall=$(awk "BEGIN{printf \"%.1f\", $T1 - $T0}")s" \
       "(guest: boot+setup ${b}s, command $(awk "BEGIN{printf \"%.1f\", $e - $b}")s)" >&2
fi
exit "$rc"
