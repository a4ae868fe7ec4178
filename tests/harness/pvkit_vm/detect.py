# SPDX-License-Identifier: GPL-2.0
"""Kernel failure reports on the serial console, and their decoding."""

import os
import re
import shlex
import subprocess


# A console line's printk prefix: "[   12.345678] ", optionally followed by
# the caller id of printk.caller=1 ("[    T1] ", "[     C0] ").
KERNEL_PREFIX_RE = re.compile(r"\[\s*\d+\.\d+\]\s?(?:\[\s*[TC]\d+\]\s?)?")


# A kernel timestamp anywhere in a line: kernel and user space share the
# serial console, so a kernel line may start after a user's partial line.
KERNEL_TS_ANYWHERE_RE = re.compile(
    r"\[\s*\d+\.\d{6}\]\s?(?:\[\s*[TC]\d+\]\s?)?")


def kernel_message(line):
    """(has_timestamp, message): the text the kernel printed, without the
    printk prefix.  A line without a timestamp is taken whole."""
    m = KERNEL_PREFIX_RE.match(line.lstrip())
    if m:
        return True, line.lstrip()[m.end():].rstrip()
    m = KERNEL_TS_ANYWHERE_RE.search(line)
    if m:
        return True, line[m.end():].rstrip()
    return False, line.strip()


class KernelFailureDetector:
    """Recognises kernel failure reports in console lines.

    A report is recognised by its first line as the kernel prints it: the
    header must start the kernel message (after the printk timestamp), so
    user-space fault lines that merely contain such words, e.g.
    "traps: prog[12] general protection fault ip:... in prog[...]" or
    "prog[12]: segfault at 0 ip ... error 4 in prog[...]", are not kernel
    failures (a test's process dying is the test's business).  Lines of
    test output (starting with '#', as kselftest's runner prefixes them)
    are ignored.

    feed() returns (kind, message) for the first line of a report, else
    None.  The lines that follow the first report (registers, call trace)
    are collected in `trace` until its end marker ("---[ end ...", the
    closing "=====" of KASAN/KFENCE, or the end of the last stack dump).
    """

    # (kind, pattern on the kernel message), most specific first.
    PATTERNS = [
        ("kernel panic", re.compile(r"^Kernel panic - not syncing")),
        ("KASAN", re.compile(r"^BUG: KASAN: |^KASAN: ")),
        ("KFENCE", re.compile(r"^BUG: KFENCE: ")),
        ("UBSAN", re.compile(r"^UBSAN: ")),
        # page_poison=1: a free page was written (mm/page_poison.c)
        ("page poison", re.compile(
            r"^pagealloc: (?:memory corruption|single bit error)")),
        ("soft lockup", re.compile(r"^(?:watchdog: )?BUG: soft lockup\b")),
        ("hard lockup", re.compile(
            r"^(?:(?:NMI )?watchdog: )?Watchdog detected hard LOCKUP\b")),
        ("RCU stall", re.compile(
            r"^(?:rcu: )?INFO: \S+ (?:self-)?detected (?:expedited )?stall")),
        ("hung task", re.compile(
            r"^INFO: task \S.* blocked for more than \d+ seconds")),
        ("lockdep", re.compile(
            r"^WARNING: (?:possible circular locking dependency"
            r"|possible recursive locking|inconsistent lock state"
            r"|suspicious RCU usage|possible irq lock inversion"
            r"|\S+-safe -> \S+-unsafe lock order|bad unlock balance"
            r"|held lock freed|lock held when returning to user space"
            r"|\S+/\d+ still has locks held|Nested lock was not taken)"
            r"|^\[ BUG: Invalid wait context \]")),
        ("sleep in atomic", re.compile(
            r"^BUG: (?:sleeping function called from invalid context"
            r"|scheduling while atomic)")),
        ("general protection fault", re.compile(
            r"^(?:Oops: )?general protection fault\b"
            r".*: [0-9a-f]{4} \[#\d+\]")),
        ("oops", re.compile(r"^Oops: |^\S[^\[]*: [0-9a-f]{4} \[#\d+\]")),
        ("BUG", re.compile(r"^BUG: |^kernel BUG at ")),
        ("warning", re.compile(r"^WARNING: ")),
    ]
    # A user process's fault as show_signal()/show_signal_msg() print it:
    # recorded, never a kernel failure.
    USER_FAULT_RE = re.compile(
        r"^(?:traps: )?\S+\[\d+\]:? (?:segfault at |general protection "
        r"|trap |attempts to use CLI/STI|vsyscall attempted)")
    # Lines after a "</TASK>" (or "</IRQ>") that still belong to the report.
    TRACE_GOES_ON_RE = re.compile(
        r"^(?:$|\s*<\w+>|Modules linked in|---\[ end |RIP:|Code:|CR2:"
        r"|R[A-Z0-9]{2}:|FS:|CS:|DR[0-9]|Kernel panic|Kernel Offset"
        r"|Allocated by|Freed by|Last potentially|The buggy address"
        r"|Memory state|irq event stamp|hardirqs |softirqs |Call Trace"
        r"|Sending NMI|NMI backtrace|CPU: |Hardware name|Workqueue:"
        r"|task:|\s+\S+\+0x[0-9a-f]+/0x[0-9a-f]+)")
    TRACE_MAX = 200
    EVENTS_MAX = 50

    def __init__(self):
        self.first = None      # (kind, message) of the first report
        self.events = []       # every report header, capped
        self.user_faults = []  # user-space fault lines, capped
        self.trace = []        # the first report's lines, header first
        self.panicked = False
        self.stamps_seen = False
        self._collecting = False
        self._timestamped = False
        self._after_stack_end = False

    def feed(self, line):
        stamped, msg = kernel_message(line)
        if stamped:
            self.stamps_seen = True
        elif self.stamps_seen or msg.startswith("#"):
            # With printk.time=1 every kernel line carries a timestamp:
            # once one has, a line without is user space's.
            return None
        if self._collecting:
            self._collect(line.rstrip(), stamped, msg)
        hit = None
        for kind, rx in self.PATTERNS:
            if rx.search(msg):
                hit = (kind, msg)
                break
        if hit is None:
            if self.USER_FAULT_RE.search(msg) and \
                    len(self.user_faults) < self.EVENTS_MAX:
                self.user_faults.append(msg)
            return None
        if hit[0] == "kernel panic":
            self.panicked = True
        if len(self.events) < self.EVENTS_MAX:
            self.events.append({"kind": hit[0], "line": line.strip()})
        if self.first is None:
            self.first = hit
            self.trace = [line.rstrip()]
            self._collecting = True
            self._timestamped = stamped
        return hit

    def _collect(self, line, stamped, msg):
        """Add a line to the first report's trace, or end the trace."""
        if self._timestamped and not stamped:
            return                  # user space's output in between
        if self._after_stack_end and not self.TRACE_GOES_ON_RE.match(msg):
            self._collecting = False
            return
        self.trace.append(line)
        self._after_stack_end = bool(re.match(r"\s*</(?:TASK|IRQ|NMI)>",
                                              msg))
        if msg.startswith("---[ end ") or len(self.trace) >= self.TRACE_MAX \
                or (self.first[0] in ("KASAN", "KFENCE")
                    and re.fullmatch(r"={20,}", msg)):
            self._collecting = False


