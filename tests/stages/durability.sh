#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage durability: PVKIT_DURABLE_CYCLES (default 20) boots on one ext4
# image; each first checks that every record the previous boot
# acknowledged (written, fsync'd, then announced on the console) is there,
# then appends and acknowledges records until QEMU is killed with SIGKILL
# a random 0.5-6 s after the check (harness --kill-after).  One lost
# record fails the stage.  Needs QEMU, KERNEL, IMAGE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE
img=$RESULTS/disk-durable.raw
out=$RESULTS/durability
cycles=${PVKIT_DURABLE_CYCLES:-20}
acked=0
mkdir -p "$RESULTS"
rm -rf "$img" "$out"
mkdir -p "$out"
truncate -s 64M "$img"
/sbin/mke2fs -q -t ext4 -F "$img"
for cycle in $(seq 1 "$cycles"); do
	t=$((5 + RANDOM % 56))	# tenths of a second after the check
	log=$out/cycle-$cycle
	rc=0
	vm "$log" -q --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
		--pv-disk "$img" --timeout 300 --kill-after \
		'DURABLE-VERIFIED' --kill-delay "$((t / 10)).$((t % 10))" \
		--cmd "mkdir -p /mnt &&
		mount -t ext4 /dev/pvda /mnt &&
		/kselftest/pvkit/pvkit_durable /mnt $acked" || rc=$?
	if grep -q 'DURABLE-LOST' "$log/console.log"; then
		grep 'DURABLE-LOST' "$log/console.log"
		echo "cycle $cycle: acknowledged records lost"
		exit 1
	fi
	grep -q 'DURABLE-VERIFIED' "$log/console.log" || {
		echo "cycle $cycle: never verified (harness exit $rc, see $log)"
		exit 1
	}
	[ "$rc" = 12 ] || {
		echo "cycle $cycle: expected the wall-clock kill (exit 12), got $rc"
		exit 1
	}
	n=$(grep -o 'DURABLE-ACK [0-9]*' "$log/console.log" | tail -n 1 | cut -d' ' -f2)
	echo "cycle $cycle: killed $((t / 10)).$((t % 10)) s after the check; $(grep -o 'DURABLE-VERIFIED.*' "$log/console.log"); last ack ${n:-none}"
	acked=${n:-$acked}
done
echo "$cycles SIGKILL cycles, $acked records acknowledged, 0 lost"
