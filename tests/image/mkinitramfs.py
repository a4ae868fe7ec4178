#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Finish a staged initramfs tree and write it as a gzip'd newc cpio.

mkinitramfs.py --root DIR --out FILE [--no-libs]
mkinitramfs.py --root DIR --libs-only

1. Every ELF executable or shared object under DIR is run through ldd; the
   libraries it needs (and the dynamic loader) are copied from the host into
   DIR at the same paths, so dynamically linked test binaries run.
2. The tree is written as a newc archive with owner root, mtime 0 and sorted
   names (the same inputs give the same bytes), plus the device nodes the
   kernel needs before /init runs (/dev/console, /dev/null).

Stdlib only.
"""

import argparse
import gzip
import os
import re
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "harness"))
from pvkit_vm.cpio import NewcWriter  # noqa: E402  (the kit's one writer)

ELF_MAGIC = b"\x7fELF"
ET_EXEC, ET_DYN = 2, 3

# (path, mode, major, minor): nodes that must exist before devtmpfs is up.
DEVICE_NODES = [
    ("dev/console", stat.S_IFCHR | 0o600, 5, 1),
    ("dev/null", stat.S_IFCHR | 0o666, 1, 3),
]


def log(msg):
    print(f"mkinitramfs: {msg}", file=sys.stderr)


def is_dynamic_elf(path):
    """True for ELF executables/shared objects (not .ko/.o relocatables)."""
    try:
        with open(path, "rb") as f:
            hdr = f.read(18)
    except OSError:
        return False
    if len(hdr) < 18 or hdr[:4] != ELF_MAGIC:
        return False
    little = hdr[5] == 1
    e_type = int.from_bytes(hdr[16:18], "little" if little else "big")
    return e_type in (ET_EXEC, ET_DYN)


LDD_ARROW = re.compile(r"^\s*(\S+)\s+=>\s+(\S+)\s+\(0x[0-9a-f]+\)")
LDD_PLAIN = re.compile(r"^\s*(/\S+)\s+\(0x[0-9a-f]+\)")
LDD_MISSING = re.compile(r"^\s*(\S+)\s+=>\s+not found")


def needed_libs(path):
    """Host paths of the shared objects (and loader) `path` needs."""
    try:
        out = subprocess.run(["ldd", path], capture_output=True, text=True,
                             timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return set(), set()
    libs, missing = set(), set()
    for line in out.splitlines():
        m = LDD_ARROW.match(line)
        if m:
            libs.add(m.group(2))
            continue
        m = LDD_PLAIN.match(line)
        if m:
            libs.add(m.group(1))
            continue
        m = LDD_MISSING.match(line)
        if m:
            missing.add(m.group(1))
    return libs, missing


# Libraries glibc loads at run time, invisible to ldd.
DLOPENED_BY_LIBC = ("/lib/x86_64-linux-gnu/libgcc_s.so.1",)


def add_libs(root):
    """Copy every library the image's ELFs need into the image."""
    todo = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p) and is_dynamic_elf(p):
                todo.append(p)
    copied, missing_all = set(), {}
    for elf in todo:
        libs, missing = needed_libs(elf)
        for m in missing:
            missing_all.setdefault(m, os.path.relpath(elf, root))
        for lib in libs:
            if lib in copied:
                continue
            copied.add(lib)
            dst = os.path.join(root, lib.lstrip("/"))
            if os.path.lexists(dst):
                continue
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(lib, dst, follow_symlinks=True)
    # glibc dlopen()s libgcc_s for pthread_cancel() and unwinding; ldd
    # cannot see that, so bring it whenever libc itself came along.
    if any(os.path.basename(lib).startswith("libc.so") for lib in copied):
        for lib in DLOPENED_BY_LIBC:
            if os.path.exists(lib) and lib not in copied:
                copied.add(lib)
                dst = os.path.join(root, lib.lstrip("/"))
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copy2(lib, dst, follow_symlinks=True)
    for lib, elf in sorted(missing_all.items()):
        log(f"warning: {lib} (needed by /{elf}) not found on the host")
    log(f"{len(todo)} ELF files, {len(copied)} shared libraries added")


def write_cpio(root, out):
    names = []
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        rel = os.path.relpath(dirpath, root)
        if rel != ".":
            names.append(rel)
        for n in sorted(files):
            names.append(os.path.normpath(os.path.join(rel, n)))
        # symlinks to directories are listed in dirs but not walked
        for d in dirs:
            if os.path.islink(os.path.join(dirpath, d)):
                names.append(os.path.normpath(os.path.join(rel, d)))
    names = sorted(set(names))
    node_names = {n for n, *_ in DEVICE_NODES} | {"dev"}
    tmp = out + ".tmp"
    with open(tmp, "wb") as raw, \
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6,
                          mtime=0, filename="") as gz:
        w = NewcWriter(gz)
        w.entry("dev", stat.S_IFDIR | 0o755, nlink=2)
        for name, mode, major, minor in DEVICE_NODES:
            w.entry(name, mode, rdev=(major, minor))
        for name in names:
            if name in node_names:
                continue
            p = os.path.join(root, name)
            st = os.lstat(p)
            perm = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                w.entry(name, stat.S_IFLNK | 0o777,
                        os.readlink(p).encode())
            elif stat.S_ISDIR(st.st_mode):
                w.entry(name, stat.S_IFDIR | perm, nlink=2)
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    w.entry(name, stat.S_IFREG | perm, f.read())
            else:
                log(f"skipping special file /{name}")
        w.trailer()
    os.replace(tmp, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--out")
    ap.add_argument("--no-libs", action="store_true",
                    help="do not resolve shared libraries")
    ap.add_argument("--libs-only", action="store_true",
                    help="only add the libraries to DIR (for a disk image)")
    a = ap.parse_args()
    if not a.no_libs:
        add_libs(a.root)
    if a.libs_only:
        return
    if not a.out:
        ap.error("--out is required unless --libs-only")
    write_cpio(a.root, a.out)


if __name__ == "__main__":
    main()
