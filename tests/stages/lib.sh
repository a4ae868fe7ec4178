# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Shared helpers of make check's stages.  Source, don't execute.
#
# scripts/pipeline.sh runs the stages from its table; each is a script
# tests/stages/NAME.sh that sources this file and takes what it needs
# from the environment, which the pipeline exports after the build:
#   KIT      top of the checkout (found from this file when unset)
#   RESULTS  where outputs go (default $KIT/results)
#   QEMU, KERNEL, IMAGE, ROOTFS, KERNEL_ENV   what the build produced
# A stage reports in one of three ways, named in the table (run_stage):
# TAP lines ("ok ...", "not ok ..."), a closing "N passed, N failed,
# N skipped" line, or only its exit status.  Whatever the way, a stage
# that exits non-zero fails.

KIT=${KIT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
RESULTS=${RESULTS:-$KIT/results}
HARNESS=${HARNESS:-$KIT/tests/harness/pvkit-vm}
QEMU_DATA=(--data-dir /usr/share/seabios --data-dir /usr/share/qemu)

# Collections the PV guest runs ("suite" or "suite:test").  All of timers
# but rtcpie, which checks RTC interrupt timing to 1/64 s: a TCG guest on
# a shared machine cannot promise that, so it fails at random under load.
SUITES=${KSELFTEST_SUITES:-"pvkit timers:posix_timers timers:nanosleep
	timers:nsleep-lat timers:set-timer-lat timers:mqueue-lat
	timers:inconsistency-check timers:raw_skew timers:threadtest"}
# shellcheck disable=SC2086,SC2116 # one line: split and joined on purpose
SUITES=$(echo $SUITES)
# Suites the compare stage runs in the PV guest and in an ordinary guest
# (make check builds them too); make compare takes its own list.
# The timers suite's long sleepers and latency checks (nsleep-lat,
# set-timer-lat, mqueue-lat, inconsistency-check, raw_skew: 8 of its 11
# minutes) run once, in the pv-guest stage, and so does posix_timers,
# whose CPU-time and signal-distribution checks depend on how the host
# schedules two guests at once; its other quick tests run here.
# rseq's per-CPU operation loops (basic_percpu_ops*: 2 minutes each under
# TCG) and run_param_test.sh (no timeout, 12 minutes) are left to
# "make compare SUITES=rseq".
COMPARE_SUITES=${COMPARE_SUITES:-"futex exec breakpoints x86
	rseq:basic_test rseq:param_test rseq:param_test_benchmark
	rseq:param_test_compare_twice rseq:param_test_mm_cid
	rseq:param_test_mm_cid_benchmark rseq:param_test_mm_cid_compare_twice
	timers:nanosleep timers:threadtest"}
# shellcheck disable=SC2086,SC2116 # as above
COMPARE_SUITES=$(echo $COMPARE_SUITES)
# Suites' timeouts are written for hardware.  Tests whose suite sets
# none (timers, rseq: settings timeout=0) could hold a run for hours
# (rseq's run_param_test.sh took 702 s under TCG): stop them after
# KSELFTEST_CAP seconds (the harness's --kselftest-cap), reported as a
# TIMEOUT.  Under TCG every other test gets KSELFTEST_TCG_SCALE times
# its suite's timeout (the harness's --kselftest-tcg-scale).  KSELFTEST_WALL is the VM's
# wall-clock limit for a kselftest run and GUEST_MEM its memory (MiB).
# make check's stages fit in the defaults; make demo and make compare,
# which take any suites (mm wants GiBs and its 180 s cover a suite that
# takes far longer under TCG), raise them (scripts/pipeline.sh).
KSELFTEST_CAP=${KSELFTEST_CAP:-600}
KSELFTEST_TCG_SCALE=${KSELFTEST_TCG_SCALE:-1}
KSELFTEST_WALL=${KSELFTEST_WALL:-900}
GUEST_MEM=${GUEST_MEM:-512}
# No console output for this long ends the VM (a hung kernel): it must
# outlast the quiet stretches of the tests that run (timers' raw_skew
# sleeps 120 s; under make demo a test may be quiet until its timeout).
KSELFTEST_IDLE=${KSELFTEST_IDLE:-300}
# The harness options for the above, for every stage that runs suites.
KSELFTEST_LIMITS=(--idle-timeout "$KSELFTEST_IDLE" --timeout "$KSELFTEST_WALL"
	--kselftest-cap "$KSELFTEST_CAP"
	--kselftest-tcg-scale "$KSELFTEST_TCG_SCALE" --mem "$GUEST_MEM")

# need VAR...: stop the stage, saying which, unless every VAR is set.
need() {
	local v
	for v in "$@"; do
		[ -n "${!v:-}" ] || {
			echo "${0##*/}: $v is not set (run it from scripts/pipeline.sh check, or set it)" >&2
			exit 2
		}
	done
}

# vm OUTDIR HARNESS-ARGS...: one harness run into an emptied OUTDIR.
# Test features of the pvkit device are off by default; the kit's own
# tests turn the test hypercalls on here, merged into any --pvkit-opts
# (the harness keeps only the last one).  VM_PVKIT_OPTS= vm ... runs the
# device as shipped.
vm() {
	local out=$1 opts=${VM_PVKIT_OPTS-test-hypercalls=on} a args=() decode
	shift
	for a in "$@"; do
		[ "$a" != --no-pvkit ] || opts=
	done
	if [ -n "$opts" ]; then
		while [ $# -gt 0 ]; do
			case $1 in
			--pvkit-opts) opts+=",${2-}"; shift; [ $# = 0 ] || shift ;;
			--pvkit-opts=*) opts+=",${1#*=}"; shift ;;
			*) args+=("$1"); shift ;;
			esac
		done
		args+=(--pvkit-opts "$opts")
	else
		args=("$@")
	fi
	mapfile -t decode < <(decode_args "${args[@]}")
	rm -rf "$out"
	"$HARNESS" --qemu "$QEMU" "${QEMU_DATA[@]}" --out "$out" \
		"${decode[@]}" "${args[@]}"
}

# decode_args HARNESS-ARGS...: --vmlinux, --kernel-src and --flavour (one
# word a line) when the run boots the kernel the pipeline built
# ($KERNEL_ENV), so the harness can decode a kernel failure's call trace
# and take the known failures and expected skips of that kernel's
# flavour; nothing for any other kernel.
decode_args() {
	local build src flavour kernel=
	[ -n "${KERNEL_ENV:-}" ] && [ -f "$KERNEL_ENV" ] || return 0
	while [ $# -gt 1 ]; do
		[ "$1" != --kernel ] || kernel=$2
		shift
	done
	build=$(sed -n 's/^BUILD=//p' "$KERNEL_ENV")
	src=$(sed -n 's/^SRC=//p' "$KERNEL_ENV")
	flavour=$(sed -n 's/^FLAVOUR=//p' "$KERNEL_ENV")
	[ "$kernel" = "$build/arch/x86/boot/bzImage" ] || return 0
	[ ! -f "$build/vmlinux" ] || printf '%s\n' --vmlinux "$build/vmlinux" --kernel-src "$src"
	[ -z "$flavour" ] || printf '%s\n' --flavour "$flavour"
}

# guest_checks NAME WANT RC CONSOLE: a stage whose guest script reports
# each check as a console line "NAME-check: ok WHAT" or "NAME-check:
# FAIL WHAT" turns them into TAP lines, and fails the run as well when
# the harness exited RC != 0 or fewer than WANT checks came (the guest
# never got that far).  Prints the closing "N passed, N failed, N
# skipped" line; non-zero if anything failed.
guest_checks() {
	local name=$1 want=$2 rc=$3 console=$4 line passed=0 failed=0
	while IFS= read -r line; do
		case $line in
		*"$name-check: ok "*)
			echo "ok - $name: ${line#*"$name-check: ok "}"
			passed=$((passed + 1)) ;;
		*"$name-check: FAIL "*)
			echo "not ok - $name: ${line#*"$name-check: FAIL "}"
			failed=$((failed + 1)) ;;
		esac
	done < <(tr -d '\r' < "$console" 2>/dev/null)
	if [ "$rc" != 0 ] || [ $((passed + failed)) != "$want" ]; then
		echo "not ok - $name: the run ended badly (harness exit $rc, $((passed + failed)) of $want checks reported; see $console)"
		failed=$((failed + 1))
	fi
	echo "$passed passed, $failed failed, 0 skipped"
	[ "$failed" = 0 ]
}

# summary_counts FILE: "P F S" from FILE's last "P passed, F failed, S
# skipped" line (what a summary stage ends with), or nothing.
summary_counts() {
	sed -nE 's/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' \
		"$1" | tail -n 1
}

# ---- the stage table's bookkeeping (scripts/pipeline.sh cmd_check) ----
PASSED=0 FAILED=0 SKIPPED=0

# run_stage NAME KIND DESCRIPTION [COMMAND...]: run one stage, COMMAND
# (default tests/stages/NAME.sh) in a subshell with all its output in
# $RESULTS/NAME.log, and add what it reports to PASSED, FAILED, SKIPPED.
# KIND says how it reports:
#   tap      its "ok"/"not ok" lines ("ok ... # SKIP" is a skip); it must
#            print at least one
#   summary  its last "N passed, N failed, N skipped" line; none, or one
#            with nothing passed, is a failure
#   single   one test: its exit status
# A stage that exits non-zero and reported no failure counts as one
# failed test naming its log.  Prints the stage's result lines (a failed
# stage's last log lines, unless its own "not ok" lines say why) and one
# "# NAME: ..." line with its counts and time.
run_stage() {
	local name=$1 kind=$2 what=$3 log=$RESULTS/$1.log rc=0 t0=$SECONDS
	local p=0 f=0 s=0 line told=
	shift 3
	[ $# -gt 0 ] || set -- "$KIT/tests/stages/$name.sh"
	echo "# [$name] $what"
	mkdir -p "$RESULTS"
	("$@") > "$log" 2>&1 < /dev/null || rc=$?
	case $kind in
	tap)
		while IFS= read -r line; do
			case $line in
			"ok "*"# SKIP"* | "ok "*"# skip"*) s=$((s + 1)) ;;
			"ok "*) p=$((p + 1)) ;;
			"not ok "*) f=$((f + 1)) told=1; echo "$line" ;;
			*) continue ;;
			esac
		done < "$log"
		if [ $((p + f + s)) = 0 ]; then
			echo "not ok - $name: no TAP line (exit $rc, see $log)"
			f=1
		fi
		;;
	summary)
		grep -E '^(not ok |  FAILED )' "$log" | head -n 40 || true
		read -r p f s < <(summary_counts "$log") || true
		if [ -z "${s:-}" ]; then
			echo "not ok - $name: no 'N passed, N failed, N skipped' line (exit $rc, see $log)"
			p=0 f=1 s=0
		elif [ "$p" = 0 ]; then
			echo "not ok - $name: no test passed ($f failed, $s skipped; see $log)"
			f=$((f + 1))
		fi
		;;
	single)
		if [ "$rc" = 0 ]; then
			echo "ok - $what"
			p=1
		else
			echo "not ok - $what (exit $rc, see $log)"
			f=1
		fi
		;;
	*)
		echo "not ok - $name: unknown stage kind '$kind'"
		f=1
		;;
	esac
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $name: exit $rc without a failed test (see $log)"
		f=1 told=
	fi
	if [ "$f" != 0 ] && [ -z "$told" ]; then
		# the end of the log, where the reason usually is
		tail -n 15 "$log" | sed 's/^/#   /'
	elif [ "$kind" = single ]; then
		tail -n 1 "$log" | sed 's/^/#   /'
	fi
	PASSED=$((PASSED + p)) FAILED=$((FAILED + f)) SKIPPED=$((SKIPPED + s))
	line="# $name: $p passed, $f failed, $s skipped in $((SECONDS - t0)) s"
	[ "$f" = 0 ] || line+=" (see $log)"
	echo "$line"
	[ "$f" = 0 ]
}
