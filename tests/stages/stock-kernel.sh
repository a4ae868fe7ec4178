#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage stock-kernel: a kernel without the kit (Debian's, fetched by
# scripts/fetch-stock-kernel.sh) boots on the reference host, the pvkit
# device as shipped (test features off), and sees no kit.  Needs QEMU,
# IMAGE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU IMAGE
stock=$("$KIT/scripts/fetch-stock-kernel.sh" | tail -n 1)
VM_PVKIT_OPTS='' vm "$RESULTS/stock-kernel" --kernel "$stock" \
	--initrd "$IMAGE" --pvkit --cmd '! test -e /sys/hypervisor/pvkit'
