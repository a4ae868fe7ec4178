#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage netdevice: upstream's network device test (tools/testing/
# selftests/net/netdevice.sh, installed by build-kernel.sh) on the kit's
# NIC: up, a MAC change while up, every changeable ethtool feature off,
# on and back, ethtool -d (no register dump: XFAIL) and -S, down.  It
# always exits 0, so its lines are the result: no FAIL, no other XFAIL,
# and every PASS line the kit NIC must give, each feature below toggled
# three ways (5 + 3 x 15 = 50 PASS lines).  Needs QEMU, KERNEL, IMAGE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE

# What ethtool -k lists as changeable (not [fixed]) on pvkit_netfront:
# its hw_features (SG, IP and IPv6 checksums, RX checksums, TSO, TSO6),
# the composite names over them, and what the core adds to every device
# (GSO, GRO, GRO lists, UDP GRO forwarding, no-cache copy, TSO mangle-id).
features='rx-checksumming tx-checksumming tx-checksum-ipv4 tx-checksum-ipv6
	scatter-gather tx-scatter-gather tcp-segmentation-offload
	tx-tcp-segmentation tx-tcp-mangleid-segmentation tx-tcp6-segmentation
	generic-segmentation-offload generic-receive-offload tx-nocache-copy
	rx-gro-list rx-udp-gro-forwarding'

vm "$RESULTS/netdevice" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
	--smp 2 --pv-nic user --cmd /kselftest/net/netdevice.sh
# The script's result lines, "Restore ... to initial state on" without
# the state.
lines=$(tr -d '\r' < "$RESULTS/netdevice/console.log" |
	grep -E '^(PASS|FAIL|XFAIL|SKIP): ' |
	sed -E 's/^(PASS: .* to initial state) .*/\1/' || true)
has() { grep -qxF "PASS: eth0: $1" <<< "$lines"; }
wanted=0 missing=() untoggled=()
for w in "set interface up" "set MAC address" "ethtool list features" \
	"ethtool stats" "stop interface"; do
	wanted=$((wanted + 1))
	has "$w" || missing+=("$w")
done
for f in $features; do
	n=${#missing[@]}
	for w in "Turned off feature: $f" "Turned on feature: $f" \
		"Restore feature $f to initial state"; do
		wanted=$((wanted + 1))
		has "$w" || missing+=("$w")
	done
	[ "$n" = ${#missing[@]} ] || untoggled+=("$f")
done
pass=$(grep -c '^PASS: ' <<< "$lines" || true)
fail=$(grep '^FAIL: ' <<< "$lines" || true)
xfail=$(grep '^XFAIL: ' <<< "$lines" |
	grep -vxF 'XFAIL: eth0: ethtool dump not supported' || true)
st=0
[ -z "$fail" ] || { echo "$fail"; st=1; }
[ -z "$xfail" ] || { echo "unexpected: $xfail"; st=1; }
if [ ${#missing[@]} != 0 ]; then
	printf 'missing: PASS: eth0: %s\n' "${missing[@]}"
	echo "$pass PASS lines, $wanted wanted${untoggled[*]:+; features not toggled: ${untoggled[*]}}"
	st=1
fi
[ $st = 0 ] || exit 1
echo "net/netdevice.sh on the kit NIC: $pass PASS ($wanted wanted), 0 FAIL, $(grep -c '^XFAIL: ' <<< "$lines") XFAIL"
