#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The kit's pipeline behind the README's commands:
#   pipeline.sh setup | build | demo | run 'CMD' | check | bench | clean-cache
# Environment: KDIR, QEMU_SRC, PVKIT_CACHE, RESULTS (default ./results),
# PVKIT_ACCEL (tcg|kvm: skip the KVM canary), KSELFTEST_SUITES.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RESULTS=${RESULTS:-$KIT/results}
QEMU_DATA=(--data-dir /usr/share/seabios --data-dir /usr/share/qemu)
HARNESS=$KIT/tests/harness/pvkit-vm
# Collections to run ("suite" or "suite:test").  All of timers but rtcpie,
# which checks RTC interrupt timing to 1/64 s: a TCG guest on a shared
# machine cannot promise that, so it fails at random under load.
SUITES=${KSELFTEST_SUITES:-"pvkit timers:posix_timers timers:nanosleep
	timers:nsleep-lat timers:set-timer-lat timers:mqueue-lat
	timers:inconsistency-check timers:raw_skew timers:threadtest"}
SUITES=$(echo $SUITES)
# The suites to build: the names before any ":test".
BUILD_SUITES=$(for s in $SUITES; do echo "${s%%:*}"; done | sort -u | xargs)

setup() {
	if [ "$(id -u)" = 0 ]; then
		"$KIT/scripts/setup-host.sh"
	else
		sudo -n "$KIT/scripts/setup-host.sh" ||
			die "installing packages needs root: run 'sudo scripts/setup-host.sh'"
	fi
}

# Sets QEMU, KERNEL_ENV (and its variables), IMAGE and ROOTFS.
build_all() {
	setup
	log "reference host (QEMU + pvkit device)"
	QEMU=$("$KIT/scripts/build-qemu.sh" | tail -n 1)
	[ -x "$QEMU" ] || die "QEMU build did not produce a binary"
	log "guest kernel"
	KERNEL_ENV=$(KSELFTEST_SUITES=$BUILD_SUITES "$KIT/scripts/build-kernel.sh" | tail -n 1)
	. "$KERNEL_ENV"
	log "guest image"
	ROOTFS=$BUILD/staging/rootfs.ext4
	IMAGE=$("$KIT/scripts/build-image.sh" --out "$BUILD/staging/initramfs.cpio.gz" \
		--modules "$MODULES" --kselftest "$KSELFTEST" --ext4 "$ROOTFS" | tail -n 1)
	[ -f "$IMAGE" ] || die "image build did not produce $IMAGE"
	[ -f "$ROOTFS" ] || die "image build did not produce $ROOTFS"
}

vm() {	# vm OUTDIR harness-args...
	local out=$1
	shift
	rm -rf "$out"
	"$HARNESS" --qemu "$QEMU" "${QEMU_DATA[@]}" --out "$out" "$@"
}

# The PV guest, two vCPUs with IPIs on event channels, with a kit NIC on
# QEMU user networking and the harness's test peer, running the kit's
# suite and an upstream one; the console must show detection, the
# hypercall page and the IPI switch, the host side of the PV console what
# the selftest wrote to hvc0.  The idle timeout
# is long because timers/raw_skew sleeps 120 s without printing.
pv_suites() {
	# Sparse raw images for pvkit_blk: the first writable, the second
	# read-only (the harness attaches them as QEMU xen-disk devices).
	rm -f "$RESULTS/disk-rw.raw" "$RESULTS/disk-ro.raw"
	truncate -s 64M "$RESULTS/disk-rw.raw"
	truncate -s 8M "$RESULTS/disk-ro.raw"
	vm "$RESULTS/pv-guest" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
		--smp 2 --modprobe pvkit_test --modprobe pvkit_testfront \
		--loop-console --host-requests --kselftest "$SUITES" \
		--pv-disk "$RESULTS/disk-rw.raw" \
		--pv-disk "$RESULTS/disk-ro.raw,ro" \
		--pv-nic user --net-peer \
		--known-failures "$KIT/tests/known-failures.txt" \
		--idle-timeout 300 \
		--expect-console 'pvkit: detected hypervisor at CPUID 0x40000100' \
		--expect-console 'pvkit: hypercall page installed' \
		--expect-console 'smpboot: Total of 2 processors activated' \
		--expect-console 'pvkit: IPIs on event channels' \
		--expect-hvc 'pvkit-selftest: hello from the guest' "$@"
}

# The network frontend against backends that break the protocol: one
# pvkit-test-vif NIC per fault (QOM id and devid 100 + n; the first 16
# responses of the faulty ring are correct), each looping the guest's
# frames back.  pvkit_net_hostile checks what comes back and what is
# counted, that the guest stays healthy and the good NIC works, then
# unplugs the test NICs and counts the grants.
pv_net_hostile() {
	local n=100 f args=()
	for f in none rx-bad-id rx-bad-size rx-bad-offset rx-bad-flags \
		rx-bad-status rx-garbage rx-overrun tx-bad-id tx-bad-status \
		tx-silent; do
		args+=(--qemu-arg=-device
			--qemu-arg="pvkit-test-vif,id=tvif-$n,devid=$n,fault=$f,fault-after=16")
		n=$((n + 1))
	done
	vm "$RESULTS/pv-net-hostile" --kernel "$KERNEL" --initrd "$IMAGE" \
		--pvkit --host-requests "${args[@]}" \
		--kselftest pvkit:pvkit_net_hostile "$@"
}

# Two guests talk to each other through kit NICs (QEMU's xen-net-device,
# pvkit_netfront) on one socket netdev: A is 10.0.5.1, B 10.0.5.2 on one
# Ethernet segment; both ping each other (small and full-size frames, ARP
# must find the other's MAC), then each sends PVKIT_PAIR_KIB (default
# 4096) KiB of random data to the other over TCP at the same time, and
# the sha256 the sender printed must be what the receiver printed.
# Prints one TAP line per check (everything else goes to files) and
# returns non-zero if any failed.
#
# The netdev is a dgram pair over unix sockets: each QEMU binds its own
# socket and sends to the other's, so neither has to be up first (frames
# sent before the other exists are dropped; the guests retry), a full
# receiver makes the sender wait instead of dropping, and no port has to
# be found free.  In the guests (tests/pipeline/net-pair-guest.sh) the
# receiver listens before anything else and the sender retries until a
# deadline, so no step depends on which guest boots first; every wait is
# bounded, and so is each harness run (--timeout, idle timeout).
pv_net_pair() {
	local kib=${PVKIT_PAIR_KIB:-4096} wait=120 limit dir guest rc_a=0 rc_b=0
	local pid_a pid_b a=$RESULTS/net-pair-a b=$RESULTS/net-pair-b
	local mac_a=52:54:00:12:35:10 mac_b=52:54:00:12:36:10 fails=0 t0=$SECONDS
	# unix socket paths: at most 107 bytes and no commas (netdev syntax),
	# whatever RESULTS is
	dir=$(mktemp -d /tmp/pvkit-pair.XXXXXX)
	# The guests give up on their own in about 3 * wait s plus a second
	# per 64 KiB (net-pair-guest.sh); the harness's limit only backs that.
	limit=$((4 * wait + kib / 64 + 60))
	guest=$(cat "$KIT/tests/pipeline/net-pair-guest.sh")
	net_pair_vm "$a" "$dir/a.sock" "$dir/b.sock" "$mac_a" "$limit" \
		"ME=10.0.5.1 PEER=10.0.5.2 PEER_MAC=$mac_b SEND=a2b RECV=b2a
		PORT_IN=5002 PORT_OUT=5001 KIB=$kib WAIT=$wait
		$guest" > "$a.log" 2>&1 &
	pid_a=$!
	net_pair_vm "$b" "$dir/b.sock" "$dir/a.sock" "$mac_b" "$limit" \
		"ME=10.0.5.2 PEER=10.0.5.1 PEER_MAC=$mac_a SEND=b2a RECV=a2b
		PORT_IN=5001 PORT_OUT=5002 KIB=$kib WAIT=$wait
		$guest" > "$b.log" 2>&1 &
	pid_b=$!
	wait "$pid_a" || rc_a=$?
	wait "$pid_b" || rc_b=$?
	rm -rf "$dir"
	echo "# both guests done in $((SECONDS - t0)) s"
	grep -h '^PAIR-\(NIC\|UP\|SEND-DONE\|STATS\|FAIL\)' "$a/console.log" \
		"$b/console.log" 2>/dev/null | sed 's/^/# /' || true

	net_pair_tap "guest A (10.0.5.1) ran its side: harness exit $rc_a" \
		"$a.log, $a/console.log" [ "$rc_a" = 0 ] || fails=$((fails + 1))
	net_pair_tap "guest B (10.0.5.2) ran its side: harness exit $rc_b" \
		"$b.log, $b/console.log" [ "$rc_b" = 0 ] || fails=$((fails + 1))
	net_pair_tap "A and B ping each other (56, 1472 and 8972 bytes at MTU 9000, 5/5 each), ARP finds the other's MAC" \
		"PAIR-PING/PAIR-NEIGH in $a/console.log, $b/console.log" \
		net_pair_pinged "$a/console.log" 10.0.5.2 "$mac_b" \
		"$b/console.log" 10.0.5.1 "$mac_a" || fails=$((fails + 1))
	net_pair_tap "$kib KiB A->B over TCP, sha256 equal at both ends" \
		"PAIR-SENT a2b in $a/console.log, PAIR-RECV a2b in $b/console.log" \
		net_pair_same "$a/console.log" "$b/console.log" a2b $((kib * 1024)) ||
		fails=$((fails + 1))
	net_pair_tap "$kib KiB B->A over TCP, sha256 equal at both ends" \
		"PAIR-SENT b2a in $b/console.log, PAIR-RECV b2a in $a/console.log" \
		net_pair_same "$b/console.log" "$a/console.log" b2a $((kib * 1024)) ||
		fails=$((fails + 1))
	[ "$fails" = 0 ]
}

# net_pair_vm OUT OWN-SOCKET OTHER-SOCKET MAC TIMEOUT COMMAND: one guest of
# pv_net_pair, its kit NIC on the dgram pair.
net_pair_vm() {
	vm "$1" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit --timeout "$5" \
		--pv-nic "dgram,local.type=unix,local.path=$2,remote.type=unix,remote.path=$3" \
		--pv-nic-mac-base "$4" --cmd "$6"
}

# net_pair_tap DESCRIPTION WHERE-TO-LOOK COMMAND...: a TAP line for COMMAND's
# status; what it printed goes on the not-ok line.
net_pair_tap() {
	local what=$1 where=$2 why
	shift 2
	if why=$("$@" 2>&1); then
		echo "ok - net pair: $what"
	else
		echo "not ok - net pair: $what${why:+ ($why)} (see $where)"
		return 1
	fi
}

net_pair_line() {	# net_pair_line CONSOLE PREFIX: the last such line, less PREFIX
	sed -n "s/^$2 //p" "$1" 2>/dev/null | tail -n 1
}

# net_pair_pinged CONSOLE PEER PEER-MAC ...: every guest's three pings got
# all answers and its neighbour entry for PEER has PEER-MAC.
net_pair_pinged() {
	local n
	while [ $# -ge 3 ]; do
		n=$(grep -c "^PAIR-PING .*->$2 size=[0-9]* sent=5 received=5\$" "$1" 2>/dev/null) || true
		[ "${n:-0}" = 3 ] || { echo "$1: ${n:-0} of 3 pings to $2 complete"; return 1; }
		net_pair_line "$1" PAIR-NEIGH | grep -q "^$2 .*lladdr $3 " ||
			{ echo "$1: no neighbour $2 at $3"; return 1; }
		shift 3
	done
}

# net_pair_same SENDER-CONSOLE RECEIVER-CONSOLE DIR BYTES: "sha bytes" sent
# is what was received, and BYTES long.
net_pair_same() {
	local sent recv
	sent=$(net_pair_line "$1" "PAIR-SENT $3")
	recv=$(net_pair_line "$2" "PAIR-RECV $3")
	[ -n "$sent" ] && [ "$sent" = "$recv" ] && [ "${sent#* }" = "$4" ] || {
		echo "sent '${sent:-nothing}', received '${recv:-nothing}', want $4 bytes"
		return 1
	}
}

# Upstream's network device test (tools/testing/selftests/net/
# netdevice.sh, installed by build-kernel.sh) on the kit's NIC: up, a MAC
# change while up, every changeable ethtool feature off, on and back,
# ethtool -d (no register dump: XFAIL) and -S, down.  It always exits 0,
# so its lines are the result: no FAIL, and the PASS lines it must have
# (more than the up/MAC/features-list/stats/down ones: the toggles).
pv_netdevice() {
	local log=$RESULTS/netdevice/console.log pass fail
	vm "$RESULTS/netdevice" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
		--smp 2 --pv-nic user --cmd /kselftest/net/netdevice.sh || return 1
	pass=$(tr -d '\r' < "$log" | grep -c '^PASS: eth0: ' || true)
	fail=$(tr -d '\r' < "$log" | grep '^FAIL' || true)
	[ -z "$fail" ] || { echo "$fail"; return 1; }
	[ "$pass" -ge 10 ] || { echo "only $pass PASS lines"; return 1; }
	echo "net/netdevice.sh on the kit NIC: $pass PASS, 0 FAIL, $(tr -d '\r' < "$log" | grep -c '^XFAIL') XFAIL"
}

# The block frontend against backends that break the protocol: one
# pvkit-test-vbd disk per fault (QOM id and devid 60000 + n; the first 16
# responses are correct) beside an ordinary xen-disk.  pvkit_blk_hostile
# checks that I/O on each fails cleanly and in bounded time, that the
# guest stays healthy and the ordinary disk works, then unplugs the test
# disks and counts the grants.
pv_hostile() {
	local disk=$RESULTS/disk-hostile.raw n=60000 f args=()
	rm -f "$disk"
	truncate -s 8M "$disk"
	for f in none bad-id bad-op bad-status overrun silent garbage; do
		args+=(--qemu-arg=-device
			--qemu-arg="pvkit-test-vbd,id=tvbd-$n,devid=$n,fault=$f,fault-after=16")
		n=$((n + 1))
	done
	vm "$RESULTS/pv-hostile" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
		--host-requests --pv-disk "$disk" "${args[@]}" \
		--kselftest pvkit:pvkit_blk_hostile "$@"
}

# The early boot console: everything printed before the serial console
# came up, detection included, reaches the host over hypercalls.  (It is
# not used in the suite run: printk then skips replaying the early log
# to ttyS0, assuming boot and real console share a device.)
pv_earlycon() {
	vm "$RESULTS/pv-earlycon" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
		--append pvkit_earlycon --cmd 'cat /sys/hypervisor/type' \
		--expect-hvc 'Linux version 6\.12' \
		--expect-hvc 'pvkit: hypercall page installed' \
		--expect-console 'bootconsole \[pvkitboot0\] disabled'
}

cmd_demo() {
	build_all
	pv_suites
	echo "results: $RESULTS/pv-guest (console.log, hvc0.log, results.json, junit.xml)"
}

cmd_run() {
	[ -n "${1:-}" ] || die "usage: make run CMD='command to run in the guest'"
	build_all >&2
	local rc=0 guest_rc
	vm "$RESULTS/run" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
		--modprobe pvkit_test --modprobe pvkit_testfront --cmd "$1" || rc=$?
	# The harness says 1 for any non-zero command; hand back the real code.
	if [ $rc -le 1 ]; then
		guest_rc=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("guest_exit_code", ""))' \
			"$RESULTS/run/results.json" 2>/dev/null || true)
		case "$guest_rc" in [0-9]*) rc=$guest_rc ;; esac
	fi
	return $rc
}

