#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# build-image.sh --out FILE [--modules DIR] [--kselftest DIR]
#                [--extra SRC:DST ...] [--no-bash] [--ext4 FILE]
#
# Build the guest test initramfs (gzip'd newc cpio):
#   /bin/busybox (static) and a symlink per applet, /init from tests/image/init,
#   /usr/bin/timeout (GNU-style wrapper kselftest's runner.sh needs),
#   /bin/bash from the host (many kselftest scripts are bash; --no-bash drops it),
#   /lib/modules/<ver> from DIR/lib/modules (DIR = an INSTALL_MOD_PATH staging dir),
#   the installed kselftest tree DIR (its INSTALL_PATH) at /kselftest,
#   each --extra SRC (file or directory) at DST (absolute path in the image;
#     e.g. --extra mods.txt:/etc/pvkit-modules),
#   and the shared libraries (plus dynamic loader) every ELF in the image needs.
# --ext4 FILE also writes the same tree, plus fio and iperf3 (the
#   benchmarks' load generators; too big for the initramfs), as an ext4 file
#   system image for a root on a pvkit disk (the initramfs's /init switches
#   to it when the kernel command line says pvkit_root=DEV).
#
# The image is cached under $PVKIT_CACHE/image/ by a hash of all inputs and
# rebuilt only when one changes.  The output path is the last stdout line.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() { sed -n '4,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

out='' modules='' kselftest='' bash=1 ext4=
extras=()
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=${2:?--out needs a value}; shift 2 ;;
	--modules) modules=${2:?--modules needs a value}; shift 2 ;;
	--kselftest) kselftest=${2:?--kselftest needs a value}; shift 2 ;;
	--extra) extras+=("${2:?--extra needs SRC:DST}"); shift 2 ;;
	--no-bash) bash=; shift ;;
	--ext4) ext4=${2:?--ext4 needs a value}; shift 2 ;;
	-h|--help) usage 0 ;;
	*) echo "${0##*/}: unknown argument: $1" >&2; usage 1 >&2 ;;
	esac
done
[ -n "$out" ] || die "--out FILE is required"

BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || die "no $BUSYBOX (install busybox-static)"
file_is_static() { ! ldd "$1" >/dev/null 2>&1; }
file_is_static "$BUSYBOX" || die "$BUSYBOX is dynamically linked; need busybox-static"
BASH_BIN=$(command -v bash)
if [ -n "$modules" ]; then
	[ -d "$modules/lib/modules" ] || die "--modules $modules has no lib/modules/"
fi
if [ -n "$kselftest" ]; then
	[ -f "$kselftest/run_kselftest.sh" ] || die "--kselftest $kselftest has no run_kselftest.sh"
