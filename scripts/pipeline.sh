#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The kit's pipeline behind the README's commands:
#   pipeline.sh setup | build | demo | run 'CMD' | compare ['SUITES'] |
#               check [STAGE...] | stages | bench | clean-cache
# "check" runs make check's stages (STAGE_TABLE below; each is a script
# tests/stages/STAGE.sh), or only the ones named; "stages" lists them.
# Environment: KDIR, QEMU_SRC, PVKIT_CACHE, RESULTS (default ./results),
# PVKIT_ACCEL (tcg|kvm: skip the KVM canary), KSELFTEST_SUITES.
set -euo pipefail
# What the caller asked for, before tests/stages/lib.sh sets defaults.
ASKED_TCG_SCALE=${KSELFTEST_TCG_SCALE:-} ASKED_MEM=${GUEST_MEM:-}
ASKED_WALL=${KSELFTEST_WALL:-} ASKED_CAP=${KSELFTEST_CAP:-}
ASKED_IDLE=${KSELFTEST_IDLE:-}
. "$(dirname "$0")/lib.sh"
. "$KIT/tests/stages/lib.sh"

# The suites to build: the names before any ":test" of the PV guest's
# and the compare stage's lists (SUITES, COMPARE_SUITES: lib.sh), unless
# BUILD_SUITES says.
build_suites() {
	local s
	for s in "$@"; do echo "${s%%:*}"; done | sort -u | xargs
}
BUILD_SUITES=${BUILD_SUITES:-$(build_suites $SUITES $COMPARE_SUITES)}

setup() {
	if [ "$(id -u)" = 0 ]; then
		"$KIT/scripts/setup-host.sh"
	else
		sudo -n "$KIT/scripts/setup-host.sh" ||
			die "installing packages needs root: run 'sudo scripts/setup-host.sh'"
	fi
}

# Sets and exports QEMU, KERNEL_ENV (and its variables), IMAGE and
# ROOTFS: what the stages and the commands below take.  Run setup first.
#
# QEMU builds beside the kernel and the image: each runs as many jobs as
# there are CPUs, but both have long one-job phases (unpacking, QEMU's
# configure, the kernel's configure and link, the kselftests, the image)
# that leave a core idle when they run one after the other.
build_all() {
	local qemu_out qemu_pid
	log "reference host (QEMU + pvkit device), beside the guest kernel"
	qemu_out=$(mktemp)
	# Its own process group (a background job here is not a group
	# leader, so setsid does not fork): a failed kernel build stops
	# ninja too.
	setsid "$KIT/scripts/build-qemu.sh" > "$qemu_out" &
	qemu_pid=$!
	if ! build_guest; then
		kill -- "-$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
		rm -f "$qemu_out"
		exit 1
	fi
	if ! wait "$qemu_pid"; then
		rm -f "$qemu_out"
		die "QEMU build failed"
	fi
	QEMU=$(tail -n 1 "$qemu_out")
	rm -f "$qemu_out"
	[ -x "$QEMU" ] || die "QEMU build did not produce a binary"
	export QEMU KERNEL_ENV KERNEL IMAGE ROOTFS RESULTS
}

# build_guest: the guest kernel ($FLAVOUR, the $BUILD_SUITES kselftests)
# and its image; sets KERNEL_ENV (and what it holds), IMAGE and ROOTFS.
# Fails (the scripts said why) rather than exiting: QEMU may be building.
build_guest() {
	log "guest kernel"
	KERNEL_ENV=$(KSELFTEST_SUITES=$BUILD_SUITES "$KIT/scripts/build-kernel.sh" | tail -n 1) &&
		[ -f "$KERNEL_ENV" ] || return 1
	# shellcheck source=/dev/null # written by the build
	. "$KERNEL_ENV"
	log "guest image"
	ROOTFS=$BUILD/staging/rootfs.ext4
	IMAGE=$("$KIT/scripts/build-image.sh" --out "$BUILD/staging/initramfs.cpio.gz" \
		--modules "$MODULES" --kselftest "$KSELFTEST" --ext4 "$ROOTFS" | tail -n 1) &&
		[ -f "$IMAGE" ] && [ -f "$ROOTFS" ] && return 0
	log "the image build did not produce $BUILD/staging/initramfs.cpio.gz and rootfs.ext4"
	return 1
}

