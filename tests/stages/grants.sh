#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage grants: more grant demand than the table holds.  Four data disks
# of four rings each plus the root disk (their full budget, 5 x 4 x 128
# requests of 65 pages, is more than the host's 131,072-entry table) and
# two NICs all connect, and every data disk gets all its rings: the
# allocator shares the table instead of letting the first devices take
# it.  fio then drives every data disk at queue depth 128 with 256 KiB
# requests while both NICs send (60 KB pings, tens of thousands of
# packets each) and must report no error; the I/O must show in the
# grants in use, which afterwards fall back to their idle count, with no
# revoke pending or failed and no reservation failure logged.  With its
# four vCPUs it also runs the kit's test of call-function IPIs to sets of
# CPUs (VCPU_SEND_IPI), which needs three or more.  Prints
# TAP lines and a closing "N passed, N failed, N skipped" line.  Needs
# QEMU, KERNEL, IMAGE, ROOTFS.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE ROOTFS
mkdir -p "$RESULTS"
disks=()
for i in 1 2 3 4; do
	d=$RESULTS/disk-grants-$i.raw
	rm -f "$d"
	truncate -s 64M "$d"
	disks+=(--pv-disk "$d")
done

# In the guest (busybox sh).  G prints the grant counters.
# shellcheck disable=SC2016 # the guest expands them
cmd='
G() { for a in in_use total free reserved deferred_pending revoke_failed; do
	printf "%s=%s " $a "$(cat /sys/hypervisor/pvkit/grants_$a)"; done; echo; }
check() { if eval "$2"; then echo "grants-check: ok $1"; else echo "grants-check: FAIL $1"; fi; }
idle() { cat /sys/hypervisor/pvkit/grants_in_use; }
echo "idle: $(G)"
n=0; for d in /dev/pvdb /dev/pvdc /dev/pvdd /dev/pvde; do [ -b $d ] && n=$((n + 1)); done
check "4 data disks connected" "[ $n = 4 ]"
fair=$(dmesg | grep -cE "pvd[b-e]: .* 4 of 4 rings")
check "every data disk got its 4 rings (none starved by the others)" "[ $fair = 4 ]"
nics=0
for i in /sys/class/net/eth*; do
	[ -e "$i" ] || continue
	ip link set "${i##*/}" up
	nics=$((nics + 1))
done
check "2 NICs connected" "[ $nics = 2 ]"
ip addr add 10.0.2.15/24 dev eth0 2>/dev/null
ip addr add 10.0.3.15/24 dev eth1 2>/dev/null
before=$(idle)
tx() { cat /sys/class/net/$1/statistics/tx_packets; }
tx0=$(tx eth0) tx1=$(tx eth1)
ping -q -i 0.002 -s 60000 10.0.2.2 > /dev/null 2>&1 & p1=$!
ping -q -i 0.002 -s 60000 10.0.3.2 > /dev/null 2>&1 & p2=$!
# The most grants in use, sampled each second while fio runs.
(for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do sleep 1; idle; done |
	sort -n | tail -n 1 > /tmp/busy) &
rc=0
fio --name=qd128 --direct=1 --ioengine=libaio --rw=randrw --bs=256k \
	--iodepth=128 --size=48M --runtime=20 --time_based \
	--filename=/dev/pvdb:/dev/pvdc:/dev/pvdd:/dev/pvde --numjobs=4 \
	--group_reporting --output-format=terse --terse-version=3 \
	> /tmp/fio.out 2>/tmp/fio.err || rc=$?
kill $p1 $p2 2>/dev/null
wait
used=$(cat /tmp/busy)
sent0=$(($(tx eth0) - tx0)) sent1=$(($(tx eth1) - tx1))
echo "packets sent meanwhile: eth0 $sent0, eth1 $sent1"
check "the I/O took grants (at most $used in use while busy, $before idle)" "[ $used -gt $before ]"
check "both NICs sent while the disks were busy" "[ $sent0 -gt 1000 ] && [ $sent1 -gt 1000 ]"
res=$(grep "^3;" /tmp/fio.out | cut -d";" -f3,5,6,47)
echo "fio: exit $rc; name;error;KiB read;KiB written: $res"
cat /tmp/fio.err
check "fio at QD128 x 256 KiB on 4 disks with 2 NICs busy" "[ $rc = 0 ] && case \"$res\" in qd128\;0\;*) true;; *) false;; esac"
i=0
while [ "$(idle)" != "$before" ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
echo "after: $(G)"
check "grants back to their idle count ($before)" "[ $(idle) = $before ]"
check "no revoke pending or failed" "[ $(cat /sys/hypervisor/pvkit/grants_deferred_pending) = 0 ] && [ $(cat /sys/hypervisor/pvkit/grants_revoke_failed) = 0 ]"
check "no grant reservation or revoke failure logged" "! dmesg | grep -E \"cannot reserve grants|revoke failed|after its revoke\""
t=pvkit.call_function_ipis_use_vcpu_sets
/kselftest/pvkit/pvkit_test -r $t > /tmp/ipi.out 2>&1; ipi=$?
cat /tmp/ipi.out
check "call-function IPIs to 3 CPUs go to the host as sets ($t)" "[ $ipi = 0 ] && grep -qx \"ok 1 $t\" /tmp/ipi.out"
'

rc=0
vm "$RESULTS/grants" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit --smp 4 \
	--modprobe pvkit_test --mem 1024 --root-disk "$ROOTFS" "${disks[@]}" \
	--pv-nic user --pv-nic user,net=10.0.3.0/24 \
	--expect-console 'pvkit-init: root on /dev/pvda' \
	--cmd "$cmd" || rc=$?

guest_checks grants 10 "$rc" "$RESULTS/grants/console.log"
