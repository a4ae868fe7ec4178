# SPDX-License-Identifier: GPL-2.0
"""What the benchmark reports (bench-blk-report.py, bench-net-report.py)
share: reading one harness run's files.

A benchmark guest fences every job with two marks ("LABEL:before",
"LABEL:after"), each a harness-cputime host request followed by qom-gets
of the pvkit device's counters (host-requests.log); it prints its tool's
json between PVKIT-<TAG>-BEGIN/END lines and /proc/interrupts between
PVKIT-INTERRUPTS-BEGIN/END on the console (console.log); QEMU's trace
events of a counting pass, with wall-clock timestamps, are in trace.log.
Stdlib only.
"""

import bisect
import json
import re
import time

# Counters of the pvkit device a guest's marks read (qom-get), and the
# names a report gives their deltas.
KIT_COUNTERS = (("stat-hypercalls", "hypercalls"),
                ("stat-injections", "injections"),
                ("stat-deliveries", "deliveries"),
                ("stat-backend-kicks", "kicks"),
                ("stat-coalesced", "coalesced"))

# Hypercall numbers (hypercall/pvkit.h) that a device's I/O may use.
HYPERCALLS = {2: "CONSOLE_WRITE", 11: "EVTCHN_SEND", 13: "EVTCHN_UNMASK",
              16: "GNTTAB_SETUP"}

KERNEL_LINE = re.compile(r"^\s*\[\s*\d+\.\d+\]")
TRACE_LINE = re.compile(r"^\d+@(\d+\.\d+):(\w+) (.*)$")
REGION_NAME = re.compile(r"name '([^']*)'")


class ReportError(Exception):
    """The run's files do not hold what the report needs."""


def scan_console(path, tag, noise=None):
    """Read console.log: ({label: json or None} of the PVKIT-<tag>-BEGIN
    label ... PVKIT-<tag>-END label blocks (kernel lines and lines that
    noise(line) calls noise dropped; the json starts at the first '{', a
    tool may print notes first), the other lines, the lines of the
    PVKIT-INTERRUPTS block)."""
    begin, end = f"PVKIT-{tag}-BEGIN ", f"PVKIT-{tag}-END "
    blocks, other, irqs = {}, [], []
    cur, buf, in_irq = None, [], False
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith(begin):
                cur, buf = line.split()[1], []
            elif line.startswith(end):
                text = "\n".join(buf)
                try:
                    blocks[cur] = json.loads(text[text.index("{"):])
                except ValueError:
                    blocks[cur] = None
                cur = None
            elif cur is not None:
                if not KERNEL_LINE.match(line) and \
                        not (noise and noise(line)):
                    buf.append(line)
            elif line.startswith("PVKIT-INTERRUPTS-BEGIN"):
                in_irq = True
            elif line.startswith("PVKIT-INTERRUPTS-END"):
                in_irq = False
            elif in_irq:
                if not KERNEL_LINE.match(line):
                    irqs.append(line)
            else:
                other.append(line)
    return blocks, other, irqs


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
                reply = {}
            if "return" not in reply:
                raise ReportError(f"host request failed: {line.strip()}")
            if req["execute"] == "harness-cputime":
                cur = marks[reply["return"]["label"]] = dict(reply["return"])
            elif req["execute"] == "qom-get" and cur is not None:
                cur[req["arguments"]["property"]] = reply["return"]
    return marks


def count_trace(path, windows, classify):
    """windows: {key: (t0, t1)}, disjoint.  classify(event, args) says
    what a trace line is: (kind, device) or None.  Returns {key: {kind:
    {device: n}}} for the lines inside each window."""
    order = sorted(windows, key=lambda k: windows[k][0])
    starts = [windows[k][0] for k in order]
    counts = {k: {} for k in windows}
    with open(path, errors="replace") as f:
        for line in f:
            m = TRACE_LINE.match(line)
            if not m:
                continue
            t = float(m.group(1))
            i = bisect.bisect_right(starts, t) - 1
            if i < 0 or t > windows[order[i]][1]:
                continue
            what = classify(m.group(2), m.group(3))
            if what:
                c = counts[order[i]].setdefault(what[0], {})
                c[what[1]] = c.get(what[1], 0) + 1
    return counts


def region_name(args):
    """The memory region of a memory_region_ops_read/write trace line's
    arguments, or ""."""
    m = REGION_NAME.search(args)
    return m.group(1) if m else ""


def windows(marks, labels):
    """{label: (wall clock of its before mark, of its after mark)}."""
    return {label: (marks[label + ":before"]["time"],
                    marks[label + ":after"]["time"]) for label in labels}


def delta(marks, label, key):
    """A counter's change over a job (a list counter: of its sum)."""
    a, b = marks[label + ":before"][key], marks[label + ":after"][key]
    if isinstance(a, list):
        return sum(b) - sum(a)
    return b - a


def kit_deltas(marks, label):
    """The pvkit device's counters over a job, QEMU's CPU seconds ("cpu")
    and the hypercalls by number ("by_number")."""
    d = {name: delta(marks, label, prop) for prop, name in KIT_COUNTERS}
    d["cpu"] = delta(marks, label, "cpu")
    d["by_number"] = [b - a for a, b in zip(
        marks[label + ":before"]["stat-hypercalls"],
        marks[label + ":after"]["stat-hypercalls"])]
    return d


def by_number_text(by_number):
    """'EVTCHN_SEND:12 GNTTAB_SETUP:1': the hypercalls made, by name."""
    return " ".join(f"{HYPERCALLS.get(i, i)}:{n}"
                    for i, n in enumerate(by_number) if n)


def proc_interrupts_sum(line):
    """The sum of a /proc/interrupts line's per-CPU counts."""
    n = 0
    for f in line.split()[1:]:
        if not f.isdigit():
            break
        n += int(f)
    return n


def run_info(vmdir):
    """(accelerator, UTC date) of the run, for the table's header."""
    with open(f"{vmdir}/results.json") as f:
        accel = json.load(f)["accel"]
    return accel, time.strftime("%Y-%m-%d", time.gmtime())


def verdict(ok):
    return "met" if ok else "not met"


def raw_details(header, align, rows, extra):
    """The <details> block of raw counts: a table (header: column names;
    align: "l" or "r" per column; rows: lists of cells) and markdown after
    it (extra, e.g. interrupts_text())."""
    sep = {"l": "---", "r": "---:"}
    out = ["<details><summary>raw counts</summary>\n\n",
           "| " + " | ".join(header) + " |\n",
           "|" + "|".join(sep[a] for a in align) + "|\n"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |\n")
    out.append(extra)
    out.append("\n</details>\n")
    return "".join(out)


def interrupts_text(irqs):
    """The guest's /proc/interrupts at the end, as a markdown block."""
    return ("Guest /proc/interrupts at the end:\n\n```\n" +
            "\n".join(irqs) + "\n```\n")
