#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""QEMU's Xen backends on the reference host (make check).

xen-bus.py QEMU KERNEL INITRD OUTDIR

Boots the kit's guest with -device pvkit, a xen-console and a xen-block
on a 1 MiB raw file, and runs tests/pipeline/xen-bus-guest.sh in it.  The
guest checks the store layout and prints "XB-REQ plug|unplug|alive"; this
script answers over QMP (device_add / device_del of a second xen-console,
a query that shows QEMU is still there).  The guest also connects the
backends to rings it grants with the helper xen-bus-conn.c (built here
without libc, shipped base64-encoded in the guest's command; it needs the
pvkit_test module).  Prints TAP lines; exit 0 when all passed.
"""
import base64
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KIT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(KIT, "tests", "harness"))
from pvkit_vm.qmp import Qmp  # noqa: E402  (the kit's one QMP client)


def follow(path, done):
    """Yield lines appended to path until done() and nothing more came."""
    while not os.path.exists(path):
        if done():
            return
        time.sleep(0.1)
    with open(path, errors="replace") as f:
        buf = ""
        while True:
            chunk = f.read()
            if not chunk:
                if done():
                    return
                time.sleep(0.1)
                continue
            buf += chunk
            *lines, buf = buf.split("\n")
            yield from lines


def main():
    qemu, kernel, initrd, out = sys.argv[1:5]
    os.makedirs(out, exist_ok=True)
    vmout = os.path.join(out, "vm")
    sock = os.path.join(out, "qmp.sock")
    disk = os.path.join(out, "disk.raw")
    shutil.rmtree(vmout, ignore_errors=True)
    if os.path.exists(sock):
        os.unlink(sock)
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    helper = os.path.join(out, "xen-bus-conn")
    # The wire formats as the kernel installs them: <linux/pvkit_*.h>.
    inc = os.path.join(out, "include")
    os.makedirs(os.path.join(inc, "linux"), exist_ok=True)
    for h in ("pvkit_ring.h", "pvkit_blkif.h"):
        shutil.copy(os.path.join(KIT, "hypercall", h),
                    os.path.join(inc, "linux", h))
    subprocess.run(["gcc", "-Os", "-static", "-nostdlib", "-s",
                    "-fno-stack-protector", "-fno-asynchronous-unwind-tables",
                    "-I", os.path.join(KIT, "include/uapi"), "-I", inc,
                    "-o", helper, os.path.join(HERE, "xen-bus-conn.c")],
                   check=True)
    with open(helper, "rb") as f:
        blob = base64.encodebytes(f.read()).decode()
    with open(os.path.join(HERE, "xen-bus-guest.sh")) as f:
        guest = ("base64 -d > /tmp/xen-bus-conn <<'B64'\n" + blob +
                 "B64\nchmod +x /tmp/xen-bus-conn\n" + f.read())
    qa = ["-qmp", f"unix:{sock},server=on,wait=off",
          "-chardev", f"file,id=xc1,path={out}/xen-console1.log",
          "-chardev", "null,id=xc2",
          "-device", "xen-console,chardev=xc1",
          "-drive", f"if=none,id=d0,file={disk},format=raw",
          "-device", "xen-disk,vdev=xvda,drive=d0"]
    argv = [os.path.join(KIT, "tests/harness/pvkit-vm"), "--qemu", qemu,
            "--kernel", kernel, "--initrd", initrd, "--pvkit",
            "--pvkit-opts", "id=pv,test-hypercalls=on",
            "--modprobe", "pvkit_test", "--out",
            vmout, "--timeout", "120", "--idle-timeout", "60", "-q",
            # This guest plays the frontends itself, through the store:
            # the kit's own console and disk frontends must stay out.
            "--append", "initcall_blacklist=pvkit_blk_init,pvkit_cons_init",
            "--cmd", guest] + [f"--qemu-arg={a}" for a in qa]
    harness = subprocess.Popen(argv)
    results = []
    qmp = None
    done = lambda: harness.poll() is not None
    try:
        for line in follow(os.path.join(vmout, "console.log"), done):
            if line.startswith("XB-REQ "):
                qmp = qmp or Qmp(sock, timeout=30, connect_wait=30)
                what = line.split()[1]
                if what == "plug":
                    r = qmp.cmd("device_add", driver="xen-console",
                                id="hp", chardev="xc2")
                elif what == "unplug":
                    r = qmp.cmd("device_del", id="hp")
                else:
                    r = qmp.cmd("query-status")
                results.append((f"QMP {what}", "error" not in r, r))
                if what == "alive":
                    # 5 connections x 3 sends reached the backends' handlers
                    k = qmp.cmd("qom-get", path="/machine/peripheral/pv",
                                property="stat-backend-kicks").get("return")
                    results.append(("guest sends reached the backends",
                                    isinstance(k, int) and k >= 15, k))
            elif line.startswith(("XB-ok ", "XB-FAIL ")):
                results.append((line.split(" ", 1)[1],
                                line.startswith("XB-ok"), None))
            elif line.startswith("XB-END") or "PVKIT-EXIT" in line:
                break
    except (OSError, ValueError) as e:
        results.append(("QMP conversation", False, e))
    rc = harness.wait()
    results.append(("guest script and QEMU ended cleanly", rc == 0, rc))
    # A guest must not be able to fill the host's log (garbage rings).
    log = os.path.join(vmout, "qemu.log")
    size = os.path.getsize(log) if os.path.exists(log) else 0
    results.append(("QEMU's log stays small", size < 65536, f"{size} bytes"))
    bad = 0
    for i, (name, ok, detail) in enumerate(results, 1):
        if ok:
            print(f"ok {i} - xen-bus: {name}")
        else:
            bad += 1
            print(f"not ok {i} - xen-bus: {name} ({detail})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
