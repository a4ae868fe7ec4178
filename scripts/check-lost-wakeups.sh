#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Lost-notification check for the kit's block ring: one 1-vCPU guest
# (root on a kit disk) runs fio 4 KiB random reads at QD32 on a second kit
# disk for SECONDS (default 150) with a 5 s I/O timeout, then prints
# "LOSTWAKE N": how many requests blkfront's timeout found unanswered
# (a notification lost in either direction, recovered by the timeout).
# With one vCPU QEMU's TCG runs without CF_PARALLEL; before patch 0010
# (backend-qemu/patches) a guest's locked instruction was not a host
# fence there and this found lost wakeups within minutes.  Not a test
# of make check (minutes of I/O); run it after touching ring barriers.
#   scripts/check-lost-wakeups.sh QEMU KERNEL INITRD ROOTFS OUTDIR [SECONDS]
# (the paths "scripts/pipeline.sh build" prints; ROOTFS is the build's
# staging/rootfs.ext4).  Exit status 1 when any request went unanswered.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 5 ] || die "usage: check-lost-wakeups.sh QEMU KERNEL INITRD ROOTFS OUTDIR [SECONDS]"
qemu=$1 kernel=$2 initrd=$3 rootfs=$4 out=$5 secs=${6:-150}
mkdir -p "$out"
dd if=/dev/urandom of="$out/disk.raw" bs=1M count=64 status=none
cp --reflink=auto "$rootfs" "$out/root.ext4"
rc=0
"$KIT/tests/harness/pvkit-vm" --qemu "$qemu" --data-dir /usr/share/seabios \
	--data-dir /usr/share/qemu --out "$out/vm" --kernel "$kernel" \
	--initrd "$initrd" --pvkit --smp 1 --mem 512 \
	--root-disk "$out/root.ext4" --pv-disk "$out/disk.raw" \
	--timeout $((secs * 4 + 300)) --idle-timeout $((secs * 2 + 120)) \
	--cmd "echo 5000 > /sys/block/pvdb/queue/io_timeout
	fio --name=r --filename=/dev/pvdb --direct=1 --ioengine=libaio \
		--rw=randread --bs=4k --iodepth=32 --runtime=$secs --time_based \
		--output-format=terse --terse-version=3 | cut -d';' -f8
	echo LOSTWAKE \$(dmesg | grep -c unanswered)" > "$out/harness.log" 2>&1 || rc=$?
rm -f "$out/disk.raw" "$out/root.ext4"
n=$(tr -d '\r' < "$out/vm/console.log" | sed -n 's/^LOSTWAKE //p' | tail -n 1)
[ -n "$n" ] || die "the guest did not finish (harness exit $rc, see $out)"
tr -d '\r' < "$out/vm/console.log" | grep -a 'unanswered' | head -n 5 || true
echo "LOSTWAKE $n"
[ "$n" = 0 ]