# fio with verification on a pvkit disk, from a guest whose root file
# system is itself on a pvkit disk (fio lives there): 4 KiB random and
# 1 MiB sequential writes, queue depth 1 and 32, two jobs each on their
# own half of the disk; fio fails on any mismatch.
pv_fio() {
	local disk=$RESULTS/disk-fio.raw
	rm -f "$disk"
	truncate -s 64M "$disk"
	vm "$RESULTS/fio" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit --smp 2 \
		--root-disk "$ROOTFS" --pv-disk "$disk" --expect-console \
		'pvkit-init: root on /dev/pvda' --cmd '
		set -e
		grep -q "^/dev/pvda / ext4" /proc/mounts
		for rw in randwrite:4k write:1M; do
			for qd in 1 32; do
				fio --name="${rw%%:*}-${rw#*:}-qd$qd" \
					--filename=/dev/pvdb --direct=1 \
					--ioengine=libaio --rw="${rw%%:*}" \
					--bs="${rw#*:}" --iodepth=$qd --numjobs=2 \
					--size=32M --offset_increment=32M \
					--verify=crc32c --do_verify=1 \
					--verify_fatal=1 --group_reporting \
					--output-format=terse --terse-version=3 |
					cut -d";" -f3,5,6,7
			done
		done
		echo "fio: all jobs verified"' \
		--expect-console 'fio: all jobs verified'
}

