#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The pv_ops benchmark's table (scripts/bench-pvops.sh): per boot, the
PVKIT-BENCH tlb line of pvkit_tlb_bench and the spin_lock throughput
pvkit_spin logs; per row, the median and range over the rounds.

  bench-pvops-report.py OUTDIR COMMAND
"""

import glob
import os
import re
import statistics
import sys

TLB = re.compile(r"PVKIT-BENCH tlb flush=(\w+) vcpus=(\d+) rounds=(\d+) "
                 r"ns=(\d+) hypercalls=([\d.]+) interrupts=([\d.]+)")
SPIN = re.compile(r"spin_lock: (\d+) writes in (\d+) s \((\d+)/s\), "
                  r"spinlocks (\w+): (\d+) waits, (\d+) parked, (\d+) kicks")


def spread(values, fmt="{:.0f}"):
    """median (min-max) of values."""
    if not values:
        return "-"
    return (fmt.format(statistics.median(values)) + " (" +
            fmt.format(min(values)) + "-" + fmt.format(max(values)) + ")")


def main():
    out, command = sys.argv[1], sys.argv[2]
    tlb, spin = {}, {}
    for path in sorted(glob.glob(os.path.join(out, "*", "console.log"))):
        mode = "kit" if path.split(os.sep)[-2].endswith("-kit") else "native"
        with open(path, errors="replace") as f:
            text = f.read()
        for m in TLB.finditer(text):
            key = (int(m.group(2)), mode)
            tlb.setdefault(key, []).append(
                (int(m.group(4)) / 1000, float(m.group(5)),
                 float(m.group(6))))
        for m in SPIN.finditer(text):
            spin.setdefault(mode, []).append(
                (int(m.group(3)), int(m.group(5)), int(m.group(6)),
                 int(m.group(7))))
    if not tlb:
        sys.exit("bench-pvops-report: no PVKIT-BENCH tlb line in " + out)
    print(f"Measured by `{command}`, one QEMU binary, the guest on 2 host "
          "CPUs, rounds interleaved; median (range) over "
          f"{max(len(v) for v in tlb.values())} boots per row.")
    print()
    print("| TLB shootdown, per munmap() | vCPUs | time (us) | hypercalls "
          "| interrupts taken | host transitions |")
    print("|---|---|---|---|---|---|")
    for (vcpus, mode) in sorted(tlb):
        rows = tlb[(vcpus, mode)]
        trans = [h + i for _, h, i in rows]
        name = ("kit flush (TLB_FLUSH)" if mode == "kit" else
                "IPIs (pvkit_tlb=off)")
        print(f"| {name} | {vcpus} | {spread([t for t, _, _ in rows])} | "
              f"{spread([h for _, h, _ in rows], '{:.2f}')} | "
              f"{spread([i for _, _, i in rows], '{:.2f}')} | "
              f"{spread(trans, '{:.2f}')} |")
    if spin:
        print()
        print("| locktorture spin_lock, 4 vCPUs on 2 host CPUs, 10 s | "
              "writes/s | SPIN_WAIT | parked | SPIN_KICK |")
        print("|---|---|---|---|---|")
        for mode in ("kit", "native"):
            rows = spin.get(mode, [])
            name = ("kit spinlocks" if mode == "kit" else
                    "native queued spinlocks (pvkit_spin=off)")
            print(f"| {name} | {spread([r[0] for r in rows])} | "
                  f"{spread([r[1] for r in rows])} | "
                  f"{spread([r[2] for r in rows])} | "
                  f"{spread([r[3] for r in rows])} |")
        kit = [r[0] for r in spin.get("kit", [])]
        nat = [r[0] for r in spin.get("native", [])]
        if kit and nat and statistics.median(nat) > 0:
            print()
            print("kit/native throughput: "
                  f"{statistics.median(kit) / statistics.median(nat):.2f}x "
                  "(medians)")


if __name__ == "__main__":
    main()
