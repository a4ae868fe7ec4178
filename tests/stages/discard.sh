#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage discard: a 16 MiB image, fully written on the host, discarded
# whole by the guest (blkdiscard through the kit's frontend and QEMU's
# xen-disk): the file's allocated blocks must fall to (nearly) nothing.
# Needs QEMU, KERNEL, IMAGE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE
img=$RESULTS/disk-discard.raw
mkdir -p "$RESULTS"
dd if=/dev/urandom of="$img" bs=1M count=16 status=none
sync "$img"
before=$(stat -c %b "$img")
vm "$RESULTS/discard" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
	--pv-disk "$img" --cmd 'blkdiscard /dev/pvda'
after=$(stat -c %b "$img")
echo "allocated 512-byte blocks: $before before, $after after"
[ "$before" -ge 32768 ] && [ "$after" -le 2048 ]
