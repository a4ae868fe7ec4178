#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage pv-guest: the PV guest, two vCPUs with IPIs on event channels,
# with a kit NIC on QEMU user networking and the harness's test peer,
# runs the kit's suite and an upstream one ($SUITES, KSELFTEST_SUITES);
# the console must show detection, the hypercall page and the IPI
# switch, the host side of the PV console what the selftest wrote to
# hvc0.  Known failures are xfail; a skip not listed in
# tests/expected-skips.txt fails.  timers:raw_skew, if asked for, runs
# beside it in a guest of its own.  Extra arguments go to the main
# guest's harness.  Ends with one "N passed, N failed, N skipped" line
# for both guests.  Needs QEMU, KERNEL, IMAGE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE
# Sparse raw images for pvkit_blk: the first writable, the second
# read-only (the harness attaches them as QEMU xen-disk devices).
mkdir -p "$RESULTS"
rm -f "$RESULTS/disk-rw.raw" "$RESULTS/disk-ro.raw"
truncate -s 64M "$RESULTS/disk-rw.raw"
truncate -s 8M "$RESULTS/disk-ro.raw"
# The kit's own suite says hello on hvc0; a run of other suites does not.
hvc=()
case " $SUITES " in
*" pvkit "* | *" pvkit:"*)
	hvc=(--expect-hvc 'pvkit-selftest: hello from the guest') ;;
esac
# timers:raw_skew sleeps 120 s and then compares two clocks' rates,
# which another guest's load does not change: it runs in a guest of its
# own (one vCPU, the kit's device, no disks), beside the main one, so
# the stage does not wait for it.  Both guests' results count.
main=" $SUITES "
side_rc=
if [[ $main == *" timers:raw_skew "* ]]; then
	main=${main/" timers:raw_skew "/" "}
	side_rc=0
	vm "$RESULTS/pv-guest-raw-skew" --kernel "$KERNEL" --initrd "$IMAGE" \
		--pvkit --smp 1 --kselftest timers:raw_skew \
		--known-failures "$KIT/tests/known-failures.txt" \
		--expected-skips "$KIT/tests/expected-skips.txt" \
		"${KSELFTEST_LIMITS[@]}" > "$RESULTS/pv-guest-raw-skew.log" 2>&1 &
	side_pid=$!
fi
# shellcheck disable=SC2086,SC2116 # one line: split and joined on purpose
main=$(echo $main)
main_rc=0
vm "$RESULTS/pv-guest" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
	--smp 2 --modprobe pvkit_test --modprobe pvkit_testfront \
	--loop-console --host-requests --kselftest "$main" \
	--pv-disk "$RESULTS/disk-rw.raw" \
	--pv-disk "$RESULTS/disk-ro.raw,ro" \
	--pv-nic user --net-peer \
	--known-failures "$KIT/tests/known-failures.txt" --expected-skips "$KIT/tests/expected-skips.txt" \
	"${KSELFTEST_LIMITS[@]}" \
	--expect-console 'pvkit: detected hypervisor at CPUID 0x40000100' \
	--expect-console 'pvkit: hypercall page installed' \
	--expect-console 'smpboot: Total of 2 processors activated' \
	--expect-console 'pvkit: IPIs on event channels' \
	--expect-console 'pvkit: clock: pvkit-clock, TSC [0-9]+ kHz, stable, in the vDSO' \
	--expect-console 'clocksource: Switched to clocksource pvkit-clock' \
	"${hvc[@]}" "$@" | tee "$RESULTS/pv-guest-main.log" || main_rc=$?
[ -z "$side_rc" ] && exit "$main_rc"
wait "$side_pid" || side_rc=$?
echo "# beside it, timers:raw_skew in a guest of its own:"
cat "$RESULTS/pv-guest-raw-skew.log"
# One closing line for the stage: the sum of both guests' lines.
read -r p1 f1 s1 <<< "$(summary_counts "$RESULTS/pv-guest-main.log")" || true
read -r p2 f2 s2 <<< "$(summary_counts "$RESULTS/pv-guest-raw-skew.log")" || true
if [ -z "${p1:-}" ] || [ -z "${p2:-}" ]; then
	echo "pv-guest: a guest ended without its 'N passed' line"
	exit 1
fi
echo "$((p1 + p2)) passed, $((f1 + f2)) failed, $((s1 + s2)) skipped"
[ "$main_rc" = 0 ] && [ "$side_rc" = 0 ]
