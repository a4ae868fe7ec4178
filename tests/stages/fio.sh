#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage fio: fio with verification on a pvkit disk, from a guest whose
# root file system is itself on a pvkit disk (fio lives there): 4 KiB
# random and 1 MiB sequential writes, queue depth 1 and 32, two jobs each
# on their own half of the disk.  Each fio run must exit 0, report error
# 0 and have read back (verified) as many KiB as it wrote.  Needs QEMU,
# KERNEL, IMAGE, ROOTFS.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE ROOTFS
disk=$RESULTS/disk-fio.raw
mkdir -p "$RESULTS"
rm -f "$disk"
truncate -s 64M "$disk"
# The guest's busybox sh: fio's terse output goes to a file, not through a
# pipe, so its exit status is fio's.  Terse v3 fields: 3 job name, 5
# error, 6 KiB read, 47 KiB written.
# shellcheck disable=SC2016 # the guest expands them
vm "$RESULTS/fio" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit --smp 2 \
	--root-disk "$ROOTFS" --pv-disk "$disk" --expect-console \
	'pvkit-init: root on /dev/pvda' --cmd '
	set -e
	grep -q "^/dev/pvda / ext4" /proc/mounts
	for rw in randwrite:4k write:1M; do
		for qd in 1 32; do
			job=${rw%%:*}-${rw#*:}-qd$qd
			rc=0
			fio --name="$job" \
				--filename=/dev/pvdb --direct=1 \
				--ioengine=libaio --rw="${rw%%:*}" \
				--bs="${rw#*:}" --iodepth=$qd --numjobs=2 \
				--size=32M --offset_increment=32M \
				--verify=crc32c --do_verify=1 \
				--verify_fatal=1 --group_reporting \
				--output-format=terse --terse-version=3 \
				> /tmp/fio.out || rc=$?
			res=$(grep "^3;" /tmp/fio.out | cut -d";" -f3,5,6,47)
			echo "fio $job: exit $rc; name;error;KiB read;KiB written: $res"
			case "$rc:$res" in
			"0:$job;0;"*) ;;
			*) echo "FIO-FAIL $job: fio exit $rc, result \"$res\""; exit 1 ;;
			esac
			r=${res#*;*;}
			[ "${r%;*}" = "${r#*;}" ] && [ "${r#*;}" -gt 0 ] || {
				echo "FIO-FAIL $job: read back ${r%;*} KiB of ${r#*;} written"
				exit 1
			}
		done
	done
	echo "fio: all jobs verified"' \
	--expect-console 'fio: all jobs verified'
