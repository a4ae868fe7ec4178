# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# (busybox ash: POSIX sh plus local, like dash)
# Guest side of scripts/bench-net.sh (busybox sh; the harness runs it as
# the guest command, with the RUNTIME, COUNT_RUNTIME, ROUNDS, PORT and NICS
# lines and scripts/bench-guest-lib.sh prepended).
#
# NICS: one "name:mac:net" word per NIC (net = the first three octets of
# its own QEMU user network): the kit's, virtio-net, virtio-net's twin
# for the counting pass, e1000.  Each NIC gets net.15/24, so the route to
# its slirp gateway net.2 (which QEMU hands to the host's 127.0.0.1, where
# the iperf3 server listens on PORT) is its own connected route: an
# iperf3 run against net.2 can only leave through that NIC.  The counters
# of every NIC at every mark let the host check that it did.
#
# Every job is fenced by two marks: a harness-cputime host request (QEMU's
# CPU time and the host's wall clock, labelled), qom-gets of the pvkit
# device's counters, every NIC's /sys/class/net statistics and interrupt
# counts.  The measuring passes (ROUNDS of them, one after the other, so
# a busy host slows every NIC alike) run untraced; the counting pass runs
# the same jobs on virtio-net's twin and e1000 with QEMU's trace events on
# (the host counts them between the marks' times).  iperf3's json goes to
# the console between PVKIT-IPERF-BEGIN/END lines.
set -eu

DIRS="g2h h2g"		# guest->host (iperf3 client sends), host->guest (-R)
EVENTS="memory_region_ops_read memory_region_ops_write virtio_notify ioapic_clear_remote_irr"

fail() {
	echo "bench-net: $*"
	exit 1
}

# The interface with MAC $1.
ifname() {
	local i
	for i in /sys/class/net/*; do
		[ "$(cat "$i/address")" = "$1" ] && { echo "${i##*/}"; return 0; }
	done
	return 1
}

# field N (1-based) of word $1 split at ":" (a MAC has colons of its own:
# name:m:m:m:m:m:m:net)
field() {
	echo "$1" | cut -d: -f"$2"
}
nic_name() { field "$1" 1; }
nic_mac() { echo "$1" | cut -d: -f2-7; }
nic_net() { field "$1" 8; }

# Interrupts the guest took for NIC $1 (interface $2), all CPUs: the kit's
# event channel lines (vif-0, or vif-0-qN per ring pair), virtio's MSI-X
# vectors (virtioN-*), e1000's INTx line (named after the interface).
nic_irqs() {
	local pat
	case "$1" in
	kit) pat="vif-0(-q[0-9]+)?$" ;;
	virtio*) pat="$(basename "$(readlink "/sys/class/net/$2/device")")-" ;;
	*) pat=" $2$" ;;
	esac
	grep -E "$pat" /proc/interrupts | awk '{
		for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i
	} END { print n + 0 }'
}

# mark LABEL: the harness answers the requests in order, before the
# guest sends anything again (the sleep).  (Functions keep their loop
# variables local: pass() is in the middle of a loop over $NICS too.)
mark() {
	local n name dev s
	host_mark "$1"
	for n in $NICS; do
		name=$(nic_name "$n") dev=$(ifname "$(nic_mac "$n")")
		s=/sys/class/net/$dev/statistics
		echo "PVKIT-NETSTAT $1 $name $dev" \
			"$(cat "$s/rx_packets" "$s/tx_packets" "$s/rx_bytes" \
				"$s/tx_bytes" "$s/rx_dropped" "$s/tx_dropped" \
				"$s/rx_errors" "$s/tx_errors" | xargs)" \
			"$(nic_irqs "$name" "$dev")"
	done
	echo "PVKIT-HYP $1 $(grep '^ *HYP:' /proc/interrupts | awk '{
		for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i
	} END { print n + 0 }')"
	# TCP segments sent (new and retransmitted): the frames a run put
	# on the wire, whatever the NIC counts (the kit's driver counts a
	# TSO send as one packet, e1000's as its segments)
	echo "PVKIT-TCP $1 $(awk '/^Tcp:/ {
		if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 }
		else print $c["OutSegs"], $c["RetransSegs"]
	}' /proc/net/snmp)"
	sleep 1
}

