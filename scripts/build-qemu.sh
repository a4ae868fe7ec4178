#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the reference host: QEMU 10.0.2 (x86_64-softmmu) with the pvkit
# device (backend-qemu/) and its patch series.
#
# Source: $QEMU_SRC (an unpacked QEMU 10.0.2 tree, copied, never modified)
# or else Debian's orig tarball for the backport, fetched once into
# $PVKIT_CACHE/src with `apt-get source --download-only`.
#
# The patched tree and the build directory live in
# $PVKIT_CACHE/qemu/<key>/{src,build}, where <key> hashes the tarball name
# (or $QEMU_SRC path), the patch series and the configure options.  The
# kit's device sources are synced into the tree on every run (rsync -c, so
# untouched files keep their mtimes) and ninja rebuilds only what changed:
# a run with nothing changed takes seconds.
#
# Progress goes to stderr, the full configure/ninja output to
# $PVKIT_CACHE/qemu/<key>/build.log.  The last line on stdout is the
# absolute path of qemu-system-x86_64.  Run it with
#   -L /usr/share/seabios -L /usr/share/qemu
# (Debian packages seabios and qemu-system-data).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

QEMU_VERSION=10.0.2
TARBALL=qemu_${QEMU_VERSION}+ds.orig.tar.xz
PATCHES=$KIT/backend-qemu/patches
CONFIGURE_ARGS=(
	--python=/usr/bin/python3
	--target-list=x86_64-softmmu
	--without-default-features
	--enable-slirp --enable-tcg --enable-kvm
	--disable-docs --disable-install-blobs
	--enable-fdt=system
)

# fetch_tarball: print the path of the orig tarball, downloading it once.
fetch_tarball() {
	local dir=$PVKIT_CACHE/src codename
	mkdir -p "$dir"
	if [ ! -s "$dir/$TARBALL" ]; then
		codename=$(. /etc/os-release && echo "${VERSION_CODENAME:?}")
		log "fetching $TARBALL (apt-get source qemu/$codename-backports)"
		# The .dsc may be missing from the mirror; only the orig
		# tarball matters, so judge by whether it arrived.
		(cd "$dir" && apt-get source --download-only -q \
			"qemu/$codename-backports" >&2) ||
			log "apt-get source reported an error; checking for the tarball"
		[ -s "$dir/$TARBALL" ] ||
			die "could not fetch $TARBALL (run scripts/setup-host.sh: it adds the deb-src line)"
	fi
	echo "$dir/$TARBALL"
}

