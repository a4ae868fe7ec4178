#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Store smoke test in QEMU (TCG): run.sh QEMU-BINARY
# Builds guest.S (gcc -m32, ld), boots it with -device pvkit and compares
# the replies it printed with expected.txt, checks the QOM counters and
# that migration is refused while the guest has the store connected.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
qemu=${1:?usage: run.sh qemu-system-x86_64}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -m32 -c -o "$tmp/guest.o" "$here/guest.S"
ld -m elf_i386 -Ttext 0x100000 -o "$tmp/guest.elf" "$tmp/guest.o"
python3 "$here/qmp-run.py" "$qemu" "$tmp/guest.elf" "$tmp/out.txt" > "$tmp/result"
head -n 6 "$tmp/result"
tail -n +7 "$tmp/result" | diff -u "$here/expected.txt" -
echo "store smoke: replies as expected"
grep -qx 'stat-store-requests 19' "$tmp/result"
grep -qx 'stat-store-errors 6' "$tmp/result"
grep -qx 'stat-store-watch-events 4' "$tmp/result"
echo "store smoke: counters as expected"
# the kit unused (before the guest ran, after a reset): migration works;
# the store connected: the device's blocker refuses it
grep -qx 'migrate unused: completed' "$tmp/result"
grep -qx 'migrate in use: error: pvkit: the guest uses the store,.*' "$tmp/result"
grep -qx 'migrate after reset: completed' "$tmp/result"
echo "store smoke: migration blocked exactly while the store is connected"
