#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage host-unit: the host unit tests of the hypercall dispatcher and the
# store's ring framing, and a seeded fuzz run, under ASan+UBSan
# (tests/host/Makefile).  Its last line is "N passed, N failed, 0 skipped".
set -euo pipefail
. "$(dirname "$0")/lib.sh"
exec make -s -C "$KIT/tests/host"
