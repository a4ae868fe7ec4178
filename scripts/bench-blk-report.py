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
import sys

import benchlib

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

def parse_console(path):
    """{label: fio json}, {label: [blkstat fields]}, {label: {disk:
    interrupts the guest took}}, queue lines, /proc/interrupts lines."""
    # fio's own error lines interleave with its json
    fio, lines, irqs = benchlib.scan_console(
        path, "FIO", noise=lambda line: line.startswith("fio: "))
    blkstat, guest_irqs, queues = {}, {}, []
    for line in lines:
        if line.startswith("PVKIT-BLKSTAT "):
            parts = line.split()
            blkstat[parts[1]] = [int(x) for x in parts[2:]]
        elif line.startswith("PVKIT-IRQ "):
            _, label, rest = line.split(" ", 2)
            add_guest_irqs(guest_irqs.setdefault(label, {}), rest)
        elif line.startswith("PVKIT-QUEUE "):
            queues.append(line.split(" ", 1)[1])
    return fio, blkstat, guest_irqs, queues, irqs


def add_guest_irqs(acc, line):
    """Add one /proc/interrupts line's per-CPU counts to acc[disk]."""
    disk = "kit" if line.split()[0] == "HYP:" else \
        "virtio" if "virtio" in line else "ahci" if "ahci" in line else None
    if disk:
        acc[disk] = acc.get(disk, 0) + benchlib.proc_interrupts_sum(line)


def classify(event, args):
    """A trace line's (kind, disk): an access to a disk's region is an
    exit, IRQ_EVENTS interrupts."""
    if event.startswith("memory_region_ops_"):
        disk = region_disk(benchlib.region_name(args))
        return ("exits", disk) if disk else None
    if event in IRQ_EVENTS:
        return "irqs", IRQ_EVENTS[event]
    return None


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
    r = benchlib.kit_deltas(marks, label)
    r.update({
        "ios": ios,
        "iops": j["read"]["iops"] + j["write"]["iops"],
        "mbs": (j["read"]["bw_bytes"] + j["write"]["bw_bytes"]) / 1e6,
        "cpu_us": r["cpu"] * 1e6 / ios if ios else 0,
        "dev_reqs": dev_reqs / ios if ios else 0,
        "guest_irqs": irq1 - irq0,
    })
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--command", default="scripts/bench-blk.sh")
    ap.add_argument("--runtime", default="?")
    ap.add_argument("--count-runtime", default="?")
    ap.add_argument("--mb", default="?")
    ap.add_argument("vmdir")
    args = ap.parse_args()
    d = args.vmdir
    try:
        fio, blkstat, guest_irqs, queues, irqs = \
            parse_console(f"{d}/console.log")
        marks = benchlib.parse_requests(f"{d}/host-requests.log")
    except (OSError, benchlib.ReportError) as e:
        sys.exit(f"bench-blk-report: {e}")
    accel, date = benchlib.run_info(d)

    res = {}
    for p in ("measure", "count"):
        for job, _ in JOBS:
            for disk, _ in DISKS:
                if p == "count" and disk == "kit":
                    continue    # the kit's counts are the device's own
                label = f"{p}:{disk}:{job}"
                res[label] = job_result(fio, blkstat, guest_irqs, marks,
                                        label)
    traced = benchlib.count_trace(
        f"{d}/trace.log",
        benchlib.windows(marks, [k for k in res if k.startswith("count:")]),
        classify)

    w = sys.stdout.write
    w(f"Measured by `{args.command}`, {date}, "
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
                exits = t.get("exits", {}).get(disk, 0)
                irq = t.get("irqs", {}).get(disk, 0)
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
          f"{benchlib.verdict(ratio >= 1.0)}); kit "
          f"{trans:.3f} host transitions per request (target <= 0.1: "
          f"{benchlib.verdict(trans <= 0.1)}).\n\n")
    else:
        w("Targets (4 KiB random read, QD32): not measured, a job "
          "failed.\n\n")
    rows = []
    for label, r in res.items():
        if r is None:
            rows.append([label, "failed"] + [""] * 10)
            continue
        t = traced.get(label)
        disk = label.split(":")[1]
        rows.append([
            label, r["ios"], f"{r['iops']:.0f}", r["hypercalls"],
            r["injections"], r["deliveries"], r["kicks"], r["coalesced"],
            t.get("exits", {}).get(disk, 0) if t else "",
            t.get("irqs", {}).get(disk, 0) if t else "",
            r["guest_irqs"], benchlib.by_number_text(r["by_number"])])
    w(benchlib.raw_details(
        ["pass:disk:job", "fio I/Os", "IOPS", "hypercalls",
         "upcalls injected", "deliveries", "backend kicks", "coalesced",
         "traced exits", "traced irqs", "guest irqs",
         "hypercalls by number"], "l" + "r" * 10 + "l", rows,
        "\nGuest queues: " + "; ".join(queues) + "\n\n" +
        benchlib.interrupts_text(irqs)))
    for n in notes:
        w(f"\nNote: {n}\n")


if __name__ == "__main__":
    main()
