#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage store-smoke: the store served by the reference host to a bare test
# guest (backend-qemu/tests/store-smoke/run.sh).  Needs QEMU.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU
exec "$KIT/backend-qemu/tests/store-smoke/run.sh" "$QEMU"
