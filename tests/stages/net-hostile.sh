#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage net-hostile: the network frontend against backends that break
# the protocol: one pvkit-test-vif NIC per fault (QOM id and devid 100 +
# n; the first 16 responses of the faulty ring are correct), each
# looping the guest's frames back.  pvkit_net_hostile checks what comes
# back and what is counted, that the guest stays healthy and the good
# NIC works, then unplugs the test NICs and counts the grants.  A skip
# not listed in tests/expected-skips.txt fails, and so does a run where
# no test passed (run_stage).  Ends with the harness's summary
# line.  Needs QEMU, KERNEL, IMAGE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE
n=100
args=()
for f in none rx-bad-id rx-bad-size rx-bad-offset rx-bad-flags \
	rx-bad-status rx-garbage rx-overrun tx-bad-id tx-bad-status \
	tx-silent; do
	args+=(--qemu-arg=-device
		--qemu-arg="pvkit-test-vif,id=tvif-$n,devid=$n,fault=$f,fault-after=16")
	n=$((n + 1))
done
vm "$RESULTS/pv-net-hostile" --kernel "$KERNEL" --initrd "$IMAGE" \
	--pvkit --host-requests "${args[@]}" --expected-skips /dev/null \
	--kselftest pvkit:pvkit_net_hostile "$@"
