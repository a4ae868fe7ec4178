#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Power loss: does the kit's block frontend flush what the guest was told
# is durable?
#
# The PV guest's disk is an ext4 image behind QEMU's pvkit-volatile block
# driver (backend-qemu/pvkit-volatile.c): a volatile write cache in the
# QEMU process that hands writes to the image only on a flush.  Killing
# QEMU with SIGKILL then loses exactly the unflushed writes, as a power
# cut does; the host's page cache, which survives a plain SIGKILL, no
# longer hides a frontend that never flushes.
#
# PVKIT_POWERLOSS_CYCLES (default 10) boots on one image.  Each boot
# mounts it, checks that every record acknowledged so far is there
# (pvkit_durable: records written, fsync'd, then announced on the
# console), appends and acknowledges more, and QEMU is killed a random
# 0.5-6 s after the check.  After each cut, a copy of the image has its
# journal replayed (e2fsck -E journal_only, what the next mount does) and
# then `e2fsck -fn` must find nothing to fix.  The first boot also asks
# the host (qom-get through the harness) for the backend's flush count
# before and after one fsync: it must have grown.
#
# Environment: QEMU, KERNEL, IMAGE (the initramfs with the kselftests),
# RESULTS, KIT and HARNESS as tests/stages/lib.sh sets them,
# PVKIT_POWERLOSS_CYCLES.  PVKIT_POWERLOSS_BREAK=noflush
# makes the guest tell its block layer the disk has no write cache, so no
# flush is ever sent: the stage must then fail.
#
# Prints TAP lines ("ok - ..." / "not ok - ..."); details go to
# $RESULTS/powerloss/.  Exits non-zero if any check failed.
set -uo pipefail

. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE
CYCLES=${PVKIT_POWERLOSS_CYCLES:-10}
BREAK=${PVKIT_POWERLOSS_BREAK:-}
OUT=$RESULTS/powerloss
IMG=$OUT/disk.raw
NODE=vol0
FAILED=0

ok() { echo "ok - powerloss: $*"; }
not_ok() { echo "not ok - powerloss: $*"; FAILED=1; }

case "$CYCLES" in '' | *[!0-9]* | 0) echo "not ok - powerloss: PVKIT_POWERLOSS_CYCLES=$CYCLES"; exit 1 ;; esac
case "$BREAK" in '' | noflush) ;; *) echo "not ok - powerloss: PVKIT_POWERLOSS_BREAK=$BREAK"; exit 1 ;; esac
for tool in /sbin/mke2fs /sbin/e2fsck; do
	[ -x "$tool" ] || { not_ok "no $tool (e2fsprogs)"; exit 1; }
done

rm -rf "$OUT"
mkdir -p "$OUT"
truncate -s 64M "$IMG"
/sbin/mke2fs -q -t ext4 -F "$IMG" || { not_ok "mke2fs failed"; exit 1; }

# The driver alone, without a guest: QEMU with the node on an 8 MiB image
# and no machine, driven by HMP qemu-io over QMP; the image file is read
# between the steps.  Cached writes must read back but stay out of the
# file until a flush; a write bigger than the cache (cache-max-bytes=256k)
# goes through after the cache is written back; 200 concurrent writes
# through the full cache all land; after SIGKILL the
# unflushed write is absent and everything flushed present.
host_checks() {
	local dir=$OUT/host
	mkdir -p "$dir"
	truncate -s 8M "$dir/disk.raw"
	python3 - "$QEMU" "$dir" "$KIT" <<'EOF'
import os, signal, subprocess, sys, time

qemu, d = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(sys.argv[3], "tests", "harness"))
from pvkit_vm.qmp import Qmp  # noqa: E402  (the kit's one QMP client)
img, sock_path = os.path.join(d, "disk.raw"), os.path.join(d, "qmp.sock")
K = 1024
log = open(os.path.join(d, "log"), "w")
out_path = os.path.join(d, "qemu.out")
out = open(out_path, "w+")
# qemu-io prints its results on QEMU's stdout: line-buffered, to be read
# after each command.
proc = subprocess.Popen(
    ["stdbuf", "-oL", qemu, "-M", "none", "-nodefaults", "-display", "none",
     "-L", "/usr/share/seabios", "-L", "/usr/share/qemu",
     "-drive", "if=none,id=d0,driver=pvkit-volatile,node-name=hv0,"
     "cache-max-bytes=256k,file.driver=file,file.filename=" + img,
     "-qmp", f"unix:{sock_path},server=on,wait=off"],
    stdout=out, stderr=log)
failed = []


def check(what, cond):
    print(("ok" if cond else "FAIL") + " - " + what, file=log, flush=True)
    if not cond:
        failed.append(what)


