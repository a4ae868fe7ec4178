# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
# Guest half of the two-guest network stage (pv_net_pair in
# scripts/pipeline.sh; busybox sh, run as /pvkit/cmd in both guests).  The
# command's preamble sets:
#   ME, PEER        this guest's and the other guest's IPv4 address (/24)
#   PEER_MAC        the MAC of the other guest's kit NIC
#   SEND, RECV      names of the directions this guest sends and receives
#                   (a2b, b2a)
#   PORT_IN         the TCP port this guest listens on
#   PORT_OUT        the TCP port the other guest listens on
#   KIB             KiB of random data to send
#   WAIT            seconds to wait for the other guest (boot, connect)
# Prints PAIR-* lines; the host compares the PAIR-SENT line of one guest
# with the PAIR-RECV line of the other.  Prints "PAIR-FAIL ..." for each
# failed check here and exits non-zero if any failed.  Every wait has a
# deadline, so a missing peer ends this guest in bounded time.
fail=0
bad() {
	echo "PAIR-FAIL $*"
	fail=1
}
now() { date +%s; }

# The kit NIC: vif 0 on the pvkit bus, probed by pvkit_netfront.
vif=/sys/bus/pvkit/devices/vif-0
i=0
while [ ! -r $vif/netdev ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
dev=$(cat $vif/netdev 2>/dev/null)
if [ -z "$dev" ]; then
	echo "PAIR-FAIL no kit NIC ($vif/netdev missing)"
	exit 1
fi
echo "PAIR-NIC $dev driver=$(basename "$(readlink $vif/driver)") mac=$(cat "/sys/class/net/$dev/address")"
# Jumbo frames: both guests' NICs carry 9000-byte packets (a frame takes
# several buffer pages each way, negotiated with feature-sg).
if ! ip link set "$dev" mtu 9000 || ! ip addr add "$ME/24" dev "$dev" ||
	! ip link set "$dev" up; then
	bad "cannot configure $ME/24, MTU 9000 on $dev"
fi

# Listen first, so the other guest's sender finds the port open whenever
# it gets there (it retries connecting until its deadline).  stdin is a
# FIFO opened read-write, which never has data and never ends: busybox nc
# shuts down its sending half when stdin ends, and the sender's nc then
# sees the connection end and stops sending early.  The subshell leaves
# nc's pid and, at the end, its status in files.  The timeout is only a
# backstop: a receive that stops growing is ended below.
mkfifo /tmp/hold
: > /tmp/recv
(
	timeout $((3 * WAIT + KIB / 64)) nc -l -p "$PORT_IN" <> /tmp/hold > /tmp/recv &
	echo $! > /tmp/recv.pid
	wait $!
	echo $? > /tmp/recv.rc.new
	mv /tmp/recv.rc.new /tmp/recv.rc
) &

# The data to send, made while the other guest may still be booting.
dd if=/dev/urandom of=/tmp/send bs=1024 count="$KIB" 2>/dev/null
echo "PAIR-SENT $SEND $(sha256sum < /tmp/send | cut -d' ' -f1) $(wc -c < /tmp/send)"

# The other guest boots beside this one, not necessarily as fast: ping
# until it answers or WAIT runs out, saying so every 10 s (the harness
# kills a guest that prints nothing for its idle timeout).
start=$(now)
last=$start
until ping -c 1 -W 1 "$PEER" > /dev/null 2>&1; do
	if [ $(($(now) - start)) -ge "$WAIT" ]; then
		bad "no answer from $PEER in ${WAIT}s"
		kill "$(cat /tmp/recv.pid)" 2>/dev/null
		echo "PAIR-DONE fail=1"
		exit 1
	fi
	if [ $(($(now) - last)) -ge 10 ]; then
		echo "PAIR-WAIT $PEER not answering yet ($(($(now) - start))s)"
		last=$(now)
	fi
	sleep 0.5
done
echo "PAIR-UP $PEER answered after $(($(now) - start))s"

# Now that it answers, every echo must come back: small, 1500-byte and
# 9000-byte packets (ICMP payload + 28 bytes of headers).  The jumbo ones
# must cross unfragmented: IP reassembled nothing meanwhile (the other
# guest may be pinging or sending TCP at the same time, which never
# fragments).
reasm() {	# IP fragments received so far (/proc/net/snmp ReasmReqds)
	awk '/^Ip:/ { if (!n) { for (i = 1; i <= NF; i++) if ($i == "ReasmReqds") n = i; next } print $n }' /proc/net/snmp
}
for size in 56 1472 8972; do
	f0=$(reasm)
	out=$(ping -c 5 -i 0.2 -W 5 -s $size "$PEER" 2>&1)
	f1=$(reasm)
	if [ $size = 8972 ] && [ "$f1" != "$f0" ]; then
		bad "ping -s $size: $((f1 - f0)) IP fragments reassembled: not jumbo frames"
	fi
	tx=$(echo "$out" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
	rx=$(echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
	echo "PAIR-PING $ME->$PEER size=$size sent=${tx:-?} received=${rx:-?}"
	if [ "${tx:-0}" != 5 ] || [ "${rx:-0}" != 5 ]; then
		bad "ping -s $size $PEER: ${rx:-?} of ${tx:-?} answered"
		echo "$out"
	fi
done
# ARP found the other guest under its own MAC (the two must differ).
neigh=$(ip neigh show "$PEER" dev "$dev")
echo "PAIR-NEIGH $neigh"
case "$neigh" in
*"lladdr $PEER_MAC "*) ;;
*) bad "neighbour $PEER is not at $PEER_MAC: '$neigh'" ;;
esac

# Send while the other guest sends to us: both rings busy both ways.
# Retry connecting until the deadline; nc exits 0 once the receiver has
# read everything and closed.  Each try may take WAIT s plus a second per
# 64 KiB; nc's pid and the result go to files.
(
	start=$(now)
	until timeout $((WAIT + KIB / 64)) nc -w 5 "$PEER" "$PORT_OUT" < /tmp/send > /dev/null &
		echo $! > /tmp/send.pid
		wait $!; do
		if [ $(($(now) - start)) -ge "$WAIT" ]; then
			echo "no complete transfer to $PEER:$PORT_OUT in ${WAIT}s" > /tmp/send.rc.new
			mv /tmp/send.rc.new /tmp/send.rc
			exit
		fi
		sleep 1
	done
	echo "ok after $(($(now) - start))s" > /tmp/send.rc.new
	mv /tmp/send.rc.new /tmp/send.rc
) &

# Until both ends are done: progress every 10 s, and a receive that has
# not grown for WAIT s is ended, and so is the send: the other guest
# stopped sending, most likely it is gone.
start=$(now)
last=$start
grown=$start
size=0
stuck=
while [ ! -e /tmp/recv.rc ] || [ ! -e /tmp/send.rc ]; do
	sleep 1
	t=$(now)
	if [ ! -e /tmp/recv.rc ]; then
		n=$(wc -c < /tmp/recv)
		if [ "$n" != "$size" ]; then
			size=$n
			grown=$t
		elif [ $((t - grown)) -ge "$WAIT" ] && [ -z "$stuck" ]; then
			stuck="stuck at $size bytes for ${WAIT}s"
			kill "$(cat /tmp/recv.pid)" "$(cat /tmp/send.pid)" 2>/dev/null
		fi
	fi
	if [ $((t - last)) -ge 10 ]; then
		echo "PAIR-PROGRESS $((t - start))s: $RECV $size bytes in; $SEND $(cat /tmp/send.rc 2>/dev/null || echo sending)"
		last=$t
	fi
done
sent=$(cat /tmp/send.rc)
echo "PAIR-SEND-DONE $SEND $sent"
[ "${sent%% *}" = ok ] || bad "send $SEND: $sent"
rc=$(cat /tmp/recv.rc)
if [ -n "$stuck" ]; then
	bad "receive $RECV: $stuck"
elif [ "$rc" != 0 ]; then
	bad "receive $RECV: nc -l -p $PORT_IN exited with $rc"
fi
echo "PAIR-RECV $RECV $(sha256sum < /tmp/recv | cut -d' ' -f1) $(wc -c < /tmp/recv)"

# What the NIC counted.  Against QEMU's own backend nothing may be bad:
# no bad responses, no errors (they include the bad responses), nothing
# dropped on receive.  tx_dropped is left out: it includes the core's
# drops, and the guest that brings its NIC up last sees one to three (the
# frames the other guest sent while the NIC was down are delivered when
# it opens, before the kernel gives it a qdisc, and the replies go to
# noop_qdisc; the driver's own tx_dropped stays 0).
s=/sys/class/net/$dev/statistics
stats=
for c in rx_packets rx_bytes tx_packets tx_bytes rx_errors tx_errors \
	rx_dropped tx_dropped; do
	stats="$stats $c=$(cat "$s/$c")"
done
stats="$stats bad_responses=$(cat $vif/bad_responses)"
echo "PAIR-STATS $dev$stats"
for c in rx_errors=0 tx_errors=0 rx_dropped=0 bad_responses=0; do
	case " $stats " in
	*" $c "*) ;;
	*) bad "$dev: want $c: $stats" ;;
	esac
done
echo "PAIR-DONE fail=$fail"
exit $fail