fi
for e in "${extras[@]}"; do
	src=${e%%:*} dst=${e#*:}
	[ "$src" != "$e" ] && [ "${dst#/}" != "$dst" ] || die "--extra $e: want SRC:/ABS/DST"
	[ -e "$src" ] || die "--extra $e: no $src"
done

# Host tools the disk and NIC tests run in the guest (their libraries come
# along): mke2fs/e2fsck (e2fsprogs), ethtool (upstream's netdevice.sh).
HOST_TOOLS=(/sbin/mke2fs /sbin/e2fsck /usr/sbin/ethtool)
# Host tools only the root file system image (--ext4) carries.
ROOTFS_TOOLS=(/usr/bin/fio /usr/bin/iperf3)
for t in "${HOST_TOOLS[@]}"; do
	[ -x "$t" ] || die "no $t (install e2fsprogs and ethtool: scripts/setup-host.sh)"
done
# coreutils' true as /bin/true: busybox picks its applet by the name it
# runs under, so through any other link name (exec's non-regular test
# runs /bin/true through one) it says "applet not found".  psmisc's
# killall: busybox's has no --wait, which mm's hugetlb cgroup scripts
# use to let a writer go before they check its memory was freed; they
# find the writer with procps' pgrep (this busybox has none): without it
# the writer is never stopped and the next test waits for its memory
# forever.
TRUE_BIN=/usr/bin/true
KILLALL_BIN=/usr/bin/killall
PGREP_BIN=/usr/bin/pgrep
[ -x "$KILLALL_BIN" ] || die "no $KILLALL_BIN (install psmisc: scripts/setup-host.sh)"
[ -x "$PGREP_BIN" ] || die "no $PGREP_BIN (install procps: scripts/setup-host.sh)"

# Cache key: this script, the image sources and the cpio writer they use,
# busybox, host libc (the libraries copied in), bash, every input tree,
# and the extra files with their targets.
libc_ver=$(dpkg-query -W -f='${Version}' libc6 2>/dev/null || ldd --version | head -n 1)
key=$( {
	hash_inputs "$0" "$KIT/tests/image" "$KIT/tests/harness/pvkit_vm/cpio.py" \
		"$BUSYBOX" "${HOST_TOOLS[@]}" "$TRUE_BIN" "$KILLALL_BIN" "$PGREP_BIN"
	echo "libc $libc_ver bash=${bash:+$(hash_inputs "$BASH_BIN")}"
	[ -z "$modules" ] || echo "modules $(hash_inputs "$modules")"
	[ -z "$kselftest" ] || echo "kselftest $(hash_inputs "$kselftest")"
	for e in "${extras[@]}"; do echo "extra ${e#*:} $(hash_inputs "${e%%:*}")"; done
} | sha256sum | cut -c1-16)

cache=$PVKIT_CACHE/image
mkdir -p "$cache"
img=$cache/initramfs-$key.cpio.gz

# populate_root DIR: the image's tree (libraries not yet resolved).
populate_root() {
	local r=$1 t a src dst e
	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,root,dev,proc,sys,tmp,run,pvkit,lib,lib64,var/tmp}
	chmod 1777 "$r/tmp" "$r/var/tmp"
	ln -s ../run "$r/var/run"

	cp "$BUSYBOX" "$r/bin/busybox"
	for a in $("$BUSYBOX" --list); do
		[ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"
	done
	# Where other scripts look for the usual tools.
	for a in sh mount umount modprobe insmod rmmod lsmod depmod reboot \
		poweroff halt ip switch_root; do
		ln -sf ../bin/busybox "$r/sbin/$a"
	done
	for a in env awk sed grep cut tr sort uniq wc head tail xargs find \
		realpath dirname basename id stat mktemp seq nproc; do
		ln -sf ../../bin/busybox "$r/usr/bin/$a"
	done
	for t in "${HOST_TOOLS[@]}"; do
		cp "$t" "$r/sbin/"
	done
	ln -sf mke2fs "$r/sbin/mkfs.ext4"
	rm -f "$r/bin/true" "$r/bin/killall" "$r/usr/bin/killall" "$r/usr/bin/pgrep"
	cp "$TRUE_BIN" "$r/bin/true"
	cp "$KILLALL_BIN" "$r/usr/bin/killall"
	cp "$PGREP_BIN" "$r/usr/bin/pgrep"
	install -m 0755 "$KIT/tests/image/init" "$r/init"
	install -m 0755 "$KIT/tests/image/timeout" "$r/usr/bin/timeout"
	if [ -n "$bash" ]; then
		cp "$BASH_BIN" "$r/bin/bash"
		ln -sf ../../bin/bash "$r/usr/bin/bash"
	fi
	echo "root:x:0:0:root:/root:/bin/sh" > "$r/etc/passwd"
	echo "root:x:0:" > "$r/etc/group"
	echo "127.0.0.1 localhost pvkit-guest" > "$r/etc/hosts"

	if [ -n "$modules" ]; then
		mkdir -p "$r/lib/modules"
		cp -a "$modules/lib/modules/." "$r/lib/modules/"
		# modules_install's build/source links point into the host tree.
		find "$r/lib/modules" -maxdepth 2 -type l \( -name build -o -name source \) -delete
	fi
	if [ -n "$kselftest" ]; then
		cp -a "$kselftest/." "$r/kselftest/"
	fi
	for e in "${extras[@]}"; do
		src=${e%%:*} dst=$r${e#*:}
		mkdir -p "$(dirname "$dst")"
		if [ -d "$src" ]; then
			mkdir -p "$dst" && cp -a "$src/." "$dst/"
		else
			cp -L "$src" "$dst"
		fi
	done
}

if [ ! -f "$img" ]; then
	log "building image $key"
	stage=$(mktemp -d "$cache/.stage.XXXXXX")
	trap 'rm -rf "$stage"' EXIT
	populate_root "$stage/root"
	/usr/bin/python3 "$KIT/tests/image/mkinitramfs.py" --root "$stage/root" \
		--out "$stage/img.cpio.gz"
	mv "$stage/img.cpio.gz" "$img"
	log "image $img ($(du -h "$img" | cut -f1))"
	rm -rf "$stage"
	trap - EXIT
else
	log "image $key up to date"
fi

# The root file system image: the same tree plus the benchmark tools and a
# marker that tells /init it already runs on the disk.
if [ -n "$ext4" ]; then
	for t in "${ROOTFS_TOOLS[@]}"; do
		[ -x "$t" ] || die "no $t (install ${t##*/}: scripts/setup-host.sh)"
	done
	fs=$cache/rootfs-$(echo "$key $(hash_inputs "${ROOTFS_TOOLS[@]}")" | sha256sum | cut -c1-16).ext4
	if [ ! -f "$fs" ]; then
		log "building root file system image"
		stage=$(mktemp -d "$cache/.stage.XXXXXX")
		trap 'rm -rf "$stage"' EXIT
		populate_root "$stage/root"
		cp "${ROOTFS_TOOLS[@]}" "$stage/root/usr/bin/"
		touch "$stage/root/.pvkit-rootfs"
		/usr/bin/python3 "$KIT/tests/image/mkinitramfs.py" \
			--root "$stage/root" --libs-only
		size=$(( $(du -sm "$stage/root" | cut -f1) + 64 ))
		/sbin/mke2fs -q -t ext4 -L pvkit-root -E root_owner=0:0 \
			-d "$stage/root" "$stage/fs.ext4" "${size}M"
		mv "$stage/fs.ext4" "$fs"
		log "root file system $fs (${size} MiB)"
		rm -rf "$stage"
		trap - EXIT
	fi
	mkdir -p "$(dirname "$ext4")"
	cmp -s "$fs" "$ext4" 2>/dev/null || { cp "$fs" "$ext4.tmp.$$" && mv "$ext4.tmp.$$" "$ext4"; }
	log "root file system at $ext4"
fi

mkdir -p "$(dirname "$out")"
if ! cmp -s "$img" "$out" 2>/dev/null; then
	cp "$img" "$out.tmp.$$" && mv "$out.tmp.$$" "$out"
fi
echo "$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
