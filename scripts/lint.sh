#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Kernel quality gates over the kit's kernel code, run inside the built
# tree: checkpatch --strict (sources and patches), sparse (C=2), kernel-doc.
# Prints one "ok/not ok" line per gate and exits non-zero if any failed.
#   scripts/lint.sh <pvkit-kernel.env from build-kernel.sh>
set -euo pipefail
. "$(dirname "$0")/lib.sh"

env_file=${1:?usage: lint.sh <pvkit-kernel.env>}
# shellcheck source=/dev/null # written by the build
. "$env_file"
out=${LINT_OUT:-$BUILD/lint}
mkdir -p "$out"
failed=0

gate() {	# gate NAME LOGFILE STATUS
	if [ "$3" = 0 ]; then
		echo "ok - lint: $1"
	else
		echo "not ok - lint: $1 (see $2)"
		sed 's/^/#   /' "$2" | head -n 40
		failed=$((failed + 1))
	fi
}

# Kernel C sources and headers of the kit, as tree paths.
tree_files=()
while read -r from to; do
	case "$from" in ''|'#'*) continue ;; esac
	case "$to" in tools/*|*.config) continue ;; esac
	if [ -d "$KIT/$from" ]; then
		while IFS= read -r f; do tree_files+=("$to/${f#"$KIT/$from/"}"); done \
			< <(find "$KIT/$from" -type f \( -name '*.[ch]' -o -name Kconfig -o -name Makefile \) | sort)
	else
		tree_files+=("$to")
	fi
done < "$KIT/scripts/kernel-files.txt"
c_files=()
for f in "${tree_files[@]}"; do case "$f" in *.[ch]) c_files+=("$f") ;; esac; done

cd "$SRC"
st=0
{
	./scripts/checkpatch.pl --strict --no-summary --terse -f "${tree_files[@]}" || st=1
	./scripts/checkpatch.pl --strict --no-summary --terse "$KIT"/patches/*.patch || st=1
} > "$out/checkpatch.log" 2>&1 || st=1
grep -qE '(ERROR|WARNING|CHECK):' "$out/checkpatch.log" && st=1
gate "checkpatch --strict (${#tree_files[@]} files, $(ls "$KIT"/patches/*.patch | wc -l) patches)" "$out/checkpatch.log" $st

# sparse: rebuild the kit's objects with C=2 (checks even up-to-date ones).
st=0
objs=()
for f in "${c_files[@]}"; do case "$f" in *.c) objs+=("${f%.c}.o") ;; esac; done
make -C "$SRC" O="$BUILD" C=2 -j"$JOBS" "${objs[@]}" > "$out/sparse.log" 2>&1 || st=1
grep -E ': (warning|error):' "$out/sparse.log" > "$out/sparse-warnings.log" && st=1
[ $st = 0 ] || cat "$out/sparse-warnings.log" >> "$out/sparse.log"
gate "sparse C=2 (${#objs[@]} objects)" "$out/sparse.log" $st

st=0
./scripts/kernel-doc -none -Wall "${c_files[@]}" > "$out/kernel-doc.log" 2>&1 || st=1
[ -s "$out/kernel-doc.log" ] && st=1
gate "kernel-doc -Wall (${#c_files[@]} files)" "$out/kernel-doc.log" $st

exit $((failed > 0))