# pass measureN|count RUNTIME NIC-NAMES: every direction on those NICs
pass() {
	local d want n net label flag
	for d in $DIRS; do
		for want in $3; do
			for n in $NICS; do
				[ "$(nic_name "$n")" = "$want" ] && break
			done
			net=$(nic_net "$n")
			label=$1:$want:$d
			# host->guest: the server sends (-R).  The timeouts
			# end a stalled run long before the harness's idle
			# timeout would end the VM; iperf3 takes each only
			# in its own direction.
			flag="--snd-timeout 20000"
			[ "$d" = h2g ] && flag="-R --rcv-timeout 20000"
			mark "$label:before"
			echo "PVKIT-IPERF-BEGIN $label"
			# a failed run (e.g. a NIC that stopped sending) is a
			# result too: the host's table says so
			# shellcheck disable=SC2086  # flag is options
			iperf3 -4 -c "$net.2" -p "$PORT" -t "$2" $flag -J \
				--connect-timeout 5000 ||
				echo "PVKIT-IPERF-FAILED $label"
			echo "PVKIT-IPERF-END $label"
			mark "$label:after"
		done
	done
}

# No IPv6: its autoconfiguration would add router solicitations and
# neighbour discovery to the counts of every NIC.
echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6
echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6
for n in $NICS; do
	name=$(nic_name "$n") net=$(nic_net "$n")
	dev=$(ifname "$(nic_mac "$n")") || fail "no interface with MAC $(nic_mac "$n") ($name)"
	[ "$name" != kit ] ||
		[ "$(cat /sys/bus/pvkit/devices/vif-0/netdev)" = "$dev" ] ||
		fail "$dev is not the kit's vif-0"
	ip addr add "$net.15/24" dev "$dev"
	ip link set "$dev" up
done
# Wait for carrier: e1000 autonegotiates for a while after coming up.
for n in $NICS; do
	dev=$(ifname "$(nic_mac "$n")")
	i=0
	until [ "$(cat "/sys/class/net/$dev/carrier" 2>/dev/null)" = 1 ]; do
		i=$((i + 1))
		[ $i -le 100 ] || fail "$dev ($(nic_name "$n")): no carrier after 10 s"
		sleep 0.1
	done
	echo "PVKIT-NIC $(nic_name "$n") $dev $(nic_net "$n").15" \
		"driver=$(basename "$(readlink "/sys/class/net/$dev/device/driver")")" \
		"mtu=$(cat "/sys/class/net/$dev/mtu")" \
		"irq=$(cat "/sys/class/net/$dev/device/irq" 2>/dev/null || echo -)" \
		"features=$(cat "/sys/class/net/$dev/device/features" 2>/dev/null || echo -)" \
		"route=$(ip route get "$(nic_net "$n").2" | head -n 1 | xargs)"
done

# Warm-up, not measured: the first run through a code path pays TCG's
# translation of it (a first run once came out at a quarter of the
# next ones' throughput per CPU second), and TCP's first connection
# through a NIC learns its path.
for n in $NICS; do
	case "$(nic_name "$n")" in virtio-count) continue ;; esac
	for flag in "" -R; do
		# shellcheck disable=SC2086  # flag is an option or nothing
		iperf3 -4 -c "$(nic_net "$n").2" -p "$PORT" -t 1 $flag \
			--connect-timeout 5000 > /dev/null ||
			echo "bench-net: warm-up on $(nic_name "$n") $flag failed"
	done
done
for r in $(seq 1 "$ROUNDS"); do
	pass "measure$r" "$RUNTIME" "kit virtio e1000"
done
# The kit's exits and interrupts are the pvkit device's own counters,
# exact in the measuring pass; virtio-net's twin (no ioeventfd, see
# bench-net.sh) and e1000 are counted from QEMU's trace events.
trace true "$EVENTS"
pass count "$COUNT_RUNTIME" "virtio-count e1000"
trace false "$EVENTS"
echo "PVKIT-INTERRUPTS-BEGIN"
cat /proc/interrupts
echo "PVKIT-INTERRUPTS-END"
echo "bench-net: done"