# Durability: PVKIT_DURABLE_CYCLES (default 20) boots on one ext4 image;
# each first checks that every record the previous boot acknowledged
# (written, fsync'd, then announced on the console) is there, then appends
# and acknowledges records until QEMU is killed with SIGKILL a random
# 0.5-6 s after the check (harness --kill-after).  One lost record fails
# the stage.
pv_durability() {
	local img=$RESULTS/disk-durable.raw out=$RESULTS/durability
	local cycles=${PVKIT_DURABLE_CYCLES:-20} acked=0 cycle t rc log n
	rm -rf "$img" "$out"
	mkdir -p "$out"
	truncate -s 64M "$img"
	/sbin/mke2fs -q -t ext4 -F "$img"
	for cycle in $(seq 1 "$cycles"); do
		t=$((5 + RANDOM % 56))	# tenths of a second after the check
		log=$out/cycle-$cycle
		rc=0
		"$HARNESS" --qemu "$QEMU" "${QEMU_DATA[@]}" --out "$log" -q \
			--kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
			--pv-disk "$img" --timeout 300 --kill-after \
			'DURABLE-VERIFIED' --kill-delay "$((t / 10)).$((t % 10))" \
			--cmd "mkdir -p /mnt &&
			mount -t ext4 /dev/pvda /mnt &&
			/kselftest/pvkit/pvkit_durable /mnt $acked" || rc=$?
		if grep -q 'DURABLE-LOST' "$log/console.log"; then
			grep 'DURABLE-LOST' "$log/console.log"
			echo "cycle $cycle: acknowledged records lost"
			return 1
		fi
		grep -q 'DURABLE-VERIFIED' "$log/console.log" || {
			echo "cycle $cycle: never verified (harness exit $rc, see $log)"
			return 1
		}
		[ "$rc" = 12 ] || {
			echo "cycle $cycle: expected the wall-clock kill (exit 12), got $rc"
			return 1
		}
		n=$(grep -o 'DURABLE-ACK [0-9]*' "$log/console.log" | tail -n 1 | cut -d' ' -f2)
		echo "cycle $cycle: killed $((t / 10)).$((t % 10)) s after the check; $(grep -o 'DURABLE-VERIFIED.*' "$log/console.log"); last ack ${n:-none}"
		acked=${n:-$acked}
	done
	echo "$cycles SIGKILL cycles, $acked records acknowledged, 0 lost"
}

