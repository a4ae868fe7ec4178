#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-stock-kernel.sh [--flavour cloud-amd64|amd64]
#
# Download (not install) the distribution's stock kernel image package and
# extract its vmlinuz into $PVKIT_CACHE/stock-kernel/<package>_<version>/.
# That kernel knows nothing of the kit: booting it on the reference host
# proves the host still runs ordinary guests.  Prints the vmlinuz path as
# the last line on stdout.
#
# The package is the one the meta package (linux-image-cloud-amd64 by
# default: smaller, boots faster under TCG) depends on.  A kernel that is
# already extracted for the current candidate version is reused; when apt
# cannot be asked (offline, no lists) the newest cached one is used.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=cloud-amd64
while [ $# -gt 0 ]; do
	case "$1" in
	--flavour) flavour=${2:?--flavour needs a value}; shift 2 ;;
	-h|--help) sed -n '4,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
done

meta=linux-image-$flavour
dest_root=$PVKIT_CACHE/stock-kernel
mkdir -p "$dest_root"

# The versioned image package the meta package currently depends on.
resolve_pkg() {
	apt-cache depends "$meta" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

newest_cached() {
	ls -1dt "$dest_root"/linux-image-*"$flavour"_*/vmlinuz 2>/dev/null | head -n 1
}

pkg=$(resolve_pkg || true)
if [ -z "$pkg" ] && [ "$(id -u)" = 0 ]; then
	log "apt-cache does not know $meta; running apt-get update"
	apt-get update -q >/dev/null 2>&1 || true
	pkg=$(resolve_pkg || true)
fi
if [ -z "$pkg" ]; then
	cached=$(newest_cached)
	[ -n "$cached" ] || die "cannot resolve $meta with apt-cache and nothing is cached"
	log "apt-cache cannot resolve $meta; using cached $cached"
	echo "$cached"
	exit 0
fi

ver=$(apt-cache policy "$pkg" | awk '$1 == "Candidate:" { print $2 }')
[ -n "$ver" ] && [ "$ver" != "(none)" ] || die "no installable candidate for $pkg"
dest=$dest_root/${pkg}_${ver}
if [ -f "$dest/vmlinuz" ]; then
	echo "$dest/vmlinuz"
	exit 0
fi

work=$(mktemp -d "$dest_root/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "downloading $pkg ($ver)"
# apt-get download drops privileges to _apt, which must be able to write here.
chmod 0777 "$work"
(cd "$work" && apt-get download -q "$pkg=$ver" >/dev/null 2>"$work/apt.err") ||
	die "apt-get download $pkg=$ver failed: $(tail -n 3 "$work/apt.err")"
deb=$(ls "$work"/*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || die "apt-get download produced no .deb"
dpkg-deb -x "$deb" "$work/x"
kimg=$(ls "$work"/x/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$kimg" ] || die "$deb has no boot/vmlinuz-*"

mkdir -p "$work/out"
cp "$kimg" "$work/out/vmlinuz"
cfg=$(ls "$work"/x/boot/config-* 2>/dev/null | head -n 1)
[ -z "$cfg" ] || cp "$cfg" "$work/out/config"
echo "${kimg##*/vmlinuz-}" > "$work/out/release"
rm -rf "$dest"
mv "$work/out" "$dest"
log "extracted $(cat "$dest/release") into $dest"
echo "$dest/vmlinuz"
