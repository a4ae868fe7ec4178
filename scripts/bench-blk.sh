#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Block benchmark (issue 4): fio 4 KiB random read at QD32 and 1 MiB
# sequential read and write at QD8 through the kit's disk (QEMU's xen-disk
# on the pvkit bus), virtio-blk-pci and an emulated AHCI disk: one guest
# (root on a kit disk, fio from there), one QEMU run, one raw image file
# attached three times.  Writes a markdown table (IOPS, MB/s, host
# transitions and QEMU CPU time per request) and prints it.
#   scripts/bench-blk.sh QEMU KERNEL INITRD ROOTFS OUTDIR TABLE
# Environment: BENCH_BLK_RUNTIME (s per measured job, default 5),
# BENCH_BLK_COUNT_RUNTIME (s per traced job, default 3), BENCH_BLK_MB
# (image size, default 256), BENCH_COMMAND (the command named in the table).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# = 6 ] || die "usage: bench-blk.sh QEMU KERNEL INITRD ROOTFS OUTDIR TABLE"
qemu=$1 kernel=$2 initrd=$3 rootfs=$4 out=$5 table=$6
runtime=${BENCH_BLK_RUNTIME:-5}
count_runtime=${BENCH_BLK_COUNT_RUNTIME:-3}
mb=${BENCH_BLK_MB:-256}
command=${BENCH_COMMAND:-scripts/bench-blk.sh $*}
for f in "$qemu" "$kernel" "$initrd" "$rootfs"; do
	[ -f "$f" ] || die "$f: no such file"
done

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
# Filled with data (not sparse) so reads reach the host's page cache, not
# holes; the host's cache serves all three disks alike.
img=$out/disk.raw
log "image: $mb MiB of random data in $img"
dd if=/dev/urandom of="$img" bs=1M count="$mb" status=none

# The same file three times: same drive options but the id, no file lock
# (QEMU would refuse the second writer otherwise).
drive() {	# drive ID
	echo "file=$img,format=raw,if=none,id=$1,file.locking=off"
}
# shellcheck disable=SC2054  # the commas are QEMU's option syntax
qemu_args=(
	-drive "$(drive bench-kit)"
	-device xen-disk,vdev=xvdb,drive=bench-kit,id=bench-xvdb
	-drive "$(drive bench-virtio)"
	-device virtio-blk-pci,drive=bench-virtio,id=bench-virtio
	# virtio-blk for the counting pass only: without an ioeventfd, so its
	# queue notifications (MMIO writes) pass QEMU's access trace point
	# instead of going straight to an eventfd.
	-drive "$(drive bench-virtio-count)"
	-device virtio-blk-pci,drive=bench-virtio-count,id=bench-virtio-count,ioeventfd=off,serial=bench-count
	-drive "$(drive bench-ahci)"
	-device ahci,id=bench-ahci
	-device ide-hd,drive=bench-ahci,bus=bench-ahci.0
	# trace events start off; the guest switches them on for the
	# counting pass.  Timestamps place each line between the job marks.
	-D "$out/vm/trace.log" -msg timestamp=on
)
harness_args=()
for a in "${qemu_args[@]}"; do
	harness_args+=("--qemu-arg=$a")
done

guest_cmd="RUNTIME=$runtime COUNT_RUNTIME=$count_runtime
$(cat "$KIT/scripts/bench-guest-lib.sh" "$KIT/scripts/bench-blk-guest.sh")"

# printk.devkmsg=on: the host requests go through /dev/kmsg, far more
# than its default rate limit (10 per 5 s) lets through.
"$KIT/tests/harness/pvkit-vm" --qemu "$qemu" --kernel "$kernel" \
	--initrd "$initrd" --data-dir /usr/share/seabios \
	--data-dir /usr/share/qemu --out "$out/vm" --pvkit --pvkit-opts id=pvkit \
	--root-disk "$rootfs" --host-requests --append printk.devkmsg=on \
	--mem 512 --smp 1 --idle-timeout 120 --timeout 1200 \
	"${harness_args[@]}" --cmd "$guest_cmd" \
	--expect-console 'pvkit-init: root on /dev/pvda' \
	--expect-console 'bench-blk: done'
rm -f "$img"

python3 "$KIT/scripts/bench-blk-report.py" --command "$command" \
	--runtime "$runtime" --count-runtime "$count_runtime" --mb "$mb" \
	"$out/vm" > "$table.tmp"
mv "$table.tmp" "$table"
cat "$table"