# pick_flavour SUITES: upstream suites a user asks for by name run on
# the suites flavour (a defconfig kernel with their own config
# fragments: scripts/build-kernel.sh), unless FLAVOUR says otherwise;
# the kit's own suite and the default list run on the small kernel.
pick_flavour() {
	local s
	[ -z "${FLAVOUR+set}" ] || return 0
	for s in $(build_suites "$@"); do
		if [ "$s" != pvkit ]; then
			export FLAVOUR=suites
			log "upstream suites asked for: FLAVOUR=suites (defconfig + their config fragments; FLAVOUR=small for the small kernel)"
			return 0
		fi
	done
}

# make demo and make compare run any suites: more room than make check's
# stages need (tests/stages/lib.sh), unless the caller set them.
demo_limits() {
	export KSELFTEST_WALL=${ASKED_WALL:-14400}
	# rseq's run_param_test.sh took 702 s under TCG on a busy machine
	export KSELFTEST_CAP=${ASKED_CAP:-1800}
	# a test may print nothing until its (capped or scaled) timeout:
	# mm's charge_reserved_hugetlb.sh was quiet for 300 s and more
	export KSELFTEST_IDLE=${ASKED_IDLE:-1900}
	export KSELFTEST_TCG_SCALE=${ASKED_TCG_SCALE:-4}
	export GUEST_MEM=${ASKED_MEM:-2048}
}

# The asked-for suites that did not build are failed tests too: their
# lines come first, then the run of everything that built.
cmd_demo() {
	local rc=0
	setup
	demo_limits
	[ -z "${KSELFTEST_SUITES:-}" ] || pick_flavour $SUITES
	BUILD_SUITES=$(build_suites $SUITES)
	build_all
	COMPARE_SUITES='' "$KIT/tests/stages/kselftest-build.sh" | grep '^not ok' || true
	"$KIT/tests/stages/pv-guest.sh" || rc=$?
	echo "results: $RESULTS/pv-guest (console.log, hvc0.log, results.json, junit.xml)"
	if [ "$rc" = 0 ] && [ -s "$(sed -n 's/^KSELFTEST_BUILD_FAILURES=//p' "$KERNEL_ENV")" ]; then
		rc=1
	fi
	return "$rc"
}

# make compare SUITES='...': the suites in the PV guest and in an ordinary
# guest, test by test (tests/stages/compare.sh).
cmd_compare() {
	local suites=${1:-$COMPARE_SUITES}
	setup
	demo_limits
	[ -z "${1:-}" ] || pick_flavour $suites
	BUILD_SUITES=$(build_suites $suites)
	build_all
	"$KIT/tests/stages/compare.sh" "$suites"
}

# make soak MINUTES=N: the kit's suites in the PV guest, round after
# round, for N minutes (tests/stages/soak.sh); FLAVOUR=debug runs them
# under KASAN, lockdep and the other checkers.
cmd_soak() {
	setup
	BUILD_SUITES=pvkit
	build_all
	"$KIT/tests/stages/soak.sh"
}

cmd_run() {
	[ -n "${1:-}" ] || die "usage: make run CMD='command to run in the guest'"
	{ setup && build_all; } >&2
	local rc=0 guest_rc
	vm "$RESULTS/run" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
		--modprobe pvkit_test --modprobe pvkit_testfront --cmd "$1" || rc=$?
	# The harness says 1 for any non-zero command; hand back the real code.
	if [ $rc -le 1 ]; then
		guest_rc=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("guest_exit_code", ""))' \
			"$RESULTS/run/results.json" 2>/dev/null || true)
		case "$guest_rc" in [0-9]*) rc=$guest_rc ;; esac
	fi
	return "$rc"
}

# clock_gettime() on each clocksource, switched in one guest (2 vCPUs),
# in interleaved rounds; the table goes to OUT.  "tsc=reliable": the
# clocksource watchdog would otherwise drop the TSC under TCG (see
# tests/stages/pvops.sh) and the table lose its row.
bench_clock() {
	local out=$1 calls=${BENCH_CLOCK_CALLS:-200000}
	vm "$RESULTS/bench-clock" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
		--smp 2 --append tsc=reliable \
		--cmd "/kselftest/pvkit/pvkit_clock_bench $calls 5"
	{
		echo "Measured by \`make bench\` (BENCH_CLOCK_CALLS=$calls), $(date -u +%Y-%m-%d), one guest, 2 vCPUs:"
		echo
		grep -E '^\|' "$RESULTS/bench-clock/console.log" | tr -d '\r'
	} > "$out"
	cat "$out"
}

