# SPDX-License-Identifier: GPL-2.0
"""Choosing the accelerator: KVM only when a canary boot works."""

import fcntl
import hashlib
import json
import os

from .common import SetupError
from .cpio import build_run_initrd
from .vm import run_vm


def kvm_usable():
    """(ok, why): /dev/kvm opens read-write and answers KVM_GET_API_VERSION."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return False, f"/dev/kvm unusable: {e.strerror}"
    try:
        ver = fcntl.ioctl(fd, 0xAE00)      # KVM_GET_API_VERSION
    except OSError as e:
        return False, f"/dev/kvm ioctl failed: {e.strerror}"
    finally:
        os.close(fd)
    if ver != 12:
        return False, f"/dev/kvm API version {ver} != 12"
    return True, "ok"


def cache_dir():
    d = os.environ.get("PVKIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or
        os.path.join(os.path.expanduser("~"), ".cache"), "pvkit")
    os.makedirs(d, exist_ok=True)
    return d


def canary_key(qemu):
    try:
        boot_id = open("/proc/sys/kernel/random/boot_id").read().strip()
    except OSError:
        boot_id = "?"
    st = os.stat(qemu)
    return hashlib.sha256(
        f"{boot_id}|{os.path.realpath(qemu)}|{st.st_mtime_ns}|{st.st_size}"
        .encode()).hexdigest()[:16]


def choose_accel(args, make_argv, workdir):
    """('kvm'|'tcg', reason).  KVM only if usable and a canary boots."""
    forced = os.environ.get("PVKIT_ACCEL")
    if forced:
        if forced not in ("kvm", "tcg"):
            raise SetupError(f"PVKIT_ACCEL={forced}: want kvm or tcg")
        return forced, "PVKIT_ACCEL set"
    ok, why = kvm_usable()
    if not ok:
        return "tcg", why
    cache_file = os.path.join(cache_dir(), "accel-canary.json")
    key = canary_key(args.qemu)
    try:
        with open(cache_file) as f:
            cached = json.load(f).get(key)
    except (OSError, ValueError):
        cached = None
    if cached:
        return cached["accel"], cached["reason"] + " (cached)"
    limit = float(os.environ.get("PVKIT_KVM_CANARY_TIMEOUT", "8"))
    initrd = os.path.join(workdir, "canary-initrd.cpio.gz")
    build_run_initrd(args.initrd, initrd, "true")
    argv = make_argv("kvm", initrd, pvkit=False, canary=True)
    o = run_vm(argv, os.path.join(workdir, "canary-console.log"),
               lambda line, t: None, wall=limit, idle=limit,
               stderr_path=os.path.join(workdir, "canary-qemu.log"))
    os.unlink(initrd)
    if o.guest_rc == 0:
        verdict = ("kvm", f"kvm canary booted in {o.booted_at:.1f}s")
    elif o.timeout:
        verdict = ("tcg", f"kvm canary did not boot in {limit:g}s")
    else:
        verdict = ("tcg", f"kvm canary failed (qemu exit {o.qemu_rc})")
    try:
        with open(cache_file) as f:
            data = json.load(f)
    except (OSError, ValueError):
        data = {}
    data[key] = {"accel": verdict[0], "reason": verdict[1]}
    tmp = cache_file + f".{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, cache_file)
    return verdict