# A 16 MiB image, fully written on the host, discarded whole by the guest
# (blkdiscard through the kit's frontend and QEMU's xen-disk): the file's
# allocated blocks must fall to (nearly) nothing.
pv_discard() {
	local img=$RESULTS/disk-discard.raw before after
	dd if=/dev/urandom of="$img" bs=1M count=16 status=none
	sync "$img"
	before=$(stat -c %b "$img")
	vm "$RESULTS/discard" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
		--pv-disk "$img" --cmd 'blkdiscard /dev/pvda' || return 1
	after=$(stat -c %b "$img")
	echo "allocated 512-byte blocks: $before before, $after after"
	[ "$before" -ge 32768 ] && [ "$after" -le 2048 ]
}

# Event-channel cost next to a bare exit, one guest, one run; the table
# goes to $RESULTS/bench-evtchn.md with the command that made it.  Then
# the block benchmark (scripts/bench-blk.sh): the kit's disk, virtio-blk
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
	BENCH_COMMAND="make bench" "$KIT/scripts/bench-blk.sh" "$QEMU" \
		"$KERNEL" "$IMAGE" "$ROOTFS" "$RESULTS/bench-blk" \
		"$RESULTS/bench-blk.md"
	BENCH_COMMAND="make bench" "$KIT/scripts/bench-net.sh" "$QEMU" \
		"$KERNEL" "$IMAGE" "$ROOTFS" "$RESULTS/bench-net" \
		"$RESULTS/bench-net.md"
}