def decode_script(vmlinux, kernel_src=None):
    """The kernel's scripts/decode_stacktrace.sh for a vmlinux: in
    kernel_src, else in the build directory's "source" link (an O= build)
    or the build directory itself."""
    dirs = [kernel_src] if kernel_src else [
        os.path.join(os.path.dirname(os.path.abspath(vmlinux)), "source"),
        os.path.dirname(os.path.abspath(vmlinux))]
    for d in dirs:
        path = os.path.join(d, "scripts", "decode_stacktrace.sh")
        if os.path.isfile(path):
            return path
    return None


def decode_trace(lines, vmlinux, kernel_src=None, timeout=120):
    """(decoded lines, None) or (None, why): the report run through
    decode_stacktrace.sh VMLINUX SRCDIR (SRCDIR "auto" without
    kernel_src).  Never raises: a decode failure only loses the decoding."""
    script = decode_script(vmlinux, kernel_src)
    if script is None:
        return None, "no scripts/decode_stacktrace.sh in " + \
            (kernel_src or os.path.dirname(os.path.abspath(vmlinux)))
    argv = ["bash", script, vmlinux, kernel_src or "auto"]
    try:
        p = subprocess.run(argv, input="\n".join(lines) + "\n",
                           capture_output=True, text=True, timeout=timeout,
                           errors="replace")
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"{shlex.join(argv)}: {e}"
    if p.returncode != 0 or not p.stdout.strip():
        err = " ".join(p.stderr.split())[-300:]
        return None, f"{shlex.join(argv)} exited {p.returncode}" + \
            (f": {err}" if err else "")
    return p.stdout.rstrip("\n").split("\n"), None
