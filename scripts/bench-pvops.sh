#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# pv_ops benchmarks (issue 13): TLB shootdowns on 2 and 4 vCPUs, and
# locktorture's spinlock throughput on 4 vCPUs over 2 host CPUs, each
# with the kit's mechanism on and off ("pvkit_tlb=off pvkit_spin=off":
# native IPIs and native queued spinlocks), same kernel, same QEMU.  The
# boots interleave (round 1: kit, native, kit, native...; round 2 ...),
# and the report gives each number's median and range over the rounds.
#   scripts/bench-pvops.sh QEMU KERNEL INITRD OUTDIR TABLE
# Environment: BENCH_PVOPS_ROUNDS (default 3), BENCH_TLB_ROUNDS (munmaps
# per boot, default 2000), BENCH_COMMAND (the command named in the table).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../tests/stages/lib.sh"

[ $# = 5 ] || die "usage: bench-pvops.sh QEMU KERNEL INITRD OUTDIR TABLE"
QEMU=$1 kernel=$2 initrd=$3 out=$4 table=$5
rounds=${BENCH_PVOPS_ROUNDS:-3}
munmaps=${BENCH_TLB_ROUNDS:-2000}
command=${BENCH_COMMAND:-scripts/bench-pvops.sh $*}
export QEMU

rm -rf "$out"
mkdir -p "$out"
# Two host CPUs, as in the pvops stage: four busy vCPUs overcommit them.
taskset -pc 0-1 $$ > /dev/null
for r in $(seq "$rounds"); do
	for vcpus in 2 4; do
		for mode in kit native; do
			append="pvkit_test_host_cpus=2"
			[ "$mode" = kit ] || append+=" pvkit_tlb=off pvkit_spin=off"
			cmd="/kselftest/pvkit/pvkit_tlb_bench $munmaps"
			[ "$vcpus" = 2 ] || cmd+="; /kselftest/pvkit/pvkit_spin"
			log "round $r: $vcpus vCPUs, $mode"
			vm "$out/$r-$vcpus-$mode" --kernel "$kernel" --initrd "$initrd" \
				--pvkit --smp "$vcpus" --append "$append" \
				--cmd "$cmd" > "$out/$r-$vcpus-$mode.log" 2>&1 ||
				die "round $r ($vcpus vCPUs, $mode) failed: $out/$r-$vcpus-$mode.log"
		done
	done
done
python3 "$(dirname "$0")/bench-pvops-report.py" "$out" "$command" > "$table"
cat "$table"
