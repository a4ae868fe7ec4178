# SPDX-License-Identifier: GPL-2.0
# Guest side of scripts/bench-blk.sh (busybox sh; the harness runs it as
# the guest command, with the RUNTIME and COUNT_RUNTIME lines and
# scripts/bench-guest-lib.sh prepended).
#
# One image file, three disks: the kit's (pvdb), virtio-blk (vda), AHCI
# (sda).  Every job is fenced by two marks: a harness-cputime host request
# (QEMU's CPU time and the host's wall clock, labelled), qom-gets of the
# pvkit device's counters, the disk's /sys/block stat line and the guest's
# interrupt counts.  The
# measuring pass runs untraced; the counting pass runs the same jobs on
# virtio-blk and AHCI with QEMU's trace events on (the host counts them
# between the marks' times).
# fio's json goes to the console between PVKIT-FIO-BEGIN/END lines.
set -eu

DISKS="kit:pvdb virtio:vda ahci:sda"
JOBS="randread-4k-qd32:randread:4k:32 read-1m-qd8:read:1M:8 write-1m-qd8:write:1M:8"
EVENTS="memory_region_ops_read memory_region_ops_write virtio_notify ahci_irq_raise"

# mark LABEL DEV: the harness answers the requests in order, before the
# guest's device does anything again (the sleep).
mark() {
	host_mark "$1"
	echo "PVKIT-BLKSTAT $1 $(cat "/sys/block/$2/stat")"
	# the guest's view of the interrupts: HYP (the kit's upcall), virtio, ahci
	grep -E 'HYP|virtio|ahci' /proc/interrupts | while IFS= read -r l; do
		echo "PVKIT-IRQ $1 $l"
	done
	sleep 1
}

# pass measure|count RUNTIME DISKS: every job on those disks, side by side
pass() {
	for j in $JOBS; do
		name=${j%%:*} rest=${j#*:}
		rw=${rest%%:*} rest=${rest#*:}
		bs=${rest%%:*} qd=${rest#*:}
		for d in $3; do
			label=$1:${d%%:*}:$name dev=${d#*:}
			mark "$label:before" "$dev"
			echo "PVKIT-FIO-BEGIN $label"
			# a failed job (e.g. a disk that stopped answering) is
			# a result too: the host's table says so
			fio --name="$label" --filename="/dev/$dev" --direct=1 \
				--ioengine=libaio --thread --rw="$rw" --bs="$bs" \
				--iodepth="$qd" --time_based --runtime="$2" \
				--output-format=json ||
				echo "PVKIT-FIO-FAILED $label"
			echo "PVKIT-FIO-END $label"
			mark "$label:after" "$dev"
		done
	done
}

for d in $DISKS; do
	dev=${d#*:}
	[ -b "/dev/$dev" ] || { echo "bench-blk: no /dev/$dev (${d%%:*})"; exit 1; }
	# the same request path for all three: no I/O scheduler
	echo none > "/sys/block/$dev/queue/scheduler"
	echo "PVKIT-QUEUE ${d%%:*} $dev" \
		"max_sectors_kb=$(cat "/sys/block/$dev/queue/max_sectors_kb")" \
		"max_segments=$(cat "/sys/block/$dev/queue/max_segments")" \
		"nr_requests=$(cat "/sys/block/$dev/queue/nr_requests")"
done
pass measure "$RUNTIME" "$DISKS"
# The kit's exits and interrupts are the pvkit device's own counters,
# exact in the measuring pass: the kit's disk sits the traced pass out
# (with tracing on it once stopped answering for 30 s: see README).
trace true "$EVENTS"
# virtio: the twin device without ioeventfd (vdb), see bench-blk.sh.
[ "$(cat /sys/block/vdb/serial)" = bench-count ] ||
	{ echo "bench-blk: vdb is not the counting virtio disk"; exit 1; }
echo none > /sys/block/vdb/queue/scheduler
pass count "$COUNT_RUNTIME" "virtio:vdb ahci:sda"
trace false "$EVENTS"
echo "PVKIT-INTERRUPTS-BEGIN"
cat /proc/interrupts
echo "PVKIT-INTERRUPTS-END"
echo "bench-blk: done"
