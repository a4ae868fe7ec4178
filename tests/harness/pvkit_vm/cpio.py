# SPDX-License-Identifier: GPL-2.0
"""The per-run initrd: the base image plus a small newc cpio with the
command."""

import gzip
import io


class NewcWriter:
    """The kit's one newc ("070701") cpio writer, streaming to fobj: the
    per-run initrd here and the test image (tests/image/mkinitramfs.py).
    Owner root, mtime 0; inode numbers count up from first_ino, so an
    archive appended to another can keep clear of its numbers."""

    def __init__(self, fobj, first_ino=1000):
        self.f = fobj
        self.ino = first_ino
        self.pos = 0

    def _write(self, data):
        self.f.write(data)
        self.pos += len(data)

    def _pad(self, to=4):
        if self.pos % to:
            self._write(b"\0" * (to - self.pos % to))

    def entry(self, name, mode, data=b"", rdev=(0, 0), nlink=1):
        self.ino += 1
        bname = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0,
                  rdev[0], rdev[1], len(bname), 0]
        self._write(b"070701" + b"".join(b"%08X" % v for v in fields) +
                    bname)
        self._pad()
        self._write(data)
        self._pad()

    def trailer(self):
        """The end marker, the archive padded to 512 bytes."""
        self.entry("TRAILER!!!", 0)
        self._pad(512)


def newc_archive(files):
    """files: list of (path, mode, bytes); directories have bytes None."""
    out = io.BytesIO()
    w = NewcWriter(out, first_ino=9000)
    for name, mode, data in files:
        w.entry(name, mode, data or b"")
    w.trailer()
    return out.getvalue()


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
