#!/usr/bin/env bash
# Runs INSIDE the dmvm guest (started by test/vm/devmapper-vm.test.ts through
# test/vm/dmvm/run-in-vm.sh, from the repo root, after `npm run build`):
# a tmpfs scratch dir as TMPDIR (the data roots and sparse pool files live in
# guest RAM), a cgroup2 hierarchy for runc, then every devicemapper test in
# ONE node process. The scratch tmpfs is NOT mounted over /tmp: the repo
# itself may live under /tmp (a CI clone), and would vanish behind it. A short path keeps unix socket paths under their 108-byte limit.
set -eu
SCRATCH=/t
mkdir -p $SCRATCH && mount -t tmpfs -o mode=1777,size=1536m tmpfs $SCRATCH
export TMPDIR=$SCRATCH
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# tmpfs on 6.1 has no user.* xattrs, which the conformance suite checks on its temp dir: an ext4 scratch fs (in RAM too)
truncate -s 3G $SCRATCH/ext4.img
mkfs.ext4 -q -E lazy_itable_init=1,lazy_journal_init=1 $SCRATCH/ext4.img
mkdir -m 1777 $SCRATCH/ext4 && mount -o loop $SCRATCH/ext4.img $SCRATCH/ext4 && chmod 1777 $SCRATCH/ext4
export BERTH_VM_EXT4_TMP=$SCRATCH/ext4
export BERTH_TEST_TIME_SCALE=${BERTH_TEST_TIME_SCALE:-10}
echo "dmvm guest: $(uname -r), $(dmsetup version | tr -s ' ' | tr '\n' ' ')"
# Arguments replace the entry (e.g. --test-name-pattern=… dist/test/vm/devmapper/conformance.vm.js) when working on one part.
exec node --test-reporter=spec "${@:-dist/test/vm/devmapper/all.vm.js}"
