#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage hostile: the block frontend against backends that break the
# protocol: one pvkit-test-vbd disk per fault (QOM id and devid 60000 +
# n; the first 16 responses are correct) beside an ordinary xen-disk.
# pvkit_blk_hostile checks that I/O on each fails cleanly and in bounded
# time, that the guest stays healthy and the ordinary disk works, then
# unplugs the test disks and counts the grants.  A skip not listed in
# tests/expected-skips.txt fails, and so does a run where no test passed
# (run_stage).  Ends with the harness's summary line. Needs QEMU, KERNEL,
# IMAGE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE
disk=$RESULTS/disk-hostile.raw
n=60000
args=()
mkdir -p "$RESULTS"
rm -f "$disk"
truncate -s 8M "$disk"
for f in none bad-id bad-op bad-status overrun silent garbage; do
	args+=(--qemu-arg=-device
		--qemu-arg="pvkit-test-vbd,id=tvbd-$n,devid=$n,fault=$f,fault-after=16")
	n=$((n + 1))
done
vm "$RESULTS/pv-hostile" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
	--host-requests --pv-disk "$disk" "${args[@]}" --expected-skips /dev/null \
	--kselftest pvkit:pvkit_blk_hostile "$@"
