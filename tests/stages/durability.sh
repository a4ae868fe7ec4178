#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage durability: PVKIT_DURABLE_CYCLES (default 5) boots on one ext4
# image, each killed with SIGKILL a random 0.5-6 s after its check
# (harness --kill-after).  Each boot runs pvkit_durable: it first checks
# that every record the previous boot acknowledged (written, fsync'd,
# then announced on the console) is there, then appends and acknowledges
# records until QEMU is killed.  A cycle passes when it verified exactly
# what the previous ones acknowledged, acknowledged new records beyond
# them (a cycle that hangs and acknowledges nothing fails), and ended by
# the planned kill.  Needs QEMU, KERNEL, IMAGE.
#
# Five cycles, not twenty: the powerloss stage now does the stricter part
# of this job (ten cuts through a volatile write cache that loses what
# was not flushed, with e2fsck after each); these cycles keep checking the
# plain SIGKILL path on the host's page cache, and keep make check's time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE
img=$RESULTS/disk-durable.raw
out=$RESULTS/durability
cycles=${PVKIT_DURABLE_CYCLES:-5}
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
	con=$(tr -d '\r' < "$log/console.log" 2>/dev/null || true)
	if grep -q 'DURABLE-LOST' <<< "$con"; then
		grep 'DURABLE-LOST' <<< "$con"
		echo "cycle $cycle: acknowledged records lost (see $log)"
		exit 1
	fi
	# "DURABLE-VERIFIED <valid records> (acknowledged <what we passed>)"
	read -r valid passed < <(sed -nE \
		's/.*DURABLE-VERIFIED ([0-9]+) \(acknowledged ([0-9]+)\).*/\1 \2/p' \
		<<< "$con" | head -n 1) || true
	if [ -z "${passed:-}" ]; then
		echo "cycle $cycle: never verified (harness exit $rc, see $log)"
		exit 1
	fi
	if [ "$passed" != "$acked" ] || [ "$valid" -lt "$acked" ]; then
		echo "cycle $cycle: verified $valid of $passed records, want all $acked acknowledged before (see $log)"
		exit 1
	fi
	# The highest acknowledged record, not the last line's: the kill can
	# cut the console mid-line ("DURABLE-ACK 1" of 10350), and a cut
	# number is always smaller than the complete one before it.
	n=$(sed -nE 's/.*DURABLE-ACK ([0-9]+).*/\1/p' <<< "$con" | sort -n | tail -n 1)
	echo "cycle $cycle: killed $((t / 10)).$((t % 10)) s after the check; $valid records valid of $acked acknowledged; last ack ${n:-none}"
	if [ -z "$n" ] || [ "$n" -le "$acked" ]; then
		echo "cycle $cycle: acknowledged no record beyond the $acked before (harness exit $rc, see $log)"
		exit 1
	fi
	if [ "$rc" != 12 ]; then
		echo "cycle $cycle: expected the planned kill (exit 12), got $rc (see $log)"
		exit 1
	fi
	acked=$n
done
echo "$cycles SIGKILL cycles, $acked records acknowledged, 0 lost"