# Event-channel cost next to a bare exit, one guest, one run; the table
# goes to $RESULTS/bench-evtchn.md with the command that made it.  Then
# clock_gettime() per clocksource (bench_clock, $RESULTS/bench-clock.md),
# then TLB shootdowns and overcommitted spinlocks, kit against native
# (scripts/bench-pvops.sh, $RESULTS/bench-pvops.md), then the block benchmark (scripts/bench-blk.sh): the kit's disk, virtio-blk
# and AHCI under fio in one guest, table in $RESULTS/bench-blk.md; and the
# network benchmark (scripts/bench-net.sh): the kit's NIC, virtio-net and
# e1000 under iperf3 in one guest, table in $RESULTS/bench-net.md.
cmd_bench() {
	local out=$RESULTS/bench-evtchn.md iterations=${BENCH_ITERATIONS:-200000}
	build_all
	vm "$RESULTS/bench" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
		--smp 2 --modprobe pvkit_test \
		--cmd "/kselftest/pvkit/pvkit_bench $iterations"
	{
		echo "Measured by \`make bench\` (BENCH_ITERATIONS=$iterations), $(date -u +%Y-%m-%d),"
		echo "accelerator $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accel"])' "$RESULTS/bench/results.json"), 2 vCPUs:"
		echo
		grep -E '^\|' "$RESULTS/bench/console.log" | tr -d '\r'
	} > "$out"
	cat "$out"
	bench_clock "$RESULTS/bench-clock.md"
	BENCH_COMMAND="make bench" "$KIT/scripts/bench-pvops.sh" "$QEMU" \
		"$KERNEL" "$IMAGE" "$RESULTS/bench-pvops" "$RESULTS/bench-pvops.md"
	BENCH_COMMAND="make bench" "$KIT/scripts/bench-blk.sh" "$QEMU" \
		"$KERNEL" "$IMAGE" "$ROOTFS" "$RESULTS/bench-blk" \
		"$RESULTS/bench-blk.md"
	BENCH_COMMAND="make bench" "$KIT/scripts/bench-net.sh" "$QEMU" \
		"$KERNEL" "$IMAGE" "$ROOTFS" "$RESULTS/bench-net" \
		"$RESULTS/bench-net.md"
}

# ---- make check ----
# The stages, in the order they run: name, how it reports (run_stage in
# tests/stages/lib.sh: tap, summary or single), whether it needs the
# build, and what it checks.  Stage NAME is tests/stages/NAME.sh, but for
# build (build_stage below).  "check NAME..." runs only those (and the
# build first when one needs it).
STAGE_TABLE='
stage-table   tap      -      the stage table counts what stages report (fake stages)
host-unit     summary  -      host unit tests (hypercall dispatcher, ASan+UBSan)
harness-unit  summary  -      harness unit tests (KTAP parser, failure detection)
script-unit   summary  -      pipeline script unit tests (PV vs ordinary comparison)
bad-input     tap      -      pipeline and harness error handling
build         single   -      build: reference host, guest kernel, guest image
store-smoke   single   build  store served by the reference host (bare test guest)
xen-bus       tap      build  QEMU Xen backends on the pvkit device (xen-bus: layout, hot-plug, garbage)
lint          tap      build  kernel quality gates
kselftest-build tap   build  every asked-for kselftest suite builds
pv-guest      summary  build  PV guest kselftests
pvops         summary  build  clock, steal time, spinlocks, TLB flush on 4 vCPUs, each on and then off (native)
compare       summary  build  the same kselftests in the PV guest and an ordinary guest end alike
hostile       summary  build  block frontend against backends that break the protocol (pvkit-test-vbd)
net-hostile   summary  build  network frontend against backends that break the protocol (pvkit-test-vif)
net-pair      tap      build  two guests on one socket netdev talk through kit NICs
netdevice     single   build  upstream net/netdevice.sh on the kit NIC
fio           single   build  fio with verify on a pvkit disk, root on a pvkit disk
durability    single   build  acknowledged writes survive SIGKILL of the host
powerloss     tap      build  fsynced writes survive a power cut (volatile write cache)
discard       single   build  discard on a pvkit disk punches holes in the image
kexec         summary  build  kexec into the same kernel with kit disks and NIC busy
grants        summary  build  more grant demand than the table holds: 4 disks x 4 rings at QD128, 2 NICs
plug          summary  build  16 disks and 8 NICs hot-plugged at once connect (store cost table)
earlycon      single   build  PV early boot console reaches the host
panic         single   build  a guest panic is caught and reported (exit 10)
no-device     single   build  the kit kernel boots as an ordinary guest without the pvkit device
stock-kernel  single   build  a kernel without the kit boots on the reference host
debug         summary  build  the kit suites on the debug kernel (KASAN, lockdep, ...): no kernel report
'

