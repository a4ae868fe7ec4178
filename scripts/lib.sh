# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the kit's build scripts.  Source, don't execute.

# Top of the kit checkout.
KIT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Build outputs live outside the checkout so a fresh clone on the same
# machine reuses them; every cache entry is named by a hash of its inputs.
PVKIT_CACHE=${PVKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pvkit}
mkdir -p "$PVKIT_CACHE"

JOBS=${JOBS:-$(nproc)}

die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

log() {
	echo "${0##*/}: $*" >&2
}

# hash_inputs PATH...: one short hash over the names and contents of files
# (directories are walked, sorted; paths relative to them) so a cache key
# changes exactly when an input changes, wherever the checkout is.
hash_inputs() {
	local p
	for p in "$@"; do
		if [ -d "$p" ]; then
			(cd "$p" && find . -type f -print0 | LC_ALL=C sort -z |
				xargs -0r sha256sum)
		elif [ -e "$p" ]; then
			# contents and name, not the path: a fresh clone elsewhere
			# must find the same cache entries
			echo "$(sha256sum < "$p" | cut -c1-64) ${p##*/}"
		else
			echo "missing $p"
		fi
	done | sha256sum | cut -c1-16
}

# sync_tree SRC DST: copy a kit directory into a source tree, touching only
# files whose contents changed, so make/ninja rebuild just those.
sync_tree() {
	mkdir -p "$2"
	rsync -rc --delete "$1"/ "$2"/
}
