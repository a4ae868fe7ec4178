#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the pvkit guest kernel: install the kit into a Linux 6.12 tree,
# apply patches/series, configure tinyconfig + arch/x86/configs/pvkit.config,
# build bzImage and modules, install modules, UAPI headers and kselftests.
#
#   KDIR=<tree>          use an existing 6.12 tree (the kit is installed
#                        into it); default: Debian's linux-source-6.12
#   KSELFTEST_SUITES=..  suites to build (default "pvkit timers")
#   FLAVOUR=debug        add arch/x86/configs/pvkit-debug.config (KASAN,
#                        lockdep, ...) in a build directory of its own;
#                        default: the plain kit kernel
#
# The last line on stdout is the path of a file of KEY=value lines:
# KERNEL, MODULES, KSELFTEST, KSELFTEST_BUILD_FAILURES (suites that did not
# build, "suite<TAB>first error" per line), KERNELRELEASE, SRC, BUILD.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KSELFTEST_SUITES=${KSELFTEST_SUITES:-"pvkit timers"}
FLAVOUR=${FLAVOUR:-}
case "$FLAVOUR" in
'' | pvkit) FLAVOUR= ;;
debug) ;;
*) die "FLAVOUR=$FLAVOUR: the flavours are 'debug' and the default (empty)" ;;
esac
TARBALL=${LINUX_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
SERIES=$KIT/patches/series

check_tree() {
	local v p
	[ -f "$1/Makefile" ] || die "KDIR=$1: no Makefile there, not a kernel tree"
	v=$(sed -n 's/^VERSION = //p' "$1/Makefile")
	p=$(sed -n 's/^PATCHLEVEL = //p' "$1/Makefile")
	[ "$v.$p" = 6.12 ] || die "KDIR=$1 is Linux ${v:-?}.${p:-?}, the kit needs 6.12"
}

# Copy the kit's sources to their places in the tree (idempotent; files
# whose contents did not change keep their timestamps).
install_kit() {
	local tree=$1 from to
	while read -r from to; do
		case "$from" in ''|'#'*) continue ;; esac
		[ -e "$KIT/$from" ] || die "kernel-files.txt names missing $from"
		if [ -d "$KIT/$from" ]; then
			sync_tree "$KIT/$from" "$tree/$to"
		else
			mkdir -p "$(dirname "$tree/$to")"
			rsync -c "$KIT/$from" "$tree/$to"
		fi
	done < "$KIT/scripts/kernel-files.txt"
}

# Apply the series.  The patches last applied are kept in the tree
# (.pvkit-series/); when the kit's series changes they are reversed first,
# so only the files the patches touch change and the O= build dir stays
# valid.  A patch that does not apply is named together with its file.
apply_series() {
	local tree=$1 state=$1/.pvkit-series p
	if [ -d "$state" ]; then
		diff -qr "$state" "$KIT/patches" >/dev/null 2>&1 && return 0
		log "series changed: reversing the previously applied one"
		tac "$state/series" | while read -r p; do
			case "$p" in ''|'#'*) continue ;; esac
			patch -d "$tree" -p1 -R -f -s < "$state/$p" >/dev/null ||
				die "cannot reverse $p in $tree: remove the tree or restore it"
		done
		rm -rf "$state"
	fi
	while read -r p; do
		case "$p" in ''|'#'*) continue ;; esac
		[ -f "$KIT/patches/$p" ] || die "series names missing patch $p"
		apply_one "$tree" "$KIT/patches/$p"
	done < "$SERIES"
	cp -r "$KIT/patches" "$state"
}

