#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage harness-unit: the harness's unit tests (tests/harness/
# test_pvkit_vm.py: KTAP parser, failure detection), their unittest
# output turned into "N passed, N failed, N skipped".
set -uo pipefail
. "$(dirname "$0")/lib.sh"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
(cd "$KIT/tests/harness" && python3 -m unittest -v) > "$out" 2>&1 || rc=$?
cat "$out"
ran=$(sed -nE 's/^Ran ([0-9]+) tests? in .*/\1/p' "$out")
[ -n "$ran" ] || { echo "no 'Ran N tests' line"; exit 1; }
# The closing line: "OK", "OK (skipped=2)" or
# "FAILED (failures=1, errors=1, skipped=2, expected failures=1)".
count() {	# count KEY: KEY=N on unittest's closing line, else 0
	local n
	n=$(grep -E '^(OK|FAILED)( |$)' "$out" | tail -n 1 |
		sed -nE "s/.*[(, ]$1=([0-9]+).*/\\1/p")
	echo "${n:-0}"
}
failed=$(($(count failures) + $(count errors) + $(count 'unexpected successes')))
skipped=$(($(count skipped) + $(count 'expected failures')))
echo "$((ran - failed - skipped)) passed, $failed failed, $skipped skipped"
exit $rc
