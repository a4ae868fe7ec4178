# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# What the benchmarks' guest sides (bench-blk-guest.sh, bench-net-guest.sh)
# share: asking the host for QEMU's CPU time, the pvkit device's counters
# and trace events.  busybox sh; the host scripts put it before the guest
# script in the harness's guest command (needs --host-requests and the
# pvkit device with id=pvkit).  The host side reads the replies with
# scripts/benchlib.py.

# The pvkit device's counters every mark reads (benchlib.KIT_COUNTERS).
KIT_COUNTERS="stat-hypercalls stat-injections stat-deliveries stat-backend-kicks stat-coalesced"

# req JSON: one QMP command for the harness (a PVKIT-HOST-REQUEST line).
req() {
	echo "PVKIT-HOST-REQUEST: $1" > /dev/kmsg
}

# host_mark LABEL: QEMU's CPU time and the host's wall clock (labelled),
# then the pvkit device's counters.  The harness answers in order.
host_mark() {
	local c
	req "{\"execute\": \"harness-cputime\", \"arguments\": {\"label\": \"$1\"}}"
	for c in $KIT_COUNTERS; do
		req "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"/machine/peripheral/pvkit\", \"property\": \"$c\"}}"
	done
}

# trace true|false "EVENT ...": switch QEMU trace events, then give the
# harness a second to do it before anything is measured.
trace() {
	local e
	for e in $2; do
		req "{\"execute\": \"trace-event-set-state\", \"arguments\": {\"name\": \"$e\", \"enable\": $1}}"
	done
	sleep 1
}
