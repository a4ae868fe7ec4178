#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage stage-table: run_stage (tests/stages/lib.sh), the helper behind
# make check's stage table, on fake stages: what each reports must add up
# to the right counts, and a stage that fails without saying so must
# still count as failed.  Needs no build; prints TAP lines.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
RESULTS=$tmp/results
n=0 bad=0

# case NAME "P F S" WANT-STATUS KIND SCRIPT: run SCRIPT (sh -c) as a
# stage of KIND; the counts it adds must be P F S, its log must be
# $RESULTS/<stage>.log, run_stage's status WANT-STATUS (0 or 1), and a
# failed stage's output must name that log.
case_() {
	local what=$1 want=$2 want_rc=$3 kind=$4 script=$5 rc=0 got out
	n=$((n + 1))
	PASSED=0 FAILED=0 SKIPPED=0
	out=$(run_stage "fake$n" "$kind" "fake stage $n" sh -c "$script"; echo "rc=$?")
	# run_stage ran in the command substitution: read its counts back
	# from its closing line.
	got=$(sed -nE "s/^# fake$n: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped in [0-9]+ s( \(see .*\))?$/\\1 \\2 \\3/p" <<< "$out")
	rc=${out##*rc=}
	if [ "$got" = "$want" ] && [ "$rc" = "$want_rc" ] && [ -f "$RESULTS/fake$n.log" ] &&
		{ [ "$want_rc" = 0 ] || grep -q "see $RESULTS/fake$n.log" <<< "$out"; }; then
		echo "ok $n - stage table: $what"
	else
		echo "not ok $n - stage table: $what (counted '$got', want '$want'; status $rc, want $want_rc)"
		sed 's/^/#   /' <<< "$out"
		bad=$((bad + 1))
	fi
}

case_ "tap stage: exit 1 without a TAP line is one failure" \
	"0 1 0" 1 tap 'echo starting; exit 1'
case_ "tap stage: exit 0 without a TAP line is one failure" \
	"0 1 0" 1 tap 'echo nothing to report'
case_ "tap stage: ok, not ok and SKIP lines are counted" \
	"2 1 1" 1 tap 'echo "ok 1 - a"; echo "not ok 2 - b"; echo "ok 3 - c # SKIP no d"
		echo "ok 4 - e"; exit 1'
case_ "tap stage: exit 1 after only ok lines adds a failure" \
	"2 1 0" 1 tap 'echo "ok 1 - a"; echo "ok 2 - b"; exit 1'
case_ "tap stage: indented (nested) lines are not counted" \
	"1 0 0" 0 tap 'echo "    not ok 1 - inner"; echo "  ok 2 - inner"; echo "ok 1 - outer"'
case_ "summary stage: the last summary line is counted" \
	"3 1 2" 1 summary 'echo "1 passed, 0 failed, 0 skipped"; echo "3 passed, 1 failed, 2 skipped"; exit 1'
case_ "summary stage: a missing summary line fails" \
	"0 1 0" 1 summary 'echo "ok 1 - looks fine"; exit 0'
case_ "summary stage: nothing passed fails" \
	"0 1 4" 1 summary 'echo "0 passed, 0 failed, 4 skipped"'
case_ "summary stage: exit 1 with 0 failed adds a failure" \
	"5 1 0" 1 summary 'echo "5 passed, 0 failed, 0 skipped"; exit 1'
case_ "summary stage: all passed" \
	"5 0 1" 0 summary 'echo "5 passed, 0 failed, 1 skipped"'
case_ "single stage: exit 0 passes" \
	"1 0 0" 0 single 'echo fine'
case_ "single stage: exit 3 fails" \
	"0 1 0" 1 single 'echo broken; exit 3'
case_ "unknown kind fails" \
	"0 1 0" 1 bogus 'exit 0'

# A stage that is a shell function calling exit (as die does) ends only
# itself, and the counts stay in this shell.
PASSED=0 FAILED=0 SKIPPED=0
# shellcheck disable=SC2317 # run by run_stage
dies() { echo "it broke"; exit 1; }
n=$((n + 1))
run_stage "fake$n" single "a function that exits" dies > "$tmp/out" || true
if [ "$PASSED $FAILED $SKIPPED" = "0 1 0" ] && grep -q "^not ok - a function that exits (exit 1, see $RESULTS/fake$n.log)" "$tmp/out"; then
	echo "ok $n - stage table: a stage function that exits counts as one failure naming its log"
else
	echo "not ok $n - stage table: a stage function that exits: counted $PASSED $FAILED $SKIPPED"
	sed 's/^/#   /' "$tmp/out"
	bad=$((bad + 1))
fi
exit $((bad > 0))
