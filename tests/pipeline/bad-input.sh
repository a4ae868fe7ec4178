#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Bad input to the pipeline gets a clear one-line reason and a non-zero
# exit.  These cases need no build; they print TAP lines.
set -uo pipefail
KIT=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0

expect_fail() {	# expect_fail NAME REGEX command...
	local name=$1 re=$2 out rc
	shift 2
	n=$((n + 1))
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne 0 ] && printf '%s\n' "$out" | grep -qE "$re"; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name (exit $rc, said: $(printf '%s' "$out" | tail -n 2 | tr '\n' ' '))"
	fi
}

expect_fail "KDIR that does not exist" "KDIR=/nonexistent does not exist" \
	env KDIR=/nonexistent "$KIT/scripts/build-kernel.sh"

mkdir -p "$tmp/old"
printf 'VERSION = 5\nPATCHLEVEL = 10\n' > "$tmp/old/Makefile"
expect_fail "KDIR of another kernel version" "is Linux 5.10, the kit needs 6.12" \
	env KDIR="$tmp/old" "$KIT/scripts/build-kernel.sh"

expect_fail "KDIR that is not a kernel tree" "no Makefile there" \
	env KDIR="$tmp" "$KIT/scripts/build-kernel.sh"

# A 6.12 tree the first patch cannot apply to: the message names the
# patch and the file.
mkdir -p "$tmp/bad/arch/x86/include/asm" "$tmp/bad/arch/x86/kernel/cpu"
printf 'VERSION = 6\nPATCHLEVEL = 12\n' > "$tmp/bad/Makefile"
echo "/* not the real header */" > "$tmp/bad/arch/x86/include/asm/hypervisor.h"
expect_fail "series that does not apply names patch and file" \
	"patch 0001-x86-hypervisor-Add-the-pvkit-hypervisor-type.patch does not apply.*arch/x86/include/asm/hypervisor.h" \
	env KDIR="$tmp/bad" "$KIT/scripts/build-kernel.sh"

expect_fail "harness: missing kernel image" "kernel" \
	"$KIT/tests/harness/pvkit-vm" --qemu /bin/true --kernel "$tmp/none" \
	--initrd "$tmp/none" --cmd true --out "$tmp/out1"

printf '#!/bin/sh\nkill -SEGV $$\n' > "$tmp/crashing-qemu"
chmod +x "$tmp/crashing-qemu"
touch "$tmp/kernel" "$tmp/initrd"
expect_fail "harness: QEMU that crashes" "QEMU|qemu" \
	env PVKIT_ACCEL=tcg "$KIT/tests/harness/pvkit-vm" --qemu "$tmp/crashing-qemu" \
	--kernel "$tmp/kernel" --initrd "$tmp/initrd" --cmd true --out "$tmp/out2"