apply_one() {	# apply_one TREE PATCH; skips a patch already applied
	local tree=$1 p=$2 out file name=${2##*/}
	if patch -d "$tree" -p1 -R -s -f --dry-run < "$p" >/dev/null 2>&1; then
		return 0
	fi
	if ! out=$(patch -d "$tree" -p1 -f --dry-run < "$p" 2>&1); then
		file=$(printf '%s\n' "$out" | awk '/^checking file/ { f=$3 } /FAILED|can.t find file/ { print f; exit }')
		die "patch $name does not apply to $tree: ${file:-see 'patch --dry-run'} ($(printf '%s\n' "$out" | grep -m1 -E 'FAILED|can.t find|malformed' || true))"
	fi
	patch -d "$tree" -p1 -f -s < "$p" >/dev/null
	log "applied $name"
}

prepare_default_tree() {
	local key src
	[ -f "$TARBALL" ] || die "$TARBALL missing: run scripts/setup-host.sh (package linux-source-6.12) or set KDIR"
	key=$(hash_inputs "$TARBALL")
	src=$PVKIT_CACHE/linux/src-$key
	if [ ! -f "$src/.pvkit-unpacked" ]; then
		log "unpacking $(basename "$TARBALL") (once per tarball)"
		rm -rf "$src" "$src.tmp"
		mkdir -p "$src.tmp"
		tar -xf "$TARBALL" -C "$src.tmp" --strip-components=1
		touch "$src.tmp/.pvkit-unpacked"
		mv "$src.tmp" "$src"
	fi
	SRC=$src
	BUILD=$PVKIT_CACHE/linux/build-$key
}

if [ -n "${KDIR:-}" ]; then
	[ -d "$KDIR" ] || die "KDIR=$KDIR does not exist"
	KDIR=$(cd "$KDIR" && pwd)
	check_tree "$KDIR"
	SRC=$KDIR
	BUILD=$PVKIT_CACHE/linux/build-kdir-$(printf '%s' "$KDIR" | sha256sum | cut -c1-16)
else
	prepare_default_tree
fi
# Each flavour builds in a directory of its own, beside the default one.
BUILD=$BUILD${FLAVOUR:+-$FLAVOUR}
install_kit "$SRC"
apply_series "$SRC"
mkdir -p "$BUILD"
LOG=$BUILD/build.log
: > "$LOG"

kmake() {
	make -C "$SRC" O="$BUILD" -j"$JOBS" "$@" >>"$LOG" 2>&1 ||
		{ tail -n 30 "$LOG" >&2; die "make $* failed (full log: $LOG)"; }
}

# Configure only when a fragment changed; then check every option in
# them survived (a dropped option means a missing dependency).  The
# debug flavour's fragment goes on top of the kit's.
frags=("$KIT/arch/x86/configs/pvkit.config")
[ -z "$FLAVOUR" ] || frags+=("$KIT/arch/x86/configs/pvkit-$FLAVOUR.config")
cfgkey=$(hash_inputs "${frags[@]}")
if [ ! -f "$BUILD/.config" ] || [ "$(cat "$BUILD/.pvkit-config" 2>/dev/null)" != "$cfgkey" ]; then
	log "configuring: tinyconfig + ${frags[*]##*/}"
	kmake tinyconfig
	kmake "${frags[@]##*/}"
	echo "$cfgkey" > "$BUILD/.pvkit-config"
fi
dropped=()
while read -r line; do
	case "$line" in CONFIG_*) ;; *) continue ;; esac
	grep -qxF "$line" "$BUILD/.config" || dropped+=("$line")
done < <(cat "${frags[@]}")
[ ${#dropped[@]} = 0 ] ||
	die "config: ${dropped[*]} from ${frags[*]##*/} did not survive (unmet dependencies?)"

# Build each asked-for kselftest suite on its own, so one that does not
# compile (upstream suites sometimes do not on a stable tree, or need
# headers this config lacks) is reported with its first error and the
# others still build and run.  The kit's own suite must build.  Failures
# go to $FAILURES, one "suite<TAB>first error" line each, for the runs to
# report as failed tests; the rest are installed together so
# run_kselftest.sh lists exactly what built.
build_kselftests() {
	local s slog err built=()
	: > "$FAILURES"
	for s in $KSELFTEST_SUITES; do
		slog=$BUILD/kselftest-$s.log
		log "building kselftest suite $s (log: $slog)"
		if make -C "$SRC/tools/testing/selftests" O="$BUILD" \
			TARGETS="$s" FORCE_TARGETS=1 all > "$slog" 2>&1; then
			built+=("$s")
			continue
		fi
		err=$(grep -m1 -E 'error:|Error [0-9]+|No rule to make target' "$slog" ||
			tail -n 1 "$slog")
		[ "$s" != pvkit ] || { tail -n 30 "$slog" >&2; die "the kit's own kselftest suite does not build: $err"; }
		log "kselftest suite $s does not build: $err"
		printf '%s\t%s\n' "$s" "$err" >> "$FAILURES"
	done
	[ ${#built[@]} -gt 0 ] || die "no kselftest suite built (see $FAILURES)"
	make -C "$SRC/tools/testing/selftests" O="$BUILD" TARGETS="${built[*]}" \
		FORCE_TARGETS=1 INSTALL_PATH="$BUILD/staging/kselftest" install >>"$LOG" 2>&1 ||
		{ tail -n 30 "$LOG" >&2; die "kselftest install failed (full log: $LOG)"; }
}

log "building bzImage and modules (log: $LOG)"
kmake bzImage modules
kmake headers
release=$(cat "$BUILD/include/config/kernel.release")

rm -rf "$BUILD/staging"
mkdir -p "$BUILD/staging/modules" "$BUILD/staging/kselftest"
FAILURES=$BUILD/staging/kselftest-build-failures.txt
kmake modules_install INSTALL_MOD_PATH="$BUILD/staging/modules" INSTALL_MOD_STRIP=1

build_kselftests

# Upstream tests that need no build, run as they are: the network device
# test (ethtool features, MAC, up/down) on the kit's NIC.
mkdir -p "$BUILD/staging/kselftest/net"
install -m 0755 "$SRC/tools/testing/selftests/net/netdevice.sh" \
	"$BUILD/staging/kselftest/net/netdevice.sh"

out=$BUILD/pvkit-kernel.env
cat > "$out" <<EOT
KERNEL=$BUILD/arch/x86/boot/bzImage
MODULES=$BUILD/staging/modules
KSELFTEST=$BUILD/staging/kselftest
KSELFTEST_BUILD_FAILURES=$FAILURES
KERNELRELEASE=$release
SRC=$SRC
BUILD=$BUILD
EOT
log "kernel $release ready"
echo "$out"
