#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Soak (make soak, not a make check stage): the kit's own suites in the
# PV guest, a fresh boot each round, again and again until MINUTES have
# passed (default 60), on whatever kernel the pipeline built (FLAVOUR=debug
# for the kernel's checkers).  A round passes when the harness does: no
# test failed and the kernel reported nothing (an Oops, WARNING, KASAN,
# lockdep splat, stall or hung task is harness exit 10).  The soak stops
# at the first round that does not pass, keeps that round's results in
# $RESULTS/soak/round-N, and prints a table of rounds, tests run and
# kernel reports.  Needs QEMU, KERNEL, IMAGE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE
minutes=${MINUTES:-60}
out=$RESULTS/soak
rm -rf "$out"
mkdir -p "$out"
end=$((SECONDS + minutes * 60))
rounds=0 tests=0 reports=0 failed=0
while [ $SECONDS -lt $end ]; do
	rounds=$((rounds + 1))
	rc=0
	RESULTS=$out/round-$rounds KSELFTEST_SUITES=pvkit SUITES=pvkit \
		"$KIT/tests/stages/pv-guest.sh" > "$out/round-$rounds.log" 2>&1 || rc=$?
	line=$(tail -n 1 "$out/round-$rounds.log")
	echo "round $rounds: $line (exit $rc, $((SECONDS / 60)) of $minutes min)"
	n=$(sed -nE 's/^([0-9]+) passed.*/\1/p' <<< "$line")
	tests=$((tests + ${n:-0}))
	if [ "$rc" = 10 ] || grep -q 'pvkit-vm: FAIL (kernel' "$out/round-$rounds.log"; then
		reports=$((reports + 1))
	fi
	if [ "$rc" != 0 ]; then
		failed=1
		echo "round $rounds failed: see $out/round-$rounds.log and $out/round-$rounds/"
		break
	fi
	rm -rf "$out/round-$rounds"
done
printf '\n| kernel | minutes | rounds | tests passed | kernel reports |\n'
printf '|---|---:|---:|---:|---:|\n'
# The kernel by its build directory: build-<key>, or build-<key>-debug.
kernel=${KERNEL%/arch/x86/boot/bzImage}
printf '| %s | %d | %d | %d | %d |\n\n' "${kernel##*/}" \
	"$((SECONDS / 60))" "$rounds" "$tests" "$reports"
[ "$failed" = 0 ]
