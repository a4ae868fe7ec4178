#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# PV guest vs ordinary guest: the same kselftests on the same kernel and
# image, once with the pvkit device (the kit's port active) and once on
# the same QEMU without it; every test must end the same way in both, or
# be listed in tests/known-failures.txt (scripts/compare-results.py).
#   compare.sh ['SUITE[:TEST] ...']   (default: COMPARE_SUITES, lib.sh)
# Environment: QEMU, KERNEL, IMAGE (set by scripts/pipeline.sh).  The
# two guests run side by side, two vCPUs each (one would hide SMP
# effects); TCG runs them on the two host cores.  Prints TAP lines and a
# closing "N passed, N failed, N skipped" line.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE
suites=${1:-$COMPARE_SUITES}
out=$RESULTS/compare
rm -rf "$out"
mkdir -p "$out"

guest() {	# guest NAME harness-args...
	local name=$1
	shift
	vm "$out/$name" --kernel "$KERNEL" --initrd "$IMAGE" --smp 2 \
		"${KSELFTEST_LIMITS[@]}" --kselftest "$suites" "$@" \
		> "$out/$name.log" 2>&1
}

rc_pv=0 rc_ord=0
guest pv --pvkit &
pid=$!
guest ordinary --no-pvkit || rc_ord=$?
wait "$pid" || rc_pv=$?
# Exit 1 only says some test failed: that is for the comparison to judge.
# Anything else (a kernel failure, a timeout, a QEMU crash) is a failure
# of the run itself.
for side in pv:$rc_pv ordinary:$rc_ord; do
	case "${side#*:}" in
	0 | 1) ;;
	*) echo "not ok - compare: the ${side%%:*} guest's run failed (harness exit ${side#*:}, see $out/${side%%:*}.log)"
	   echo "0 passed, 1 failed, 0 skipped"
	   exit 1 ;;
	esac
done
exec python3 "$KIT/scripts/compare-results.py" \
	--known "$KIT/tests/known-failures.txt" --out "$out/differences.md" \
	"$out/pv/results.json" "$out/ordinary/results.json"
