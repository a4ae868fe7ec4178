#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The table of scripts/bench-blk.sh from one harness run's files.

  bench-blk-report.py [--command CMD ...] VMDIR

VMDIR holds console.log (fio's json between PVKIT-FIO-BEGIN/END lines,
PVKIT-BLKSTAT lines), host-requests.log (per job mark: a harness-cputime
reply, then qom-gets of the pvkit device's counters) and trace.log (QEMU's
trace events of the counting pass, with wall-clock timestamps).  Prints
markdown.  Stdlib only.
"""

import argparse
import bisect
import json
import re
import sys
import time

DISKS = (("kit", "kit (xen-disk, pvkit bus)"),
         ("virtio", "virtio-blk-pci"),
         ("ahci", "AHCI (ich9-ahci + ide-hd)"))
JOBS = (("randread-4k-qd32", "4 KiB random read, QD32"),
        ("read-1m-qd8", "1 MiB sequential read, QD8"),
        ("write-1m-qd8", "1 MiB sequential write, QD8"))

# QEMU memory regions of each disk: a guest access to one is one exit.
def region_disk(name):
    if name == "pvkit":
        return "kit"
    if name.startswith("virtio-pci") or name.startswith("msix-"):
        return "virtio"
    if name in ("ahci", "ahci-idp"):
        return "ahci"
    return None


# An interrupt raised for a disk: virtio_notify (after virtio's own
# suppression check, one MSI-X message each), ahci_irq_raise (one MSI each
# while MSI is on).  The kit's upcalls are counted by the pvkit device.
IRQ_EVENTS = {"virtio_notify": "virtio", "ahci_irq_raise": "ahci"}

# Hypercall numbers (hypercall/pvkit.h) that a disk's I/O may use.
HYPERCALLS = {2: "CONSOLE_WRITE", 11: "EVTCHN_SEND", 13: "EVTCHN_UNMASK",
              16: "GNTTAB_SETUP"}

KERNEL_LINE = re.compile(r"^\s*\[\s*\d+\.\d+\]")
TRACE_LINE = re.compile(r"^\d+@(\d+\.\d+):(\w+) (.*)$")
NAME = re.compile(r"name '([^']*)'")


def parse_console(path):
    """{label: fio json}, {label: [blkstat fields]}, {label: {disk:
    interrupts the guest took}}, queue lines, /proc/interrupts lines."""
    fio, blkstat, guest_irqs, queues, irqs = {}, {}, {}, [], []
    cur, buf, in_irq = None, [], False
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("PVKIT-FIO-BEGIN "):
                cur, buf = line.split()[1], []
            elif line.startswith("PVKIT-FIO-END "):
                text = "\n".join(buf)
                # fio may print notes before its json
                try:
                    fio[cur] = json.loads(text[text.index("{"):])
                except ValueError:
                    fio[cur] = None
                cur = None
            elif cur is not None:
                # kernel lines and fio's own error lines interleave
                if not KERNEL_LINE.match(line) and \
                        not line.startswith("fio: "):
                    buf.append(line)
            elif line.startswith("PVKIT-BLKSTAT "):
                parts = line.split()
                blkstat[parts[1]] = [int(x) for x in parts[2:]]
            elif line.startswith("PVKIT-IRQ "):
                _, label, rest = line.split(" ", 2)
                add_guest_irqs(guest_irqs.setdefault(label, {}), rest)
            elif line.startswith("PVKIT-QUEUE "):
                queues.append(line.split(" ", 1)[1])
            elif line.startswith("PVKIT-INTERRUPTS-BEGIN"):
                in_irq = True
            elif line.startswith("PVKIT-INTERRUPTS-END"):
                in_irq = False
            elif in_irq and not KERNEL_LINE.match(line):
                irqs.append(line)
    return fio, blkstat, guest_irqs, queues, irqs


def add_guest_irqs(acc, line):
    """Add one /proc/interrupts line's per-CPU counts to acc[disk]."""
    fields = line.split()
    disk = "kit" if fields[0] == "HYP:" else \
        "virtio" if "virtio" in line else "ahci" if "ahci" in line else None
    n = 0
    for f in fields[1:]:
        if not f.isdigit():
            break
        n += int(f)
    if disk:
        acc[disk] = acc.get(disk, 0) + n


def parse_requests(path):
    """{label: {"cpu", "time", counter: value}} from host-requests.log: a
    harness-cputime reply opens a mark, the qom-gets after it fill it."""
    marks, cur = {}, None
    with open(path) as f:
        for line in f:
            req, sep, reply = line.partition(" -> ")
            if not sep:
                continue
            req = json.loads(req.split(" ", 1)[1])
            try:
                reply = json.loads(reply)
            except ValueError:
                raise SystemExit(f"bench-blk-report: host request failed: "
                                 f"{line.strip()}")
            if "return" not in reply:
                raise SystemExit(f"bench-blk-report: host request failed: "
                                 f"{line.strip()}")
            if req["execute"] == "harness-cputime":
                cur = marks[reply["return"]["label"]] = dict(reply["return"])
            elif req["execute"] == "qom-get" and cur is not None:
                cur[req["arguments"]["property"]] = reply["return"]
    return marks


