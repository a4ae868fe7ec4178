#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything the kit's build and test pipeline needs on a Debian 12
# host.  The backports suite (QEMU 10.0, meson 1.7) is added when missing,
# pointing at the same mirror the machine already uses for its main suite:
# no registry host is written into the repository.
set -euo pipefail

die() { echo "setup-host: $*" >&2; exit 1; }

PKGS=(
	# kernel build
	build-essential bc bison flex libelf-dev libssl-dev cpio kmod xz-utils
	rsync python3 perl git quilt patch
	# kernel sources and quality gates
	linux-source-6.12 sparse
	# guest image (e2fsprogs: mkfs.ext4 for the disk tests; fio and
	# iperf3 for the benchmarks, on the root file system image)
	busybox-static e2fsprogs fio iperf3 ethtool
	# coreutils' true, psmisc's killall and procps' pgrep go into the
	# image (upstream suites need their behaviour)
	coreutils psmisc procps
	# reference host build (QEMU 10.0 from source)
	dpkg-dev ninja-build pkg-config libglib2.0-dev libslirp-dev
	libpixman-1-dev zlib1g-dev python3-venv libfdt-dev
	# host fuzzing of the dispatcher (make -C tests/host fuzz-libfuzzer)
	clang libclang-rt-14-dev
	# headers upstream kselftest suites build against (mm: sys/capability.h,
	# numa.h)
	libcap-dev libnuma-dev
)
BPO_PKGS=(meson python3-pycotap qemu-system-x86 qemu-system-data seabios)

[ "$(id -u)" = 0 ] || die "must run as root (apt-get install)"
. /etc/os-release
codename=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
bpo="$codename-backports"

# The URI that serves the distribution's main suite, from deb822 or
# one-line sources.
main_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v s="$codename" '
			/^[[:space:]]*$/ { if (u && ok) { print u; exit } u=""; ok=0; next }
			/^URIs:/ { u=$2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) ok=1 }
			END { if (u && ok) print u }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v s="$codename" '$1 == "deb" && $0 !~ /^#/ {
			for (i = 2; i <= NF; i++) if ($i ~ /^https?:/ && $(i+1) == s) print $i }' "$f"
	done
}

# Ours, or a one-line deb-src entry for the suite the machine already has.
have_bpo_src() {
	[ -f /etc/apt/sources.list.d/pvkit-backports.sources ] ||
		grep -rqsE "^deb-src .*[[:space:]]$bpo([[:space:]]|\$)" \
			/etc/apt/sources.list /etc/apt/sources.list.d/
}

if ! have_bpo_src; then
	mirror=$(main_mirror | head -n 1)
	[ -n "$mirror" ] || die "cannot find the mirror serving '$codename' in apt's sources"
	keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	echo "setup-host: adding $bpo (deb, deb-src) from the machine's mirror"
	{
		echo "Types: deb deb-src"
		echo "URIs: $mirror"
		echo "Suites: $bpo"
		echo "Components: main"
		[ -f "$keyring" ] && echo "Signed-By: $keyring"
	} > /etc/apt/sources.list.d/pvkit-backports.sources
	rm -f /var/lib/apt/periodic/pvkit-updated
fi

missing=()
for p in "${PKGS[@]}" "${BPO_PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
qemu_ver=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || true)
case "$qemu_ver" in *10.0*) ;; *) missing+=(qemu-system-x86) ;; esac

if [ ${#missing[@]} -eq 0 ] && [ -f /var/lib/apt/periodic/pvkit-updated ]; then
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null || die "apt-get update failed"
mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/pvkit-updated
apt-get install -y -q --no-install-recommends "${PKGS[@]}" >/dev/null ||
	die "apt-get install failed for: ${PKGS[*]}"
apt-get install -y -q --no-install-recommends -t "$bpo" "${BPO_PKGS[@]}" >/dev/null ||
	die "apt-get install -t $bpo failed for: ${BPO_PKGS[*]}"
echo "setup-host: packages installed"
