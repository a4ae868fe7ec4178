#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage no-device: the kit kernel on a host without the pvkit device
# boots as an ordinary guest (no /sys/hypervisor/type, its tests still
# there).  Needs QEMU, KERNEL, IMAGE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE
vm "$RESULTS/no-device" --kernel "$KERNEL" --initrd "$IMAGE" --no-pvkit \
	--cmd '! test -e /sys/hypervisor/type && test -e /kselftest/run_kselftest.sh' \
	--expect-console 'PVKIT-BOOTED'
