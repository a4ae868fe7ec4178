#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage xen-bus: QEMU's Xen backends on the pvkit device: store layout,
# hot-plug, rings the guest grants, garbage (tests/pipeline/xen-bus.py;
# TAP lines).  Needs QEMU, KERNEL, IMAGE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE
exec "$KIT/tests/pipeline/xen-bus.py" "$QEMU" "$KERNEL" "$IMAGE" "$RESULTS/xen-bus"
