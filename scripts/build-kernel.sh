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
#   FLAVOUR=small        the default: tinyconfig + the kit's fragment
#   FLAVOUR=debug        small, plus arch/x86/configs/pvkit-debug.config
#                        (KASAN, lockdep, ...), in a build directory of
#                        its own
#   FLAVOUR=suites       for upstream suites: x86_64_defconfig +
#                        kvm_guest.config + the kit's fragment +
#                        pvkit-suites.config (no GPU, sound, wireless,
#                        USB) + each asked-for suite's own config
#                        fragment, built in a directory named by the
#                        resulting .config
#
# The last line on stdout is the path of a file of KEY=value lines:
# KERNEL, MODULES, KSELFTEST, KSELFTEST_BUILD_FAILURES (suites that did not
# build, "suite<TAB>first error" per line), KERNELRELEASE, FLAVOUR, SRC,
# BUILD.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KSELFTEST_SUITES=${KSELFTEST_SUITES:-"pvkit timers"}
FLAVOUR=${FLAVOUR:-}
case "$FLAVOUR" in
'' | small) FLAVOUR= ;;
debug | suites) ;;
*) die "FLAVOUR=$FLAVOUR: the flavours are 'small' (the default), 'debug' and 'suites'" ;;
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

# One key over everything install_kit and apply_series put in the tree.
kit_inputs_key() {
	local from to paths=("$KIT/scripts/kernel-files.txt" "$KIT/patches")
	while read -r from to; do
		case "$from" in ''|'#'*) continue ;; esac
		paths+=("$KIT/$from")
	done < "$KIT/scripts/kernel-files.txt"
	hash_inputs "${paths[@]}"
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
mkdir -p "$BUILD"
# One build per build directory at a time: make check builds the debug
# flavour in the background while other stages run, and checkouts share
# the cache.  The tree is changed (kit installed, series applied) only
# under an exclusive lock, and only when the kit's files or series are
# not what was last installed; builds compile from it under a shared one.
exec 8> "$BUILD.lock"
flock 8
exec 7> "$PVKIT_CACHE/linux/tree-$(printf '%s' "$SRC" | sha256sum | cut -c1-16).lock"
flock -s 7
installed=$(kit_inputs_key)
if [ "$(cat "$SRC/.pvkit-installed" 2>/dev/null)" != "$installed" ]; then
	flock 7
	install_kit "$SRC"
	apply_series "$SRC"
	echo "$installed" > "$SRC/.pvkit-installed"
	flock -s 7
fi
LOG=$BUILD/build.log
: > "$LOG"

kmake() {
	make -C "$SRC" O="$BUILD" -j"$JOBS" "$@" >>"$LOG" 2>&1 ||
		{ tail -n 30 "$LOG" >&2; die "make $* failed (full log: $LOG)"; }
}

# missing_options LIST FRAGMENT...: every option the fragments set must be
# in the .config as they set it; those that are not (a missing
# dependency, another architecture's option) go to LIST, one per line.
missing_options() {
	local list=$1 line
	shift
	: > "$list"
	while read -r line; do
		case "$line" in CONFIG_*) ;; *) continue ;; esac
		grep -qxF "$line" "$BUILD/.config" || echo "$line" >> "$list"
	done < <(cat "$@")
}

# The small kernel (and its debug flavour): tinyconfig and the kit's
# fragments, configured only when a fragment changed; every option in
# them must survive.
configure_small() {
	local frags=("$KIT/arch/x86/configs/pvkit.config") cfgkey
	[ -z "$FLAVOUR" ] || frags+=("$KIT/arch/x86/configs/pvkit-$FLAVOUR.config")
	cfgkey=$(hash_inputs "${frags[@]}")
	if [ ! -f "$BUILD/.config" ] || [ "$(cat "$BUILD/.pvkit-config" 2>/dev/null)" != "$cfgkey" ]; then
		log "configuring: tinyconfig + ${frags[*]##*/}"
		kmake tinyconfig
		kmake "${frags[@]##*/}"
		echo "$cfgkey" > "$BUILD/.pvkit-config"
	fi
	missing_options "$BUILD/.pvkit-dropped" "${frags[@]}"
	[ ! -s "$BUILD/.pvkit-dropped" ] ||
		die "config: $(xargs < "$BUILD/.pvkit-dropped") from ${frags[*]##*/} did not survive (unmet dependencies?)"
}