def count_trace(path, windows):
    """windows: {key: (t0, t1)}, disjoint.  Returns {key: {"exits": {disk:
    n}, "irqs": {disk: n}}} for trace lines inside each window."""
    order = sorted(windows, key=lambda k: windows[k][0])
    starts = [windows[k][0] for k in order]
    counts = {k: {"exits": {}, "irqs": {}} for k in windows}
    with open(path, errors="replace") as f:
        for line in f:
            m = TRACE_LINE.match(line)
            if not m:
                continue
            t = float(m.group(1))
            i = bisect.bisect_right(starts, t) - 1
            if i < 0 or t > windows[order[i]][1]:
                continue
            c = counts[order[i]]
            ev = m.group(2)
            if ev.startswith("memory_region_ops_"):
                n = NAME.search(m.group(3))
                disk = region_disk(n.group(1)) if n else None
                if disk:
                    c["exits"][disk] = c["exits"].get(disk, 0) + 1
            elif ev in IRQ_EVENTS:
                disk = IRQ_EVENTS[ev]
                c["irqs"][disk] = c["irqs"].get(disk, 0) + 1
    return counts


def delta(marks, label, key):
    a, b = marks[label + ":before"][key], marks[label + ":after"][key]
    if isinstance(a, list):
        return sum(b) - sum(a)
    return b - a


