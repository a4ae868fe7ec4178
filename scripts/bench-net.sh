#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Network benchmark (issue 5): iperf3 TCP, guest->host and host->guest,
# through the kit's NIC (QEMU's xen-net-device on the pvkit bus),
# virtio-net-pci and an emulated e1000: one guest (root on a kit disk,
# iperf3 from there), one QEMU run, each NIC on a QEMU user network
# (slirp) of its own, the iperf3 server on the host's 127.0.0.1.  Writes a
# markdown table (throughput, packets per second, host transitions per
# packet, QEMU CPU time per MB) and prints it.
#   scripts/bench-net.sh QEMU KERNEL INITRD ROOTFS OUTDIR TABLE
# Environment: BENCH_NET_RUNTIME (s per measured iperf3 run, default 4),
# BENCH_NET_ROUNDS (measured runs per NIC and direction, interleaved; the
# table has the median, default 3), BENCH_NET_COUNT_RUNTIME (s per traced
# run, default 3), BENCH_COMMAND (the command named in the table).
#
# Why slirp for all three and not tap: with tap, QEMU offers virtio-net
# the host's offloads both ways (vnet header: TSO, large receives,
# checksums), the kit's NIC only what its backend implements (TSO and
# checksums on transmit), so the comparison would mostly measure 64 KiB
# against 1.5 KiB receives; tap also needs host network setup.  On slirp
# no NIC has a vnet header and all of them feed the same user-space TCP
# stack, so the differences are the device models' and drivers' (and
# the offloads those do themselves: e1000's, the kit backend's TSO).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# = 6 ] || die "usage: bench-net.sh QEMU KERNEL INITRD ROOTFS OUTDIR TABLE"
qemu=$1 kernel=$2 initrd=$3 rootfs=$4 out=$5 table=$6
runtime=${BENCH_NET_RUNTIME:-4}
rounds=${BENCH_NET_ROUNDS:-3}
count_runtime=${BENCH_NET_COUNT_RUNTIME:-3}
command=${BENCH_COMMAND:-scripts/bench-net.sh $*}
for f in "$qemu" "$kernel" "$initrd" "$rootfs"; do
	[ -f "$f" ] || die "$f: no such file"
done
for v in "$runtime" "$rounds" "$count_runtime"; do
	case "$v" in ''|*[!0-9]*|0) die "run times and rounds are whole numbers > 0, not '$v'" ;; esac
done
command -v iperf3 > /dev/null || die "no iperf3 on the host (scripts/setup-host.sh)"

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The host's end: one iperf3 server for every run (they are sequential),
# on a free port of 127.0.0.1 (where slirp takes the guest's connections
# to its gateway).  A port taken between the probe and the bind makes
# the server exit, which the check below reports.  --idle-timeout: a
# run whose client vanished mid-test does not block the next ones.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
iperf3 -s -B 127.0.0.1 -p "$port" --idle-timeout 30 > "$out/iperf3-server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
sleep 0.5
kill -0 "$server" 2>/dev/null || die "iperf3 server did not start: $(cat "$out/iperf3-server.log")"

# Each NIC on its own slirp network (name:mac:net, net = the first three
# octets); the kit's is the harness's --pv-nic 0 (vif-0, MAC
# 52:54:00:12:35:10) on the default 10.0.2.0/24.
nics="kit:52:54:00:12:35:10:10.0.2
virtio:52:54:00:12:36:01:10.0.3
virtio-count:52:54:00:12:36:02:10.0.4
e1000:52:54:00:12:36:03:10.0.5"
nic_field() {	# nic_field NAME 2-7|8
	echo "$nics" | grep "^$1:" | cut -d: -f"$2"
}
netdev() {	# netdev NAME: a user network of its own
	echo "user,net=$(nic_field "$1" 8).0/24"
}
# romfile= : no option ROMs (no PXE boot here, and none installed).
# shellcheck disable=SC2054  # the commas are QEMU's option syntax
qemu_args=(
	-netdev "$(netdev virtio),id=bench-virtio"
	-device "virtio-net-pci,netdev=bench-virtio,id=bench-virtio,mac=$(nic_field virtio 2-7),romfile="
	# virtio-net for the counting pass only: without an ioeventfd, so its
	# queue notifications (MMIO writes) pass QEMU's access trace point
	# instead of going straight to an eventfd.
	-netdev "$(netdev virtio-count),id=bench-virtio-count"
	-device "virtio-net-pci,netdev=bench-virtio-count,id=bench-virtio-count,mac=$(nic_field virtio-count 2-7),ioeventfd=off,romfile="
	-netdev "$(netdev e1000),id=bench-e1000"
	-device "e1000,netdev=bench-e1000,id=bench-e1000,mac=$(nic_field e1000 2-7),romfile="
	# trace events start off; the guest switches them on for the
	# counting pass.  Timestamps place each line between the job marks.
	-D "$out/vm/trace.log" -msg timestamp=on
)
harness_args=()
for a in "${qemu_args[@]}"; do
	harness_args+=("--qemu-arg=$a")
done

guest_cmd="RUNTIME=$runtime COUNT_RUNTIME=$count_runtime ROUNDS=$rounds PORT=$port
NICS='${nics//$'\n'/ }'
$(cat "$KIT/scripts/bench-guest-lib.sh" "$KIT/scripts/bench-net-guest.sh")"

# The machine may be shared: the table says how busy it was.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# printk.devkmsg=on: the host requests go through /dev/kmsg, far more
# than its default rate limit (10 per 5 s) lets through.
"$KIT/tests/harness/pvkit-vm" --qemu "$qemu" --kernel "$kernel" \
	--initrd "$initrd" --data-dir /usr/share/seabios \
	--data-dir /usr/share/qemu --out "$out/vm" --pvkit --pvkit-opts id=pvkit \
	--root-disk "$rootfs" --host-requests --append printk.devkmsg=on \
	--pv-nic "$(netdev kit)" \
	--mem 512 --smp 1 --idle-timeout 120 --timeout 1200 \
	"${harness_args[@]}" --cmd "$guest_cmd" \
	--expect-console 'pvkit-init: root on /dev/pvda' \
	--expect-console 'bench-net: done'

python3 "$KIT/scripts/bench-net-report.py" --command "$command" \
	--runtime "$runtime" --rounds "$rounds" --count-runtime "$count_runtime" \
	--host-load "$load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after, $(nproc) CPUs" \
	"$out/vm" > "$table.tmp"
mv "$table.tmp" "$table"
cat "$table"
