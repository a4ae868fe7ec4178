#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage plug: 16 disks and 8 NICs hot-plugged at once (24 device_add
# requests in a row, through the harness's QMP) must all connect within
# 120 s, a bound for a hang, not a speed target: under TCG they take a
# few seconds.  Prints what the plug cost: the seconds until the last
# device connected, and the store requests, replies and watch events
# the guest's store client counted meanwhile, in all and per device
# (debugfs pvkit_store/stats), as a table.  Prints TAP lines and a
# closing "N passed, N failed, N skipped" line.  Needs QEMU, KERNEL,
# IMAGE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE
DISKS=16 NICS=8
out=$RESULTS/plug
mkdir -p "$RESULTS"
qargs=()
for i in $(seq 0 $((DISKS - 1))); do
	img=$RESULTS/disk-plug-$i.raw
	rm -f "$img"
	truncate -s 8M "$img"
	qargs+=("--qemu-arg=-drive" "--qemu-arg=file=$img,format=raw,if=none,id=plugdrive$i")
done
for i in $(seq 0 $((NICS - 1))); do
	qargs+=("--qemu-arg=-netdev" "--qemu-arg=user,id=plugnet$i")
done

# In the guest (busybox sh).  Disk i is vdev xvd<a+i> (pvd<a+i> in the
# guest), NIC i vif i; a NIC counts once its frontend logged "connected".
# shellcheck disable=SC2016 # the guest expands them
cmd='
stats() { cat /sys/kernel/debug/pvkit_store/stats; }
stat() { stats | sed -n "s/^$1 //p"; }
now() { cut -d" " -f1 /proc/uptime; }
req() { echo "<5>PVKIT-HOST-REQUEST: $1" > /dev/kmsg; }
disks() { ls -d /sys/block/pvd* 2>/dev/null | wc -l; }
nics() { dmesg | grep -c "pvkit-netfront vif-.*: connected to"; }
r0=$(stat requests) p0=$(stat replies) e0=$(stat events) t0=$(now)
i=0
for l in a b c d e f g h i j k l m n o p; do
	req "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"xen-disk\", \"vdev\": \"xvd$l\", \"drive\": \"plugdrive$i\", \"id\": \"plug-xvd$l\"}}"
	i=$((i + 1))
done
for i in 0 1 2 3 4 5 6 7; do
	req "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"xen-net-device\", \"netdev\": \"plugnet$i\", \"idx\": $i, \"id\": \"plug-vif$i\"}}"
done
n=0
while [ $n -lt 1200 ]; do
	[ "$(disks)" = '"$DISKS"' ] && [ "$(nics)" = '"$NICS"' ] && break
	sleep 0.1
	n=$((n + 1))
done
t1=$(now)
echo "plug-stage: disks $(disks) nics $(nics) seconds $(echo "$t1 $t0" | awk "{printf \"%.1f\", \$1 - \$2}") requests $(($(stat requests) - r0)) replies $(($(stat replies) - p0)) events $(($(stat events) - e0))"
stats
'

rc=0
vm "$out" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit --smp 2 \
	--host-requests "${qargs[@]}" --cmd "$cmd" || rc=$?
line=$(tr -d '\r' < "$out/console.log" 2>/dev/null | grep -m1 '^plug-stage: ' || true)
echo "$line"
read -r _ _ disks _ nics _ secs _ reqs _ replies _ events <<< "$line" || true
failed=0
tap() {	# tap OK DESCRIPTION
	if [ "$1" = 1 ]; then echo "ok - plug: $2"; else echo "not ok - plug: $2"; failed=$((failed + 1)); fi
}
tap "$([ "$rc" = 0 ] && echo 1)" "the guest ran the plug (harness exit $rc)"
tap "$([ "${disks:-0}" = $DISKS ] && echo 1)" "$DISKS disks hot-plugged at once connect within 120 s (${disks:-0} did)"
tap "$([ "${nics:-0}" = $NICS ] && echo 1)" "$NICS NICs hot-plugged at once connect within 120 s (${nics:-0} did)"
# Each disk logs "N of M slots": the request slots per ring the grant
# table let it have.  The later disks of a crowd get fewer, but never
# fewer than PVKIT_BLK_MIN_DEPTH (8): each disk's share of the table
# leaves a floor for the devices after it (pvkit_blk_reserve()).
slots=$(grep -o 'pvkit-blkfront vbd-[0-9]*: pvd[a-z]*: .* \([0-9]*\) of [0-9]* slots' "$out/console.log" |
	sed 's/.* \([0-9]*\) of [0-9]* slots/\1/' | sort -n | sed -n '1p;$p' | xargs)
fewest=${slots%% *}
tap "$([ "${fewest:-0}" -ge 8 ] && echo 1)" "every disk of the crowd gets at least 8 request slots a ring (fewest: ${fewest:-none})"
if [ -n "$line" ]; then
	devs=$((DISKS + NICS))
	printf '\n| devices | seconds to connect | store requests | per device | replies | watch events | slots per ring, fewest / most |\n'
	printf '|---|---|---|---|---|---|---|\n'
	printf '| %d disks + %d NICs | %s | %s | %s | %s | %s | %s |\n\n' "$DISKS" "$NICS" \
		"$secs" "$reqs" "$(awk "BEGIN { printf \"%.1f\", $reqs / $devs }")" \
		"$replies" "$events" "${slots/ / \/ }"
fi
echo "$((4 - failed)) passed, $failed failed, 0 skipped"
[ "$failed" = 0 ]
