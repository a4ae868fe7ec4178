# SPDX-License-Identifier: GPL-2.0
"""Running QEMU: the serial console read live, timeouts, the outcome."""

import os
import re
import selectors
import signal
import socket
import subprocess
import time

from .common import BOOT_MARKER, EXIT_MARKER_RE, PANIC_GRACE, SetupError


class Outcome:
    def __init__(self):
        self.booted_at = None
        self.guest_rc = None
        self.qemu_rc = None
        self.timeout = None        # "idle" | "wall"
        self.first_output = None
        self.lines = 0


def run_vm(argv, console_path, on_line, wall, idle, detector=None,
           stderr_path=None, echo=None, kill=None, on_start=None):
    """Run QEMU, feed every console line to on_line(line, t) and return an
    Outcome.  t is seconds since QEMU started; on_start(pid) is called
    once QEMU runs.  kill["at"], once on_line sets it (a time.monotonic()
    value), is when QEMU gets SIGKILL."""
    o = Outcome()
    t0 = time.monotonic()
    errf = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=errf,
                                start_new_session=True)
    except OSError as e:
        raise SetupError(f"cannot run {argv[0]}: {e}")
    if on_start:
        on_start(proc.pid)
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    last_out = time.monotonic()
    panic_deadline = None
    buf = b""
    log = open(console_path, "ab")

    def handle(raw):
        nonlocal buf
        buf += raw
        *lines, buf = buf.split(b"\n")
        for ln in lines:
            emit(ln)

    def emit(ln):
        text = ln.replace(b"\r", b"").decode("utf-8", "replace")
        log.write(text.encode() + b"\n")
        t = time.monotonic() - t0
        o.lines += 1
        if echo:
            echo(text)
        if o.booted_at is None and text.strip() == BOOT_MARKER:
            o.booted_at = t
        m = EXIT_MARKER_RE.search(text)
        if m and o.booted_at is not None and o.guest_rc is None:
            o.guest_rc = int(m.group(1))
        on_line(text, t)

    try:
        eof = False
        while not eof:
            now = time.monotonic()
            if detector is not None and detector.panicked and \
                    panic_deadline is None:
                panic_deadline = now + PANIC_GRACE
            limits = [t0 + wall - now, last_out + idle - now]
            if kill and kill.get("at") is not None:
                if now >= kill["at"]:
                    o.timeout = "killed"
                    break
                limits.append(kill["at"] - now)
            if panic_deadline is not None:
                limits.append(panic_deadline - now)
            wait = max(0.0, min(limits))
            events = sel.select(timeout=min(wait, 1.0))
            now = time.monotonic()
            if events:
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    chunk = None
                if chunk == b"":
                    eof = True
                elif chunk:
                    if o.first_output is None:
                        o.first_output = now - t0
                    last_out = now
                    handle(chunk)
                    log.flush()
                continue
            if now - t0 >= wall:
                o.timeout = "wall"
                break
            if now - last_out >= idle:
                o.timeout = "idle"
                break
            if panic_deadline is not None and now >= panic_deadline:
                break
        if buf:
            emit(buf)
            buf = b""
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            o.qemu_rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            o.qemu_rc = proc.wait()
        sel.close()
        proc.stdout.close()
        log.close()
        if stderr_path:
            errf.close()
    return o


def free_udp_port():
    """A UDP port on 127.0.0.1 that nobody holds right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qemu_has_device(qemu, name):
    try:
        out = subprocess.run([qemu, "-device", "help"], capture_output=True,
                             text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return re.search(rf'^name "{re.escape(name)}"', out, re.M) is not None
