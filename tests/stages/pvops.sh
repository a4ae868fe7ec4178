#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage clock-off: the kit's clock tests with the clock switched off
# ("pvkit_clock=off"): the native clocks (the TSC clocksource, the CMOS
# RTC's boot time) must pass them too, and the kit's clock must say it is
# off.  pv-guest runs the same tests with the kit's clock on.  Four vCPUs
# on this machine's two CPUs, so readers on every vCPU race.
#
# The native side at its best: "tsc=reliable".  Without it the
# clocksource watchdog, comparing the TSC with the emulated HPET while
# TCG is busy, soon finds a skew (535 us over 511 ms, seen) and drops
# the TSC for the HPET, which has no vDSO clock: clock_gettime() then
# enters the kernel every time.  The kit's clock is not watched (the
# host's record defines time), so it needs no such option.  Prints the
# harness's TAP lines and its closing "N passed" line.  Needs QEMU,
# KERNEL, IMAGE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE
vm "$RESULTS/clock-off" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
	--smp 4 --append 'pvkit_clock=off tsc=reliable' --host-requests \
	--kselftest pvkit:pvkit_clock \
	--known-failures "$KIT/tests/known-failures.txt" \
	--expected-skips "$KIT/tests/expected-skips.txt" \
	--expect-console 'clocksource: Switched to clocksource tsc'
