#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage debug: the kit's own suite, as the pv-guest stage runs it (two
# vCPUs, kit disks and NIC, the test modules), on the debug flavour of
# the kernel (arch/x86/configs/pvkit-debug.config: KASAN, KFENCE,
# lockdep, atomic-sleep, list and UBSAN checks, hung-task and lockup
# detectors), so every mechanism of the kit runs once under the
# kernel's own checkers.  Any report of theirs is a kernel failure
# (harness exit 10) and fails the stage.
#
# The kernel is the one make check started building in the background
# after the build stage (scripts/pipeline.sh start_debug_build): wait
# for it, take what it built, or build it here if it did not finish.
# Ends with the harness's "N passed, N failed, N skipped".  Needs QEMU.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU
env=$RESULTS/build-debug.env
mkdir -p "$RESULTS"
flock "$RESULTS/build-debug.lock" true
if [ ! -f "$env" ]; then
	echo "# the background debug build left nothing: building here"
	FLAVOUR=debug BUILD_SUITES=pvkit KSELFTEST_SUITES=pvkit \
		"$KIT/scripts/pipeline.sh" build-env "$env" >&2
fi
# shellcheck source=/dev/null # written by the build
. "$env"
# shellcheck source=/dev/null # written by the build
. "$KERNEL_ENV"
echo "# debug kernel: $KERNEL"
export KERNEL_ENV KERNEL IMAGE
RESULTS=$RESULTS/debug-run KSELFTEST_SUITES=pvkit SUITES=pvkit \
	"$KIT/tests/stages/pv-guest.sh"