stage_names() {
	awk 'NF { print $1 }' <<< "$STAGE_TABLE" | xargs
}

# build_env FILE: build, then write what was built to FILE for the
# stages that run it (sourced: QEMU, KERNEL_ENV, IMAGE, ROOTFS).
build_env() {
	build_all
	local v
	for v in QEMU KERNEL_ENV IMAGE ROOTFS; do
		printf '%s=%q\n' "$v" "${!v}"
	done > "$1.tmp"
	mv "$1.tmp" "$1"
	echo "qemu: $QEMU"
	echo "kernel: $KERNEL"
	echo "image: $IMAGE"
}

# The build as a stage: its output to $RESULTS/build.log, what it built
# to $RESULTS/build.env for the stages after it.
build_stage() {
	build_env "$RESULTS/build.env"
}

# The debug stage's kernel (FLAVOUR=debug, the kit's suite only) builds
# while the stages before it run, at idle priority so that it takes only
# the CPU they leave (the timers suite sleeps for minutes): it adds
# little to make check's time and does not disturb their timing.  It
# holds $RESULTS/build-debug.lock until done; the stage waits for that,
# then takes build-debug.env, or builds itself if that is missing.
start_debug_build() {
	rm -f "$RESULTS/build-debug.env"
	FLAVOUR=debug BUILD_SUITES=pvkit KSELFTEST_SUITES=pvkit \
		setsid flock "$RESULTS/build-debug.lock" \
		chrt --idle 0 "$KIT/scripts/pipeline.sh" build-env \
		"$RESULTS/build-debug.env" \
		> "$RESULTS/build-debug-background.log" 2>&1 < /dev/null &
	DEBUG_BUILD_PID=$!
	# its own process group (setsid): stop all of it if make check ends first
	trap 'kill -- "-$DEBUG_BUILD_PID" 2>/dev/null || true' EXIT
}

cmd_check() {
	local name kind needs what want=" $* " build=no built=no n
	for n in "$@"; do
		[[ " $(stage_names) " == *" $n "* ]] ||
			die "no stage '$n'; the stages: $(stage_names)"
	done
	selected() { [ -z "${want// /}" ] || [[ "$want" == *" $1 "* ]]; }
	while read -r name kind needs what; do
		if [ -n "$name" ] && [ "$needs" = build ] && selected "$name"; then
			build=yes
		fi
	done <<< "$STAGE_TABLE"
	mkdir -p "$RESULTS"
	setup
	while read -r name kind needs what; do
		[ -n "$name" ] || continue
		if [ "$name" = build ]; then
			[ $build = yes ] || selected build || continue
			rm -f "$RESULTS/build.env"
			run_stage build "$kind" "$what" build_stage || true
			if [ -f "$RESULTS/build.env" ]; then
				# shellcheck source=/dev/null # written by the build
				. "$RESULTS/build.env"
				# shellcheck source=/dev/null # written by the build
				. "$KERNEL_ENV"
				export QEMU KERNEL_ENV KERNEL IMAGE ROOTFS RESULTS
				built=yes
				# Not earlier: at idle priority it could hold the
				# source tree's lock while QEMU's build starves it.
				! selected debug || start_debug_build
			fi
			continue
		fi
		selected "$name" || continue
		if [ "$needs" = build ] && [ $built != yes ]; then
			echo "# [$name] not run: the build failed"
			continue
		fi
		run_stage "$name" "$kind" "$what" || true
	done <<< "$STAGE_TABLE"
	summary
}

summary() {
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
	[ "$FAILED" = 0 ] || exit 1
	exit 0
}

case "${1:-}" in
setup) setup ;;
build) setup; build_all; echo "qemu: $QEMU"; echo "kernel: $KERNEL"; echo "image: $IMAGE" ;;
build-env) build_env "${2:?usage: $0 build-env FILE}" ;;
demo) cmd_demo ;;
compare) shift; cmd_compare "$@" ;;
run) shift; cmd_run "$@" ;;
bench) setup; cmd_bench ;;
soak) cmd_soak ;;
check) shift; cmd_check "$@" ;;
stages) awk 'NF { n = $1; $1 = $2 = $3 = ""; sub(/^ +/, ""); printf "%-13s %s\n", n, $0 }' <<< "$STAGE_TABLE" ;;
clean-cache) rm -rf "$PVKIT_CACHE"; log "removed $PVKIT_CACHE" ;;
*) die "usage: $0 setup|build|demo|run 'CMD'|compare ['SUITES']|check [STAGE...]|stages|bench|soak|clean-cache" ;;
esac
