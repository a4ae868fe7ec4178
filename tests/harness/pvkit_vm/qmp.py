# SPDX-License-Identifier: GPL-2.0
"""QMP client and the host requests a guest may make."""

import json
import os
import re
import socket
import time


# A guest line asking the host to act (--host-requests): one QMP command.
HOST_REQUEST_RE = re.compile(r"PVKIT-HOST-REQUEST: (\{.*\})\s*$")


# The only QMP commands a guest may ask for: device hot-plug, growing a
# disk, reads, and switching trace events (a benchmark's counting pass).
HOST_REQUEST_COMMANDS = ("device_add", "device_del", "block_resize",
                         "qom-get", "trace-event-set-state")


# Requests the harness answers itself: QEMU's CPU time so far, with a label;
# stopping the VM for a few seconds (QMP stop, then cont).
HARNESS_REQUESTS = ("harness-cputime", "harness-pause")

# Bounds of a harness-pause, in seconds.
PAUSE_MIN_S, PAUSE_MAX_S = 1, 30


class Qmp:
    """The kit's one QMP client (the harness, the stages and the store
    smoke test all use it): connect once, run one command at a time.

    timeout bounds each reply; connect_wait is how long to wait for QEMU
    to create the socket (0: it must be there already)."""

    def __init__(self, path, timeout=10.0, connect_wait=0.0):
        self.path, self.timeout = path, timeout
        self.connect_wait = connect_wait
        self.sock, self.buf = None, b""

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def _reply(self):
        while True:
            msg = self._line()
            if "return" in msg or "error" in msg:
                return msg

    def _connect(self):
        deadline = time.monotonic() + self.connect_wait
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.path)
                break
            except OSError:
                sock.close()
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)
        self.sock = sock
        self._line()                       # greeting
        self.sock.sendall(b'{"execute": "qmp_capabilities"}\n')
        self._reply()

    def execute(self, cmd, arguments=None):
        """Run cmd; QEMU's reply, {"return": ...} or {"error": ...}."""
        if self.sock is None:
            self._connect()
        req = {"execute": cmd}
        if arguments:
            req["arguments"] = arguments
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        return self._reply()

    def cmd(self, cmd, **arguments):
        """execute() with the arguments as keywords."""
        return self.execute(cmd, arguments)

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def qemu_cputime(pid, label):
    """harness-cputime: QEMU's CPU time so far (utime and stime of all its
    threads, /proc/PID/stat, in seconds), the host's wall clock (time.time(),
    the clock of QEMU's '-msg timestamp=on' log lines) and the guest's label,
    as a QMP-style reply."""
    if not isinstance(label, str) or not re.fullmatch(r"[\w.:-]{1,64}",
                                                      label):
        return {"error": {"class": "GenericError",
                          "desc": "label: 1-64 of [A-Za-z0-9_.:-]"}}
    try:
        with open(f"/proc/{pid}/stat") as f:
            # fields after "(comm)": state is field 3, utime 14, stime 15
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, TypeError) as e:
        return {"error": {"class": "GenericError", "desc": str(e)}}
    hz = os.sysconf("SC_CLK_TCK")
    utime, stime = int(fields[11]) / hz, int(fields[12]) / hz
    return {"return": {"label": label, "utime": utime, "stime": stime,
                       "cpu": round(utime + stime, 6),
                       "time": round(time.time(), 6)}}


def pause_vm(qmp, seconds):
    """harness-pause: stop the VM, wait, let it run again; QEMU's reply to
    cont, or the first error."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) \
            or not PAUSE_MIN_S <= seconds <= PAUSE_MAX_S:
        return {"error": {"class": "GenericError",
                          "desc": f"seconds: {PAUSE_MIN_S}-{PAUSE_MAX_S}"}}
    reply = qmp.execute("stop")
    if "error" in reply:
        return reply
    time.sleep(seconds)
    return qmp.execute("cont")


def host_request(qmp, text, qemu_pid=None):
    """Run the QMP command a guest asked for in a PVKIT-HOST-REQUEST line
    and return a one-line report; anything but the whitelisted commands
    (and the harness's own, HARNESS_REQUESTS) is refused (the guest is
    not trusted with the monitor)."""
    try:
        req = json.loads(text)
    except ValueError as e:
        return f"refused: not JSON ({e})"
    allowed = HOST_REQUEST_COMMANDS + HARNESS_REQUESTS
    if not isinstance(req, dict) or req.get("execute") not in allowed or \
            not isinstance(req.get("arguments", {}), dict):
        return "refused: only " + ", ".join(allowed)
    if req["execute"] == "harness-cputime":
        return json.dumps(qemu_cputime(
            qemu_pid, req.get("arguments", {}).get("label")))
    try:
        if req["execute"] == "harness-pause":
            return json.dumps(pause_vm(
                qmp, req.get("arguments", {}).get("seconds")))
        reply = qmp.execute(req["execute"], req.get("arguments"))
    except (OSError, ValueError) as e:
        return f"failed: {e}"
    return json.dumps(reply)
