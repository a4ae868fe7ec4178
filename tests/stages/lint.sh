#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage lint: the kernel quality gates (checkpatch --strict, sparse,
# kernel-doc) over the kit's kernel code in the built tree
# (scripts/lint.sh; TAP lines).  Needs KERNEL_ENV.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need KERNEL_ENV
exec "$KIT/scripts/lint.sh" "$KERNEL_ENV"
