#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage panic: a guest panic (no init to run) is caught and reported as
# the harness's exit 10, with the panic in the console log.  Needs QEMU,
# KERNEL, IMAGE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE
rc=0
vm "$RESULTS/panic" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
	--append 'rdinit=/nonexistent init=/nonexistent' --cmd true || rc=$?
echo "harness exit $rc (want 10)"
[ "$rc" = 10 ] || exit 1
grep -q 'Kernel panic' "$RESULTS/panic/console.log" ||
	{ echo "no 'Kernel panic' in $RESULTS/panic/console.log"; exit 1; }
echo "guest panic gives exit 10"
