#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage earlycon: the early boot console: everything printed before the
# serial console came up, detection included, reaches the host over
# hypercalls.  (It is not used in the suite run: printk then skips
# replaying the early log to ttyS0, assuming boot and real console share
# a device.)  Needs QEMU, KERNEL, IMAGE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE
vm "$RESULTS/pv-earlycon" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
	--append pvkit_earlycon --cmd 'cat /sys/hypervisor/type' \
	--expect-hvc 'Linux version 6\.12' \
	--expect-hvc 'pvkit: hypercall page installed' \
	--expect-console 'bootconsole \[pvkitboot0\] disabled'
