#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage pv-guest: the PV guest, two vCPUs with IPIs on event channels,
# with a kit NIC on QEMU user networking and the harness's test peer,
# runs the kit's suite and an upstream one ($SUITES, KSELFTEST_SUITES);
# the console must show detection, the hypercall page and the IPI
# switch, the host side of the PV console what the selftest wrote to
# hvc0.  Known failures are xfail; a skip not listed in
# tests/expected-skips.txt fails.  The idle timeout is long because
# timers/raw_skew sleeps 120 s without printing.  Extra arguments go to
# the harness.  Ends with the harness's "N passed, N failed, N
# skipped".  Needs QEMU, KERNEL, IMAGE.
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
vm "$RESULTS/pv-guest" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
	--smp 2 --modprobe pvkit_test --modprobe pvkit_testfront \
	--loop-console --host-requests --kselftest "$SUITES" \
	--pv-disk "$RESULTS/disk-rw.raw" \
	--pv-disk "$RESULTS/disk-ro.raw,ro" \
	--pv-nic user --net-peer \
	--known-failures "$KIT/tests/known-failures.txt" --expected-skips "$KIT/tests/expected-skips.txt" \
	"${KSELFTEST_LIMITS[@]}" \
	--expect-console 'pvkit: detected hypervisor at CPUID 0x40000100' \
	--expect-console 'pvkit: hypercall page installed' \
	--expect-console 'smpboot: Total of 2 processors activated' \
	--expect-console 'pvkit: IPIs on event channels' \
	"${hvc[@]}" "$@"