# The suites flavour: what an ordinary x86_64 guest kernel has
# (x86_64_defconfig + kvm_guest.config), the kit's fragment, less what a
# QEMU guest never drives (pvkit-suites.config), and the asked-for
# suites' own fragments on top, as "make kselftest-merge"
# merges them.  Configured in a scratch directory first: the build
# directory is named by the resulting .config, so each distinct kernel
# builds once whichever suite list asked for it.  The kit's options must
# survive; the suites' options the tree cannot give (other
# architectures, missing dependencies) are listed in
# staging/config-not-set.txt and printed, not silently dropped.
configure_suites() {
	local scratch=$BUILD.configure frags=() s f key
	for s in $KSELFTEST_SUITES; do
		f=$SRC/tools/testing/selftests/$s/config
		[ ! -f "$f" ] || frags+=("$f")
	done
	rm -rf "$scratch"
	mkdir -p "$scratch"
	log "configuring: x86_64_defconfig + kvm_guest.config + pvkit.config + pvkit-suites.config + ${#frags[@]} suite fragment(s)"
	BUILD=$scratch kmake x86_64_defconfig
	BUILD=$scratch kmake kvm_guest.config pvkit.config pvkit-suites.config
	if [ ${#frags[@]} -gt 0 ]; then
		(cd "$scratch" && "$SRC/scripts/kconfig/merge_config.sh" -m -O "$scratch" \
			.config "${frags[@]}") >> "$LOG" 2>&1 ||
			die "merging the suites' config fragments failed (log: $LOG)"
		BUILD=$scratch kmake olddefconfig
	fi
	key=$(hash_inputs "$scratch/.config")
	BUILD=$BUILD-$key
	mkdir -p "$BUILD"
	cmp -s "$scratch/.config" "$BUILD/.config" || cp "$scratch/.config" "$BUILD/.config"
	rm -rf "$scratch"
	cat "$LOG" > "$BUILD/build.log"
	LOG=$BUILD/build.log
	missing_options "$BUILD/.pvkit-dropped" "$KIT/arch/x86/configs/pvkit.config"
	[ ! -s "$BUILD/.pvkit-dropped" ] ||
		die "config: $(xargs < "$BUILD/.pvkit-dropped") from pvkit.config did not survive (unmet dependencies?)"
	[ ${#frags[@]} -gt 0 ] || { : > "$BUILD/.pvkit-not-set"; return 0; }
	missing_options "$BUILD/.pvkit-not-set" "${frags[@]}"
	[ ! -s "$BUILD/.pvkit-not-set" ] ||
		log "suite options this tree does not give (see staging/config-not-set.txt): $(xargs < "$BUILD/.pvkit-not-set")"
}

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

if [ "$FLAVOUR" = suites ]; then
	configure_suites
else
	configure_small
fi

# How far the build got: objects compiled since it started, out of as
# many as the last complete build of this directory had.
kernel_progress() {
	local n
	n=$(find "$BUILD" -name '*.o' -newer "$BUILD/.pvkit-started" | wc -l)
	if [ -s "$BUILD/.pvkit-objects" ]; then
		echo "$n objects compiled (the last full build had $(cat "$BUILD/.pvkit-objects"))"
	else
		echo "$n objects compiled"
	fi
}
log "building bzImage and modules (log: $LOG)"
touch "$BUILD/.pvkit-started"
with_progress "building bzImage and modules" kernel_progress kmake bzImage modules
find "$BUILD" -name '*.o' | wc -l > "$BUILD/.pvkit-objects"
kmake headers
release=$(cat "$BUILD/include/config/kernel.release")

rm -rf "$BUILD/staging"
mkdir -p "$BUILD/staging/modules" "$BUILD/staging/kselftest"
FAILURES=$BUILD/staging/kselftest-build-failures.txt
[ ! -f "$BUILD/.pvkit-not-set" ] || cp "$BUILD/.pvkit-not-set" "$BUILD/staging/config-not-set.txt"
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
FLAVOUR=${FLAVOUR:-small}
SRC=$SRC
BUILD=$BUILD
EOT
log "kernel $release ready"
echo "$out"
