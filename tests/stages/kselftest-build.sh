#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage kselftest-build: every kselftest suite the run asked for built.
# scripts/build-kernel.sh builds each suite on its own and lists the ones
# that did not build, with their first error, in KSELFTEST_BUILD_FAILURES
# (the others still build and run): one TAP line per suite here.  Needs
# KERNEL_ENV; the suites are $SUITES' names (KSELFTEST_SUITES) and
# COMPARE_SUITES'.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need KERNEL_ENV
failures=$(sed -n 's/^KSELFTEST_BUILD_FAILURES=//p' "$KERNEL_ENV")
[ -f "$failures" ] || { echo "not ok - no list of kselftest build failures ($KERNEL_ENV)"; exit 1; }
for s in $(for s in $SUITES $COMPARE_SUITES; do echo "${s%%:*}"; done | sort -u); do
	err=$(awk -F '\t' -v s="$s" '$1 == s { print $2; exit }' "$failures")
	if [ -n "$err" ]; then
		echo "not ok - kselftest suite $s builds: $err"
	else
		echo "ok - kselftest suite $s builds"
	fi
done
