#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage net-pair: two guests talk to each other through kit NICs (QEMU's
# xen-net-device, pvkit_netfront) on one socket netdev: A is 10.0.5.1, B
# 10.0.5.2 on one Ethernet segment; both ping each other (small and
# full-size frames, ARP must find the other's MAC), then each sends
# PVKIT_PAIR_KIB (default 4096) KiB of random data to the other over TCP
# at the same time, and the sha256 the sender printed must be what the
# receiver printed.  Prints one TAP line per check (everything else goes
# to files) and exits non-zero if any failed.  Needs QEMU, KERNEL, IMAGE.
#
# The netdev is a dgram pair over unix sockets: each QEMU binds its own
# socket and sends to the other's, so neither has to be up first (frames
# sent before the other exists are dropped; the guests retry), a full
# receiver makes the sender wait instead of dropping, and no port has to
# be found free.  In the guests (tests/pipeline/net-pair-guest.sh) the
# receiver listens before anything else and the sender retries until a
# deadline, so no step depends on which guest boots first; every wait is
# bounded, and so is each harness run (--timeout, idle timeout).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE

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

mkdir -p "$RESULTS"
pv_net_pair