qmp = Qmp(sock_path, timeout=60, connect_wait=10).cmd


def io(cmd):
    """Run a qemu-io command; true if it printed its result and no error."""
    pos = out.tell()
    qmp("human-monitor-command",
        **{"command-line": f"qemu-io d0 \"{cmd}\""})
    out.seek(pos)
    text = out.read()
    print(f"qemu-io {cmd}: {text.strip()}", file=log, flush=True)
    return ("wrote " in text or "read " in text or cmd == "flush") and \
        "failed" not in text and "error" not in text.lower()


def stat(name):
    return qmp("qom-get", path="/pvkit-volatile/hv0",
               property=name)["return"]


def file_is(off, n, byte):
    with open(img, "rb") as fh:
        fh.seek(off)
        return fh.read(n) == bytes([byte]) * n


check("write 64k", io("write -P 0x11 0 64k"))
check("it reads back", io("read -P 0x11 0 64k"))
check("a wrong pattern is caught", not io("read -P 0x99 0 4k"))
check("the file has not got it", file_is(0, 64 * K, 0))
check("64k cached", stat("cached-bytes") == 64 * K)
check("flush", io("flush"))
check("the file has it after the flush", file_is(0, 64 * K, 0x11))
check("nothing cached after the flush", stat("cached-bytes") == 0)
check("one flush counted", stat("flushes") == 1)
check("write one sector", io("write -P 0x22 4096 512"))
check("write zeroes", io("write -z 8192 4k"))
check("the sector reads back", io("read -P 0x22 4096 512"))
check("its neighbours are the flushed data",
      io("read -P 0x11 0 4096") and io("read -P 0x11 4608 3584"))
check("the zeroes read back", io("read -P 0 8192 4k"))
check("the file has neither",
      file_is(4096, 512, 0x11) and file_is(8192, 4 * K, 0x11))
for i in range(80):         # 320k in 4k writes: the cache fills
    io(f"write -P 0x33 {1024 * K + i * 4 * K} 4k")
check("80 writes of 4k through a 256k cache read back",
      io("read -P 0x33 1M 320k"))
check("filling it wrote the cache back", stat("evictions") >= 1 and
      file_is(4096, 512, 0x22) and file_is(8192, 4 * K, 0))
check("no more than 256k cached", stat("cache-lines") <= 64)
check("a write bigger than the cache", io("write -P 0x44 2M 512k"))
check("went through", stat("write-throughs") == 1 and
      file_is(2048 * K, 512 * K, 0x44))
check("a zero write bigger than the cache",
      io("write -z 2560k 1M") and stat("write-throughs") == 2 and
      file_is(2560 * K, 1024 * K, 0))
# 200 writes of 4k in flight at once through the 256k cache: the ones
# that find it full wait for the write-back while the others go on.
for i in range(200):
    io(f"aio_write -P {i % 250 + 1} {4096 * K + i * 4 * K} 4k")
io("aio_flush")                 # waits for all of them
check("and read back", all(
    io(f"read -P {i % 250 + 1} {4096 * K + i * 4 * K} 4k")
    for i in range(200)))
check("a flush puts them all in the file", io("flush") and all(
    file_is(4096 * K + i * 4 * K, 4 * K, i % 250 + 1) for i in range(200)))
check("nothing cached after it", stat("cached-bytes") == 0)
check("write 4k, not flushed", io("write -P 0x55 3M 4k"))
check("it reads back", io("read -P 0x55 3M 4k"))
proc.send_signal(signal.SIGKILL)
proc.wait()
check("after SIGKILL the unflushed write is lost",
      file_is(3072 * K, 4 * K, 0))
check("and the flushed data kept",
      file_is(0, 4096, 0x11) and file_is(4096, 512, 0x22) and
      file_is(2048 * K, 512 * K, 0x44))
print("; ".join(failed) if failed else "all host checks passed")
sys.exit(1 if failed else 0)
EOF
}

if msg=$(host_checks 2>&1); then
	ok "driver alone (qemu-io): cached until flushed, bounded, lost on SIGKILL"
else
	not_ok "driver alone (qemu-io): ${msg##*$'\n'} (see $OUT/host/log)"
fi

# The guest asks the host for one of the node's counters; the harness
# runs qom-get and logs "T REQUEST -> REPLY" to host-requests.log.
# ($1 is the guest shell's.)
# shellcheck disable=SC2016
ask='ask() { echo "PVKIT-HOST-REQUEST: {\"execute\": \"qom-get\", \"arguments\": {\"path\": \"/pvkit-volatile/'$NODE'\", \"property\": \"$1\"}}"; }'
# With the break, the block layer drops every flush before the frontend.
nocache=
[ "$BREAK" = noflush ] &&
	nocache='echo "write through" > /sys/block/pvda/queue/write_cache &&'
