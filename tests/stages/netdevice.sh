#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage netdevice: upstream's network device test (tools/testing/
# selftests/net/netdevice.sh, installed by build-kernel.sh) on the kit's
# NIC: up, a MAC change while up, every changeable ethtool feature off,
# on and back, ethtool -d (no register dump: XFAIL) and -S, down.  It
# always exits 0, so its lines are the result: no FAIL, and the PASS
# lines it must have (more than the up/MAC/features-list/stats/down ones:
# the toggles).  Needs QEMU, KERNEL, IMAGE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE
log=$RESULTS/netdevice/console.log
vm "$RESULTS/netdevice" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit \
	--smp 2 --pv-nic user --cmd /kselftest/net/netdevice.sh
pass=$(tr -d '\r' < "$log" | grep -c '^PASS: eth0: ' || true)
fail=$(tr -d '\r' < "$log" | grep '^FAIL' || true)
[ -z "$fail" ] || { echo "$fail"; exit 1; }
[ "$pass" -ge 10 ] || { echo "only $pass PASS lines"; exit 1; }
echo "net/netdevice.sh on the kit NIC: $pass PASS, 0 FAIL, $(tr -d '\r' < "$log" | grep -c '^XFAIL') XFAIL"
