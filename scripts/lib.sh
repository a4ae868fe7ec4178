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

# with_progress WHAT HOW CMD...: run CMD (its output already redirected)
# and, every PROGRESS_SECONDS (default 60) while it runs, log WHAT with
# what the function HOW prints (how far it got) and the minutes so far,
# so a long build is not silent.  Returns CMD's status.
with_progress() {
	local what=$1 how=$2 pid rc=0 t=0 every=${PROGRESS_SECONDS:-60}
	shift 2
	"$@" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		t=$((t + 1))
		[ $((t % every)) != 0 ] || log "$what: $($how) ($((t / 60)) min $((t % 60)) s)"
	done
	wait "$pid" || rc=$?
	return "$rc"
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
