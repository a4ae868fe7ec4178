#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Emit the whole kit as one patch against a pristine Linux 6.12 tree:
# the new files from scripts/kernel-files.txt followed by patches/series.
# Apply with "patch -p1" or "git apply".   Usage: flat-patch.sh [> kit.patch]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

add_file() {	# add_file KITPATH TREEPATH
	local n
	n=$(wc -l < "$KIT/$1")
	echo "diff --git a/$2 b/$2"
	echo "new file mode 100644"
	echo "--- /dev/null"
	echo "+++ b/$2"
	[ "$n" -gt 0 ] || return 0
	echo "@@ -0,0 +1,$n @@"
	sed 's/^/+/' "$KIT/$1"
}

while read -r from to; do
	case "$from" in ''|'#'*) continue ;; esac
	if [ -d "$KIT/$from" ]; then
		(cd "$KIT/$from" && find . -type f | LC_ALL=C sort) | while read -r f; do
			f=${f#./}
			add_file "$from/$f" "$to/$f"
		done
	else
		add_file "$from" "$to"
	fi
done < "$KIT/scripts/kernel-files.txt"

while read -r p; do
	case "$p" in ''|'#'*) continue ;; esac
	sed -n '/^diff --git/,$p' "$KIT/patches/$p" | sed '/^-- $/,$d'
done < "$KIT/patches/series"