# First boot only: the flush count around one fsync.  The data is in the
# page cache before the first question; the guest waits 2 s for the
# harness to answer it before the fsync (sync FILE).
probe='dd if=/dev/urandom of=/mnt/probe bs=4k count=16 2>/dev/null &&
	ask flushes && sleep 2 && sync /mnt/probe && ask flushes &&
	ask written-back-bytes && ask cached-bytes &&'

# replies LOG: the numbers the host answered, one per line, in order.
replies() {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        print(int(json.loads(line.split(" -> ", 1)[1])["return"]))
    except (ValueError, KeyError, IndexError, TypeError):
        print("error")' "$1"
}

start=$(date +%s)
acked=0
for cycle in $(seq 1 "$CYCLES"); do
	log=$OUT/cycle-$cycle
	t=$((5 + RANDOM % 56))	# tenths of a second after the check
	cmd="$ask
	mkdir -p /mnt && $nocache mount -t ext4 /dev/pvda /mnt &&
	$([ "$cycle" = 1 ] && echo "$probe")
	/kselftest/pvkit/pvkit_durable /mnt $acked"
	rc=0
	"$HARNESS" --qemu "$QEMU" --data-dir /usr/share/seabios \
		--data-dir /usr/share/qemu --out "$log" -q \
		--kernel "$KERNEL" --initrd "$IMAGE" --pvkit --host-requests \
		--qemu-arg=-drive --qemu-arg="if=none,id=vdisk,driver=pvkit-volatile,node-name=$NODE,file.driver=file,file.filename=$IMG,discard=unmap" \
		--qemu-arg=-device --qemu-arg="xen-disk,vdev=xvda,drive=vdisk,id=pv-xvda" \
		--timeout 300 --kill-after 'DURABLE-(VERIFIED|LOST)' \
		--kill-delay "$((t / 10)).$((t % 10))" --cmd "$cmd" \
		> "$log.harness" 2>&1 || rc=$?
	console=$log/console.log
	[ -f "$console" ] || console=/dev/null

	if [ "$cycle" = 1 ]; then
		if [ -s "$log/host-requests.log" ]; then
			mapfile -t r < <(replies "$log/host-requests.log")
		else
			r=()
		fi
		if [ "${#r[@]}" -ge 4 ] && [ "${r[1]}" -gt "${r[0]}" ] 2>/dev/null; then
			ok "one fsync sent $((r[1] - r[0])) flush(es) to the backend (count ${r[0]} -> ${r[1]}; ${r[2]} bytes written back so far, ${r[3]} cached after)"
		else
			not_ok "the backend saw no flush for an fsync (answers: ${r[*]:-none}; see $log)"
		fi
	fi

	if grep -q 'DURABLE-LOST' "$console"; then
		not_ok "cycle $cycle: acknowledged records lost after the cut: $(grep -o 'DURABLE-LOST.*' "$console")"
		break
	fi
	if ! grep -q 'DURABLE-VERIFIED' "$console"; then
		not_ok "cycle $cycle: never verified (harness exit $rc; see $log)"
		break
	fi
	if [ "$rc" != 12 ]; then
		not_ok "cycle $cycle: expected the SIGKILL (harness exit 12), got $rc (see $log)"
		break
	fi
	# The highest ack, not the last line's: the cut can truncate it.
	n=$(grep -o 'DURABLE-ACK [0-9]*' "$console" | cut -d' ' -f2 | sort -n | tail -n 1)

	# What the next mount will see: replay the journal on a copy, then
	# the file system must be clean.
	cp --sparse=always "$IMG" "$log.fsck.raw"
	/sbin/e2fsck -E journal_only -y "$log.fsck.raw" > "$log.fsck" 2>&1
	replay=$?
	/sbin/e2fsck -fn "$log.fsck.raw" >> "$log.fsck" 2>&1
	fsck=$?
	rm -f "$log.fsck.raw"
	if [ "$replay" -gt 1 ] || [ "$fsck" != 0 ]; then
		not_ok "cycle $cycle: e2fsck after the cut: replay exit $replay, check exit $fsck (see $log.fsck)"
		break
	fi
	ok "cycle $cycle: $(grep -o 'DURABLE-VERIFIED [0-9]*' "$console" | cut -d' ' -f2) records verified, cut $((t / 10)).$((t % 10)) s later at ack ${n:-none}, e2fsck clean"
	acked=${n:-$acked}
done

if [ "$FAILED" = 0 ]; then
	ok "$CYCLES power cuts, $acked records acknowledged, 0 lost, $(( $(date +%s) - start )) s"
fi
exit "$FAILED"