def job_result(fio, blkstat, guest_irqs, marks, label):
    """The job's numbers, or None when fio failed."""
    if not fio.get(label) or fio[label]["jobs"][0]["error"]:
        return None
    j = fio[label]["jobs"][0]
    ios = j["read"]["total_ios"] + j["write"]["total_ios"]
    before, after = blkstat[label + ":before"], blkstat[label + ":after"]
    dev_reqs = (after[0] - before[0]) + (after[4] - before[4])
    disk = label.split(":")[1]
    irq0 = guest_irqs.get(label + ":before", {}).get(disk, 0)
    irq1 = guest_irqs.get(label + ":after", {}).get(disk, 0)
    return {
        "ios": ios,
        "iops": j["read"]["iops"] + j["write"]["iops"],
        "mbs": (j["read"]["bw_bytes"] + j["write"]["bw_bytes"]) / 1e6,
        "cpu_us": delta(marks, label, "cpu") * 1e6 / ios if ios else 0,
        "dev_reqs": dev_reqs / ios if ios else 0,
        "hypercalls": delta(marks, label, "stat-hypercalls"),
        "injections": delta(marks, label, "stat-injections"),
        "deliveries": delta(marks, label, "stat-deliveries"),
        "kicks": delta(marks, label, "stat-backend-kicks"),
        "coalesced": delta(marks, label, "stat-coalesced"),
        "guest_irqs": irq1 - irq0,
        "by_number": [b - a for a, b in zip(
            marks[label + ":before"]["stat-hypercalls"],
            marks[label + ":after"]["stat-hypercalls"])],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--command", default="scripts/bench-blk.sh")
    ap.add_argument("--runtime", default="?")
    ap.add_argument("--count-runtime", default="?")
    ap.add_argument("--mb", default="?")
    ap.add_argument("vmdir")
    args = ap.parse_args()
    d = args.vmdir
    fio, blkstat, guest_irqs, queues, irqs = \
        parse_console(f"{d}/console.log")
    marks = parse_requests(f"{d}/host-requests.log")
    accel = json.load(open(f"{d}/results.json"))["accel"]

    res, windows = {}, {}
    for p in ("measure", "count"):
        for job, _ in JOBS:
            for disk, _ in DISKS:
                if p == "count" and disk == "kit":
                    continue    # the kit's counts are the device's own
                label = f"{p}:{disk}:{job}"
                res[label] = job_result(fio, blkstat, guest_irqs, marks,
                                        label)
                windows[label] = (marks[label + ":before"]["time"],
                                  marks[label + ":after"]["time"])
    traced = count_trace(f"{d}/trace.log",
                         {k: v for k, v in windows.items()
                          if k.startswith("count:")})

    w = sys.stdout.write
    w(f"Measured by `{args.command}`, {time.strftime('%Y-%m-%d', time.gmtime())}, "
      f"accelerator {accel}, 1 vCPU, one QEMU run, one {args.mb} MiB raw "
      f"image (host page cache) attached as all three disks; fio "
      f"--direct=1 --ioengine=libaio, one job, {args.runtime} s per "
      f"measured run, {args.count_runtime} s per counting run; guest I/O "
      f"scheduler none.\n\n")
    w("Per request = per fio I/O (a 1 MiB I/O is several device requests: "
      "last column).  IOPS, MB/s and QEMU CPU (all of QEMU: under TCG that "
      "includes running the guest) come from the untraced pass.  Exits: "
      "the kit's are its hypercalls (pvkit `stat-hypercalls`, one port "
      "write each), virtio's and AHCI's the guest's accesses to their "
      "MMIO/port regions (QEMU trace `memory_region_ops_read/write`); "
      "interrupts: the kit's upcalls injected (`stat-injections`), "
      "`virtio_notify` (one MSI-X each) and `ahci_irq_raise` (one MSI "
      "each).  virtio's and AHCI's counts come from a second, traced run "
      "of the same job in the same VM (virtio's on a twin virtio-blk-pci "
      "of the same file with ioeventfd=off, whose notifications reach the "
      "trace point); the kit's from the pvkit device's counters in the "
      "untraced run.\n\n")
    notes, failed = [], []
    for job, title in JOBS:
        w(f"**{title}**\n\n")
        w("| disk | IOPS | MB/s | exits/req | interrupts/req | "
          "transitions/req | QEMU CPU µs/req | device reqs/req |\n")
        w("|---|---:|---:|---:|---:|---:|---:|---:|\n")
        for disk, name in DISKS:
            m = res[f"measure:{disk}:{job}"]
            c = res.get(f"count:{disk}:{job}", m)
            if m is None or c is None:
                w(f"| {name} | failed | | | | | | |\n")
                failed.append(f"{disk} {job}")
                continue
            if disk == "kit":
                exits, irq, n = m["hypercalls"], m["injections"], m["ios"]
            else:
                t = traced[f"count:{disk}:{job}"]
                exits, irq = t["exits"].get(disk, 0), t["irqs"].get(disk, 0)
                n = res[f"count:{disk}:{job}"]["ios"]
            # the guest's /proc/interrupts must tell the same story
            g = res[f"count:{disk}:{job}" if disk != "kit" else
                    f"measure:{disk}:{job}"]["guest_irqs"]
            if abs(g - irq) > max(2, irq // 100):
                notes.append(f"{disk} {job}: {irq} interrupts counted on "
                             f"the host, {g} taken by the guest")
            w(f"| {name} | {m['iops']:.0f} | {m['mbs']:.1f} | "
              f"{exits / n:.3f} | {irq / n:.3f} | {(exits + irq) / n:.3f} | "
              f"{m['cpu_us']:.0f} | {m['dev_reqs']:.2f} |\n")
        w("\n")

    if failed:
        w("Failed jobs (fio error; see the console log): " +
          ", ".join(failed) + ".\n\n")
    # The targets of issue 4, and the raw counts behind the table.
    k, v = res["measure:kit:randread-4k-qd32"], \
        res["measure:virtio:randread-4k-qd32"]
    if k and v:
        trans = (k["hypercalls"] + k["injections"]) / k["ios"]
        ratio = k["iops"] / v["iops"] if v["iops"] else 0
        w("Targets (4 KiB random read, QD32): kit throughput "
          f"{ratio:.2f}x virtio-blk-pci (target >= 1.0x: "
          f"{'met' if ratio >= 1.0 else 'not met'}); kit "
          f"{trans:.3f} host transitions per request (target <= 0.1: "
          f"{'met' if trans <= 0.1 else 'not met'}).\n\n")
    else:
        w("Targets (4 KiB random read, QD32): not measured, a job "
          "failed.\n\n")
    w("<details><summary>raw counts</summary>\n\n")
    w("| pass:disk:job | fio I/Os | IOPS | hypercalls | upcalls injected | "
      "deliveries | backend kicks | coalesced | traced exits | "
      "traced irqs | guest irqs | hypercalls by number |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
    for label, r in res.items():
        if r is None:
            w(f"| {label} | failed | | | | | | | | | | |\n")
            continue
        t = traced.get(label)
        disk = label.split(":")[1]
        ex = t["exits"].get(disk, 0) if t else ""
        ir = t["irqs"].get(disk, 0) if t else ""
        w(f"| {label} | {r['ios']} | {r['iops']:.0f} | {r['hypercalls']} | "
          f"{r['injections']} | {r['deliveries']} | {r['kicks']} | "
          f"{r['coalesced']} | {ex} | {ir} | {r['guest_irqs']} | "
          + " ".join(f"{HYPERCALLS.get(i, i)}:{n}"
                     for i, n in enumerate(r["by_number"]) if n) + " |\n")
    w("\nGuest queues: " + "; ".join(queues) + "\n\n")
    w("Guest /proc/interrupts at the end:\n\n```\n" + "\n".join(irqs) +
      "\n```\n\n</details>\n")
    for n in notes:
        w(f"\nNote: {n}\n")


if __name__ == "__main__":
    main()