# apply_series TREE: apply backend-qemu/patches/series with patch -p1; on
# failure print one line naming the patch and the file that failed.
apply_series() {
	local tree=$1 p out file
	while read -r p; do
		case "$p" in '' | '#'*) continue ;; esac
		[ -f "$PATCHES/$p" ] || die "series names missing patch $p"
		if ! out=$(cd "$tree" && patch -p1 --batch --forward -N \
				< "$PATCHES/$p" 2>&1); then
			# "patching file F" precedes a failed hunk; a missing
			# file is named by the "|+++ b/F" header that follows
			# "can't find file to patch".
			file=$(printf '%s\n' "$out" | awk '
				/^patching file / { f = substr($0, 15) }
				/can.t find file/ { missing = 1; next }
				missing && /^\|\+\+\+ / {
					sub(/^\|\+\+\+ [^\/]*\//, ""); print; exit }
				/FAILED|Reversed|malformed/ { print f; exit }')
			printf '%s\n' "$out" >> "$LOGFILE"
			die "patch $p failed to apply to ${file:-?}"
		fi
	done < "$PATCHES/series"
}

if [ -n "${QEMU_SRC:-}" ]; then
	[ -f "$QEMU_SRC/configure" ] || die "QEMU_SRC=$QEMU_SRC is not a QEMU tree"
	QEMU_SRC=$(cd "$QEMU_SRC" && pwd)
	origin="dir:$QEMU_SRC"
else
	tarball=$(fetch_tarball)
	origin="tarball:$TARBALL"
fi

key=$({
	echo "$origin"
	echo "${CONFIGURE_ARGS[*]}"
	hash_inputs "$PATCHES"
} | sha256sum | cut -c1-16)
ROOT=$PVKIT_CACHE/qemu/$key
SRC=$ROOT/src
BUILD=$ROOT/build
LOGFILE=$ROOT/build.log
mkdir -p "$ROOT"

# One build per cache entry at a time.
exec 9> "$ROOT/.lock"
flock 9
: > "$LOGFILE"

if [ ! -f "$ROOT/.tree-ready" ]; then
	log "preparing patched tree in $SRC"
	rm -rf "$SRC" "$SRC.tmp" "$BUILD"
	mkdir -p "$SRC.tmp"

	if [ -n "${QEMU_SRC:-}" ]; then
		rsync -a --exclude=.git --exclude=build "$QEMU_SRC"/ "$SRC.tmp"/
	else
		tar -xJf "$tarball" -C "$SRC.tmp" --strip-components=1
	fi
	# The +ds tarball carries no firmware blobs: skip unpacking them.
	sed -i 's/^\( *unpack_edk2_blobs = \)bzip2\.found()$/\1false/' \
		"$SRC.tmp/meson.build"
	grep -q 'unpack_edk2_blobs = bzip2' "$SRC.tmp/meson.build" &&
		die "could not disable the edk2 blob unpack step in meson.build"
	apply_series "$SRC.tmp"
	mv "$SRC.tmp" "$SRC"
	touch "$ROOT/.tree-ready"
fi

# The kit's device sources and the ABI headers, every run.
mkdir -p "$SRC/hw/pvkit" "$SRC/include/hw/pvkit"
rsync -c "$KIT"/backend-qemu/*.c "$KIT"/backend-qemu/*.h \
	"$KIT"/backend-qemu/meson.build "$SRC/hw/pvkit/"
rsync -c "$KIT/hypercall/pvkit.h" "$SRC/include/hw/pvkit/pvkit-abi.h"
rsync -c "$KIT/hypercall/pvkit_blkif.h" "$SRC/include/hw/pvkit/pvkit-blkif.h"
rsync -c "$KIT/hypercall/pvkit_netif.h" "$SRC/include/hw/pvkit/pvkit-netif.h"
# Wire formats include the ring header as the kernel's uapi does,
# <linux/pvkit_ring.h>: QEMU's copy of the kernel's uapi is linux-headers/.
rsync -c "$KIT/hypercall/pvkit_ring.h" "$SRC/linux-headers/linux/pvkit_ring.h"

if [ ! -f "$BUILD/.configured" ]; then
	log "configuring in $BUILD (log: $LOGFILE)"
	rm -rf "$BUILD"
	mkdir -p "$BUILD"
	if ! (cd "$BUILD" && "$SRC/configure" "${CONFIGURE_ARGS[@]}") \
			>> "$LOGFILE" 2>&1; then
		tail -n 30 "$LOGFILE" >&2
		die "configure failed (log: $LOGFILE)"
	fi
	touch "$BUILD/.configured"
fi

log "building qemu-system-x86_64 with $JOBS jobs (log: $LOGFILE)"
# ninja's last "[done/total]" line says how far it got.
ninja_progress() {
	local step
	step=$(grep -oE '^\[[0-9]+/[0-9]+\]' "$LOGFILE" | tail -n 1)
	echo "${step:-starting}"
}
# Only ninja's output goes to the log: with_progress's lines are for the
# console.
run_ninja() {
	ninja -C "$BUILD" -j "$JOBS" qemu-system-x86_64 >> "$LOGFILE" 2>&1
}
if ! with_progress "building qemu-system-x86_64" ninja_progress run_ninja; then
	grep -E -B2 -A12 'error:|FAILED' "$LOGFILE" | tail -n 60 >&2 || true
	die "build failed (log: $LOGFILE)"
fi

qemu=$BUILD/qemu-system-x86_64
[ -x "$qemu" ] || die "build produced no $qemu"
echo "$qemu"
