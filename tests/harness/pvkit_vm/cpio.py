# SPDX-License-Identifier: GPL-2.0
"""The per-run initrd: the base image plus a small newc cpio with the
command."""

import gzip


def newc_entry(name, mode, data=b"", ino=1):
    bname = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(bname), 0]
    out = b"070701" + b"".join(b"%08X" % v for v in fields) + bname
    out += b"\0" * (-len(out) % 4)
    out += data + b"\0" * (-len(data) % 4)
    return out


def newc_archive(files):
    """files: list of (path, mode, bytes); directories have bytes None."""
    out = b""
    for i, (name, mode, data) in enumerate(files):
        out += newc_entry(name, mode, data or b"", ino=9000 + i)
    out += newc_entry("TRAILER!!!", 0, ino=0)
    return out + b"\0" * (-len(out) % 512)


def build_run_initrd(base, out, cmd, modules=None):
    """base initrd + a gzip'd cpio holding /pvkit/cmd (and, with modules,
    /etc/pvkit-modules).  The kernel unpacks concatenated archives; the
    zero padding between them is skipped."""
    files = [("pvkit", 0o040755, None),
             ("pvkit/cmd", 0o100644, (cmd + "\n").encode())]
    if modules:
        files += [("etc", 0o040755, None),
                  ("etc/pvkit-modules", 0o100644,
                   "".join(m + "\n" for m in modules).encode())]
    extra = gzip.compress(newc_archive(files), mtime=0)
    with open(base, "rb") as f:
        data = f.read()
    with open(out, "wb") as f:
        f.write(data)
        f.write(b"\0" * (-len(data) % 4))
        f.write(extra)
