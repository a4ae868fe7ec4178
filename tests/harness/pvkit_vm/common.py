# SPDX-License-Identifier: GPL-2.0
"""Exit codes, console markers and the errors all of pvkit-vm shares."""

import re

EXIT_OK = 0
EXIT_TESTS_FAILED = 1
EXIT_KERNEL = 10
EXIT_IDLE = 11
EXIT_WALL = 12
EXIT_QEMU = 13
EXIT_SETUP = 14

EXIT_REASONS = {
    EXIT_OK: "ok",
    EXIT_TESTS_FAILED: "tests-failed",
    EXIT_KERNEL: "kernel-failure",
    EXIT_IDLE: "idle-timeout",
    EXIT_WALL: "wall-timeout",
    EXIT_QEMU: "qemu-crash",
    EXIT_SETUP: "setup-error",
}

BOOT_MARKER = "PVKIT-BOOTED"
EXIT_MARKER_RE = re.compile(r"PVKIT-EXIT: (-?\d+)")
# A kernel log line on the console: "[   12.345678] ..." (printk.time=1).
KERNEL_TS_RE = re.compile(r"^\s*\[\s*\d+\.\d+\]")
# Seconds QEMU gets to exit by itself after a panic (panic=-1 reboots).
PANIC_GRACE = 10.0

DEFAULT_DATA_DIRS = ["/usr/share/seabios", "/usr/share/qemu"]
BASE_CMDLINE = "console=ttyS0,115200 panic=-1 loglevel=7 printk.time=1"


class SetupError(Exception):
    pass


class Failure:
    """A harness-level failure reported as a test case."""

    def __init__(self, name, reason):
        self.name = name
        self.status = "fail"
        self.reason = reason
        self.directive = None
        self.duration = None