# ---- make check: every stage adds to one count ----
PASSED=0 FAILED=0 SKIPPED=0

count_tap() {	# count ok / not ok / SKIP lines from stdin, echoing them
	local line
	while IFS= read -r line; do
		echo "$line"
		case "$line" in
		"ok "*"# SKIP"*) SKIPPED=$((SKIPPED + 1)) ;;
		"ok "*) PASSED=$((PASSED + 1)) ;;
		"not ok "*) FAILED=$((FAILED + 1)) ;;
		esac
	done
}

count_summary() {	# add "N passed, N failed, N skipped" from a file
	local p f s
	read -r p f s < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?$/\1 \2 \4/p' "$1" | tail -n 1)
	if [ -z "${p:-}" ]; then
		echo "not ok - $2: no summary line (see $1)"
		FAILED=$((FAILED + 1))
		return
	fi
	PASSED=$((PASSED + p)) FAILED=$((FAILED + f)) SKIPPED=$((SKIPPED + ${s:-0}))
	echo "# $2: $p passed, $f failed, ${s:-0} skipped"
}

stage_fail() {
	echo "not ok - $1"
	FAILED=$((FAILED + 1))
}

cmd_check() {
	local rc
	mkdir -p "$RESULTS"
	setup

	echo "# host unit tests (hypercall dispatcher, ASan+UBSan)"
	make -s -C "$KIT/tests/host" > "$RESULTS/host-unit.log" 2>&1 || true
	grep -E '^(not )?ok ' "$RESULTS/host-unit.log" | grep -v '^ok ' || true
	count_summary "$RESULTS/host-unit.log" "host unit tests"

	echo "# harness unit tests (KTAP parser, failure detection)"
	if (cd "$KIT/tests/harness" && python3 -m unittest -v 2>&1) > "$RESULTS/harness-unit.log"; then
		rc=0
	else
		rc=1
	fi
	n=$(sed -nE 's/^Ran ([0-9]+) tests?.*/\1/p' "$RESULTS/harness-unit.log")
	if [ $rc = 0 ] && [ -n "$n" ]; then
		PASSED=$((PASSED + n)); echo "# harness unit tests: $n passed"
	else
		stage_fail "harness unit tests (see $RESULTS/harness-unit.log)"
	fi

	echo "# pipeline error handling"
	count_tap < <("$KIT/tests/pipeline/bad-input.sh" 2>&1)

	build_all || { stage_fail "build"; summary; }

	echo "# store served by the reference host (bare test guest)"
	if "$KIT/backend-qemu/tests/store-smoke/run.sh" "$QEMU" > "$RESULTS/store-smoke.log" 2>&1; then
		PASSED=$((PASSED + 1)); echo "ok - store smoke test"
	else
		stage_fail "store smoke test (see $RESULTS/store-smoke.log)"
	fi

	echo "# QEMU's Xen backends on the pvkit device (xen-bus: layout, hot-plug, garbage)"
	count_tap < <("$KIT/tests/pipeline/xen-bus.py" "$QEMU" "$KERNEL" "$IMAGE" \
		"$RESULTS/xen-bus" 2>&1)

	echo "# kernel quality gates"
	count_tap < <("$KIT/scripts/lint.sh" "$KERNEL_ENV" 2>&1)

	echo "# PV guest: kselftests $SUITES"
	pv_suites > "$RESULTS/pv-guest.log" 2>&1 || true
	grep -E '^(not ok|ok) .*(pvkit|timers)|^accel:|reason' "$RESULTS/pv-guest.log" | tail -n 40 || true
	count_summary "$RESULTS/pv-guest.log" "PV guest kselftests"

	echo "# block frontend against backends that break the protocol (pvkit-test-vbd)"
	pv_hostile > "$RESULTS/pv-hostile.log" 2>&1 || true
	grep -E '^(not ok|ok) .*hostile|^accel:|reason' "$RESULTS/pv-hostile.log" || true
	count_summary "$RESULTS/pv-hostile.log" "hostile-backend kselftests"

	echo "# network frontend against backends that break the protocol (pvkit-test-vif)"
	pv_net_hostile > "$RESULTS/pv-net-hostile.log" 2>&1 || true
	grep -E '^(not ok|ok) .*hostile|^accel:|reason' "$RESULTS/pv-net-hostile.log" || true
	count_summary "$RESULTS/pv-net-hostile.log" "hostile-NIC kselftests"

	echo "# two guests on one socket netdev talk through kit NICs"
	rc=0
	pv_net_pair > "$RESULTS/pv-net-pair.log" 2>&1 || rc=$?
	count_tap < <(grep -E '^(not )?ok ' "$RESULTS/pv-net-pair.log")
	# a stage that broke off before its checks still counts as failed
	if [ $rc != 0 ] && ! grep -q '^not ok ' "$RESULTS/pv-net-pair.log"; then
		stage_fail "two guests on one socket netdev (exit $rc, see $RESULTS/pv-net-pair.log)"
	fi

	echo "# upstream net/netdevice.sh on the kit NIC"
	if pv_netdevice > "$RESULTS/pv-netdevice.log" 2>&1; then
		PASSED=$((PASSED + 1)); echo "ok - $(tail -n 1 "$RESULTS/pv-netdevice.log")"
	else
		stage_fail "net/netdevice.sh on the kit NIC (see $RESULTS/pv-netdevice.log)"
	fi

	echo "# fio with verify on a pvkit disk, root on a pvkit disk"
	if pv_fio > "$RESULTS/pv-fio.log" 2>&1; then
		PASSED=$((PASSED + 1)); echo "ok - fio verify on a pvkit disk (root on a pvkit disk)"
	else
		stage_fail "fio verify on a pvkit disk (see $RESULTS/pv-fio.log)"
	fi

	echo "# acknowledged writes survive SIGKILL of the host"
	if pv_durability > "$RESULTS/pv-durability.log" 2>&1; then
		PASSED=$((PASSED + 1)); echo "ok - $(tail -n 1 "$RESULTS/pv-durability.log")"
	else
		stage_fail "durability under SIGKILL (see $RESULTS/pv-durability.log)"
	fi

	echo "# discard on a pvkit disk reaches the image file"
	if pv_discard > "$RESULTS/pv-discard.log" 2>&1; then
		PASSED=$((PASSED + 1)); echo "ok - discard punches holes in the image"
	else
		stage_fail "discard punches holes in the image (see $RESULTS/pv-discard.log)"
	fi

	echo "# PV early boot console"
	if pv_earlycon > "$RESULTS/pv-earlycon.log" 2>&1; then
		PASSED=$((PASSED + 1)); echo "ok - early boot console reaches the host"
	else
		stage_fail "early boot console reaches the host (see $RESULTS/pv-earlycon)"
	fi

	echo "# a guest panic is caught and reported"
	rc=0
	vm "$RESULTS/panic" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
		--append 'rdinit=/nonexistent init=/nonexistent' --cmd true \
		> "$RESULTS/panic.log" 2>&1 || rc=$?
	if [ $rc = 10 ] && grep -q 'Kernel panic' "$RESULTS/panic/console.log"; then
		PASSED=$((PASSED + 1)); echo "ok - guest panic gives exit 10"
	else
		stage_fail "guest panic gives exit 10 (got $rc, see $RESULTS/panic)"
	fi

	echo "# the kit kernel on a host without the pvkit device"
	if vm "$RESULTS/no-device" --kernel "$KERNEL" --initrd "$IMAGE" --no-pvkit \
		--cmd '! test -e /sys/hypervisor/type && test -e /kselftest/run_kselftest.sh' \
		--expect-console 'PVKIT-BOOTED'; then
		PASSED=$((PASSED + 1)); echo "ok - kit kernel boots as an ordinary guest"
	else
		stage_fail "kit kernel boots as an ordinary guest (see $RESULTS/no-device)"
	fi

	echo "# a kernel without the kit on the reference host"
	local stock
	if stock=$("$KIT/scripts/fetch-stock-kernel.sh" | tail -n 1) &&
		vm "$RESULTS/stock-kernel" --kernel "$stock" --initrd "$IMAGE" --pvkit \
		--cmd '! test -e /sys/hypervisor/pvkit'; then
		PASSED=$((PASSED + 1)); echo "ok - stock kernel boots on the reference host"
	else
		stage_fail "stock kernel boots on the reference host (see $RESULTS/stock-kernel)"
	fi
	summary
}

summary() {
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
	[ "$FAILED" = 0 ] || exit 1
	exit 0
}

case "${1:-}" in
setup) setup ;;
build) build_all; echo "qemu: $QEMU"; echo "kernel: $KERNEL"; echo "image: $IMAGE" ;;
demo) cmd_demo ;;
run) shift; cmd_run "$@" ;;
bench) cmd_bench ;;
check) cmd_check ;;
clean-cache) rm -rf "$PVKIT_CACHE"; log "removed $PVKIT_CACHE" ;;
*) die "usage: $0 setup|build|demo|run 'CMD'|check|bench|clean-cache" ;;
esac
