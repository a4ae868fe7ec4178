#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The table of scripts/bench-net.sh from one harness run's files.

  bench-net-report.py [--command CMD ...] VMDIR

VMDIR holds console.log (iperf3's json between PVKIT-IPERF-BEGIN/END
lines; per mark a PVKIT-NETSTAT line per NIC and a PVKIT-HYP line),
host-requests.log (per mark: a harness-cputime reply, then qom-gets of
the pvkit device's counters) and trace.log (QEMU's trace events of the
counting pass, with wall-clock timestamps).  Prints markdown.  Stdlib
only.
"""

import argparse
import re
import sys

import benchlib

NICS = (("kit", "kit (xen-net-device, pvkit bus)"),
        ("virtio", "virtio-net-pci"),
        ("e1000", "e1000"))
DIRS = (("g2h", "guest→host"), ("h2g", "host→guest"))
# The NIC whose traced counts stand for each NIC's (see bench-net.sh):
# the kit's are the pvkit device's own, in the measured run.
COUNTED_ON = {"virtio": "virtio-count", "e1000": "e1000"}
# Fields of a PVKIT-NETSTAT line after "label nic dev", then the guest's
# interrupt count for the NIC.
NETSTAT = ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes",
           "rx_dropped", "tx_dropped", "rx_errors", "tx_errors", "irqs")
# The share of all NICs' bytes in a run that must be the tested NIC's
# (the rest: e.g. ARP on another NIC).
OWN_SHARE = 0.99

# e1000 registers QEMU lets KVM batch (coalesced MMIO: e1000_mmio_setup()
# registers all but these): a guest write elsewhere in the BAR is a trace
# line (and a helper call under TCG) but no exit under KVM.
E1000_UNCOALESCED = {0x20, 0xc0, 0xc8, 0xd0, 0xd8, 0x400, 0x3818}

ADDR = re.compile(r"addr 0x([0-9a-f]+)")
PIN = re.compile(r"pin (\d+)")
# Kernel lines worth a note: the NIC drivers' complaints, the stack's
# transmit watchdog.
NIC_TROUBLE = re.compile(r"^\s*\[\s*\d+\.\d+\]\s+(pvkit-netfront|"
                         r"pvkit_netfront|virtio_net|e1000|NETDEV WATCHDOG)"
                         r"|transmit stalled|Detected Tx Unit Hang",
                         re.IGNORECASE)


def classifier(e1000_pin):
    """A trace line's (kind, NIC): guest accesses to virtio-net's and
    e1000's own regions are exits (all virtio-pci regions share names, so
    virtio's are the counting twin's: it is the only one with traffic
    then), virtio_notify (one MSI-X message each) and the IOAPIC's
    end of a level-triggered interrupt on e1000's pin (one per interrupt
    delivered) interrupts."""
    def classify(event, args):
        if event.startswith("memory_region_ops_"):
            name = benchlib.region_name(args)
            if name.startswith("virtio-pci") or name.startswith("msix-"):
                return "exits", "virtio-count"
            if name.startswith("e1000-"):
                a = ADDR.search(args)
                if event.endswith("_write") and name == "e1000-mmio" and \
                        a and int(a.group(1), 16) not in E1000_UNCOALESCED:
                    return "exits-coalescible", "e1000"
                return "exits", "e1000"
        elif event == "virtio_notify":
            return "irqs", "virtio-count"
        elif event == "ioapic_clear_remote_irr":
            m = PIN.search(args)
            if m and int(m.group(1)) == e1000_pin:
                return "irqs", "e1000"
        return None
    return classify


# virtio feature bits worth naming here (virtio_net.h, virtio_ring.h,
# virtio_config.h).
VIRTIO_FEATURES = {0: "CSUM", 1: "GUEST_CSUM", 7: "GUEST_TSO4",
                   11: "HOST_TSO4", 15: "MRG_RXBUF", 17: "CTRL_VQ",
                   22: "MQ", 28: "INDIRECT_DESC", 29: "EVENT_IDX",
                   32: "VERSION_1"}


def virtio_features(bits):
    """The named features of a virtio device's sysfs features string
    (one 0/1 character per bit, bit 0 first)."""
    return "+".join(n for b, n in sorted(VIRTIO_FEATURES.items())
                    if b < len(bits) and bits[b] == "1") or "none named"


def traced_exits(t, dev):
    """All of a traced run's exits for dev, coalescible ones included
    (under TCG each is a helper call)."""
    return t.get("exits", {}).get(dev, 0) + \
        t.get("exits-coalescible", {}).get(dev, 0)


def parse_lines(lines):
    """{label: {nic: {field: n, "dev": name}}}, {label: HYP upcalls the
    guest took}, {label: TCP segments sent}, {nic: PVKIT-NIC words}."""
    stats, hyp, tcp, nics = {}, {}, {}, {}
    for line in lines:
        f = line.split()
        if not f:
            continue
        if f[0] == "PVKIT-NETSTAT" and len(f) == 4 + len(NETSTAT):
            d = dict(zip(NETSTAT, (int(x) for x in f[4:])))
            d["dev"] = f[3]
            stats.setdefault(f[1], {})[f[2]] = d
        elif f[0] == "PVKIT-HYP" and len(f) == 3:
            hyp[f[1]] = int(f[2])
        elif f[0] == "PVKIT-TCP" and len(f) == 4:
            tcp[f[1]] = int(f[2]) + int(f[3])
        elif f[0] == "PVKIT-NIC" and len(f) >= 2:
            nics[f[1]] = dict(w.split("=", 1) for w in f[2:] if "=" in w)
            nics[f[1]]["dev"] = f[2] if len(f) > 2 else "?"
    return stats, hyp, tcp, nics


def run_result(iperf, stats, hyp, tcp, marks, label):
    """One iperf3 run's numbers, or None when it failed.  Packets are
    frames on the wire: those received as the NIC counts them, those
    sent as TCP's segments (a NIC's driver may count a TSO send as one)."""
    j = iperf.get(label)
    if not j or j.get("error") or "sum_received" not in j.get("end", {}):
        return None
    recv = j["end"]["sum_received"]
    nic = label.split(":")[1]
    before, after = stats[label + ":before"], stats[label + ":after"]
    nd = {n: {k: after[n][k] - before[n][k] for k in NETSTAT}
          for n in before}
    wire = {n: d["rx_bytes"] + d["tx_bytes"] for n, d in nd.items()}
    segs = tcp[label + ":after"] - tcp[label + ":before"]
    r = {
        "bytes": recv["bytes"],
        "seconds": recv["seconds"],
        "mbits": recv["bits_per_second"] / 1e6,
        "retransmits": j["end"].get("sum_sent", {}).get("retransmits", 0),
        "net": nd[nic],
        "segs": segs,
        "packets": nd[nic]["rx_packets"] + segs,
        "wire": wire[nic],
        "others": sum(wire.values()) - wire[nic],
        "hyp": hyp[label + ":after"] - hyp[label + ":before"],
    }
    r.update(benchlib.kit_deltas(marks, label))
    return r


def median_run(res, nic, dr, rounds):
    """The measured run of median throughput (of those that worked) and
    the throughputs of all that worked."""
    ok = sorted((r for r in (res[f"measure{i}:{nic}:{dr}"]
                             for i in range(1, rounds + 1)) if r),
                key=lambda r: r["mbits"])
    return (ok[(len(ok) - 1) // 2] if ok else None), [r["mbits"] for r in ok]


def row_counts(res, traced, nic, dr, m):
    """(exits, interrupts, packets, the guest's count of the interrupts)
    behind a row: the kit's from its measured run m, the others' from
    their traced run."""
    if nic == "kit":
        return m["hypercalls"], m["injections"], m["packets"], m["hyp"]
    dev = COUNTED_ON[nic]
    c, t = res[f"count:{dev}:{dr}"], traced[f"count:{dev}:{dr}"]
    if c is None:
        return None
    return traced_exits(t, dev), t.get("irqs", {}).get(dev, 0), \
        c["packets"], c["net"]["irqs"]


def write_header(w, args, accel, date, version):
    w(f"Measured by `{args.command}`, {date}, accelerator {accel}, 1 vCPU, "
      f"one QEMU run, every NIC on a QEMU user network (slirp) of its own "
      f"with the {version} server on the host's 127.0.0.1; iperf3 TCP, "
      f"one stream, {args.rounds} round{'s' if args.rounds != 1 else ''} "
      f"of {args.runtime} s measured "
      f"runs (NICs interleaved; the row is the run of median throughput, "
      f"the range in brackets), {args.count_runtime} s per counting run; "
      f"MTU 1500" +
      (f"; host load average {args.host_load}" if args.host_load else "") +
      ".\n\n")
    w("Limits of the setup: slirp terminates TCP in QEMU's main loop, so "
      "its cost is in every row (and in QEMU CPU), and its missing vnet "
      "header leaves virtio-net without checksum offload or TSO; e1000 "
      "keeps both (its device model checksums and segments), the kit's "
      "NIC has what its backend offers (the kit's patched xen-net-device: "
      "TSO and transmit checksums, done by QEMU's NetTxPkt; its TCP "
      "segments sent well above its NIC tx packets in the raw counts "
      "show TSO in use).  "
      "Packet = an Ethernet frame on the wire, both directions, data and "
      "ACKs: received ones as the NIC counts them, sent ones as TCP's "
      "segments (`/proc/net/snmp` OutSegs + RetransSegs: a driver may "
      "count a TSO send as one packet).  Mbit/s: iperf3's receiver; "
      "packets/s and QEMU CPU (utime+stime of all of QEMU over the run: "
      "under TCG that includes running the guest, and slirp) come from "
      "the untraced runs; MB = 10^6 bytes of TCP payload.  Exits: the "
      "kit's are its hypercalls (pvkit `stat-hypercalls`, one port write "
      "each), virtio-net's and e1000's the guest's accesses to their "
      "MMIO/port regions (QEMU trace `memory_region_ops_read/write`); "
      "interrupts: the kit's upcalls injected (`stat-injections`), "
      "`virtio_notify` (one MSI-X message each) and e1000's "
      "level-triggered INTx deliveries (`ioapic_clear_remote_irr` on its "
      "pin).  virtio-net's and e1000's counts come from a second, traced "
      "run in the same VM (virtio-net's on a twin virtio-net-pci with "
      "ioeventfd=off, whose notifications reach the trace point); the "
      "kit's from the pvkit device's counters in the untraced run.  The "
      "EOI after each interrupt (a local APIC write for all three) is not "
      "counted.\n\n")


def write_raw(w, res, traced, nic_info, irqs):
    rows = []
    for x, r in res.items():
        if r is None:
            rows.append([x, "failed"] + [""] * 19)
            continue
        t = traced.get(x, {})
        dev = x.split(":")[1]
        nd = r["net"]
        rows.append([
            x, r["bytes"], f"{r['seconds']:.2f}", r["retransmits"],
            r["segs"], nd["tx_packets"], nd["rx_packets"], r["others"],
            nd["tx_dropped"] + nd["rx_dropped"] + nd["tx_errors"] +
            nd["rx_errors"],
            f"{r['cpu']:.2f}", r["hypercalls"], r["injections"],
            r["deliveries"], r["kicks"], r["coalesced"],
            traced_exits(t, dev) if t else "",
            t.get("exits-coalescible", {}).get(dev, 0) if t else "",
            t.get("irqs", {}).get(dev, "") if t else "",
            nd["irqs"], r["hyp"], benchlib.by_number_text(r["by_number"])])
    nics = "; ".join(f"{n} {i['dev']} ({i.get('driver', '?')}, irq "
                     f"{i.get('irq', '-')}" +
                     (", virtio features " + virtio_features(i["features"])
                      if i.get("features", "-") != "-" else "") + ")"
                     for n, i in nic_info.items())
    w(benchlib.raw_details(
        ["pass:nic:direction", "iperf3 bytes", "s", "retransmits",
         "TCP segs sent", "NIC tx pkts", "NIC rx pkts", "other NICs' bytes",
         "drops+errors",
         "QEMU CPU s", "hypercalls", "upcalls injected", "deliveries",
         "backend kicks", "coalesced", "traced exits",
         "of which KVM would coalesce", "traced irqs", "guest NIC irqs",
         "guest HYP irqs", "hypercalls by number"],
        "l" + "r" * 19 + "l", rows,
        f"\nGuest NICs: {nics}.\n\n" + benchlib.interrupts_text(irqs)))


def console_notes(path):
    """Kernel lines about the NICs from the first run on (boot and
    link-up lines are no trouble)."""
    notes, started = [], False
    with open(path, errors="replace") as f:
        for line in f:
            started = started or line.startswith("PVKIT-NIC ")
            if started and NIC_TROUBLE.search(line):
                notes.append(f"console: {line.strip()}")
    return notes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--command", default="scripts/bench-net.sh")
    ap.add_argument("--runtime", default="?")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--count-runtime", default="?")
    ap.add_argument("--host-load", default="",
                    help="the host's load averages before and after")
    ap.add_argument("vmdir")
    args = ap.parse_args()
    d = args.vmdir
    try:
        iperf, lines, irqs = benchlib.scan_console(f"{d}/console.log",
                                                   "IPERF")
        marks = benchlib.parse_requests(f"{d}/host-requests.log")
    except (OSError, benchlib.ReportError) as e:
        sys.exit(f"bench-net-report: {e}")
    stats, hyp, tcp, nic_info = parse_lines(lines)
    accel, date = benchlib.run_info(d)

    labels = [f"measure{i}:{n}:{dr}" for i in range(1, args.rounds + 1)
              for dr, _ in DIRS for n, _ in NICS] + \
        [f"count:{COUNTED_ON[n]}:{dr}" for dr, _ in DIRS for n, _ in NICS
         if n in COUNTED_ON]
    missing = [x for x in labels if x + ":after" not in marks or
               x + ":after" not in stats or x + ":after" not in tcp]
    if missing:
        sys.exit("bench-net-report: runs without both marks (the guest "
                 "stopped early?): " + ", ".join(missing))
    res = {x: run_result(iperf, stats, hyp, tcp, marks, x) for x in labels}
    try:
        pin = int(nic_info["e1000"]["irq"])
    except (KeyError, ValueError):
        sys.exit("bench-net-report: no PVKIT-NIC line with e1000's irq")
    traced = benchlib.count_trace(
        f"{d}/trace.log",
        benchlib.windows(marks, [x for x in labels
                                 if x.startswith("count:")]),
        classifier(pin))

    notes, failed = console_notes(f"{d}/console.log"), []
    # The traffic went through the NIC under test, not a neighbour.
    for x, r in res.items():
        if r and r["wire"] < OWN_SHARE * (r["wire"] + r["others"]):
            notes.append(f"{x}: only {r['wire']} of "
                         f"{r['wire'] + r['others']} bytes went "
                         f"through the NIC under test")
            res[x] = None
    failed = [x for x, r in res.items() if r is None]

    version = next((j["start"].get("version", "iperf3") for j in
                    iperf.values() if j and "start" in j), "iperf3")
    w = sys.stdout.write
    write_header(w, args, accel, date, version)
    w("| NIC | direction | Mbit/s | packets/s | exits/packet | "
      "interrupts/packet | transitions/packet | QEMU CPU ms/MB |\n")
    w("|---|---|---:|---:|---:|---:|---:|---:|\n")
    rows = {}
    for dr, dname in DIRS:
        for nic, name in NICS:
            m, all_mbits = median_run(res, nic, dr, args.rounds)
            counts = row_counts(res, traced, nic, dr, m) if m else None
            if counts is None:
                w(f"| {name} | {dname} | failed | | | | | |\n")
                continue
            exits, irq, n, guest = counts
            # the guest's /proc/interrupts must tell the same story (a
            # few fewer in the guest are MSIs that merged in the local
            # APIC with one still pending on the same vector)
            if abs(guest - irq) > max(2, irq // 100):
                notes.append(f"{nic} {dr}: {irq} interrupts counted on the "
                             f"host, {guest} taken by the guest")
            n = max(n, 1)
            rows[nic, dr] = (m["mbits"], (exits + irq) / n)
            cpu_ms_mb = m["cpu"] * 1e3 / (m["bytes"] / 1e6) \
                if m["bytes"] else 0
            spread = f" ({min(all_mbits):.0f}-{max(all_mbits):.0f})" \
                if len(all_mbits) > 1 else ""
            w(f"| {name} | {dname} | {m['mbits']:.1f}{spread} | "
              f"{m['packets'] / m['seconds']:.0f} | {exits / n:.3f} | "
              f"{irq / n:.3f} | {(exits + irq) / n:.3f} | "
              f"{cpu_ms_mb:.1f} |\n")
    w("\n")
    if failed:
        w("Failed runs (iperf3 error or traffic on the wrong NIC; see the "
          "console log and the notes): " + ", ".join(failed) + ".\n\n")

    # The targets of issue 5, from the rows above.
    parts = []
    for dr, dname in DIRS:
        if not all((n, dr) in rows for n, _ in NICS):
            parts.append(f"{dname}: not measured, a run failed")
            continue
        k = rows["kit", dr]
        rv, re_ = k[0] / rows["virtio", dr][0], k[0] / rows["e1000", dr][0]
        parts.append(
            f"{dname}: kit {rv:.2f}x virtio-net-pci (target >= 1.0x: "
            f"{benchlib.verdict(rv >= 1.0)}), {re_:.2f}x e1000 (target "
            f">= 5x: {benchlib.verdict(re_ >= 5.0)}), {k[1]:.3f} host "
            f"transitions per packet (target <= 0.1: "
            f"{benchlib.verdict(k[1] <= 0.1)})")
    w("Targets (median throughput; kit's transitions per packet): " +
      "; ".join(parts) + ".\n\n")
    write_raw(w, res, traced, nic_info, irqs)
    for n in notes:
        w(f"\nNote: {n}\n")


if __name__ == "__main__":
    main()
