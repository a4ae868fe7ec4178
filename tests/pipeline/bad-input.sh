#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Bad input to the pipeline gets a clear one-line reason and the exit
# code documented for it: 1 from the build scripts, the harness's own
# codes from tests/harness/pvkit-vm (13: QEMU crashed or exited early,
# 14: setup or usage error), so a crash is never taken for a setup error
# or the other way round.  These cases need no build; they print TAP
# lines and the script exits non-zero if any failed.
set -uo pipefail
KIT=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

expect_fail() {	# expect_fail NAME EXIT-CODE REGEX command...
	local name=$1 want=$2 re=$3 out rc
	shift 3
	n=$((n + 1))
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -eq "$want" ] && printf '%s\n' "$out" | grep -qE "$re"; then
		echo "ok $n - $name (exit $rc)"
	else
		echo "not ok $n - $name (exit $rc, want $want and /$re/; said: $(printf '%s' "$out" | tail -n 2 | tr '\n' ' '))"
		failed=$((failed + 1))
	fi
}

expect_fail "KDIR that does not exist" 1 "KDIR=/nonexistent does not exist" \
	env KDIR=/nonexistent "$KIT/scripts/build-kernel.sh"

expect_fail "FLAVOUR that does not exist" 1 "FLAVOUR=bogus: the flavours are 'small' .the default., 'debug' and 'suites'" \
	env FLAVOUR=bogus "$KIT/scripts/build-kernel.sh"

mkdir -p "$tmp/old"
printf 'VERSION = 5\nPATCHLEVEL = 10\n' > "$tmp/old/Makefile"
expect_fail "KDIR of another kernel version" 1 "is Linux 5.10, the kit needs 6.12" \
	env KDIR="$tmp/old" "$KIT/scripts/build-kernel.sh"

expect_fail "KDIR that is not a kernel tree" 1 "no Makefile there" \
	env KDIR="$tmp" "$KIT/scripts/build-kernel.sh"

# A 6.12 tree the first patch cannot apply to: the message names the
# patch and the file.
mkdir -p "$tmp/bad/arch/x86/include/asm" "$tmp/bad/arch/x86/kernel/cpu"
printf 'VERSION = 6\nPATCHLEVEL = 12\n' > "$tmp/bad/Makefile"
echo "/* not the real header */" > "$tmp/bad/arch/x86/include/asm/hypervisor.h"
expect_fail "series that does not apply names patch and file" 1 \
	"patch 0001-x86-hypervisor-Add-the-pvkit-hypervisor-type.patch does not apply.*arch/x86/include/asm/hypervisor.h" \
	env KDIR="$tmp/bad" "$KIT/scripts/build-kernel.sh"

expect_fail "harness: missing kernel image" 14 "setup error: --kernel .*: no such file" \
	"$KIT/tests/harness/pvkit-vm" --qemu /bin/true --kernel "$tmp/none" \
	--initrd "$tmp/none" --cmd true --out "$tmp/out1"

expect_fail "harness: unknown option" 14 "unrecognized arguments: --no-such-option" \
	"$KIT/tests/harness/pvkit-vm" --qemu /bin/true --kernel "$tmp/none" \
	--initrd "$tmp/none" --cmd true --no-such-option

touch "$tmp/kernel" "$tmp/initrd"
expect_fail "harness: --pvkit on a QEMU without the device" 14 \
	"setup error: .* has no 'pvkit' device" \
	env PVKIT_ACCEL=tcg "$KIT/tests/harness/pvkit-vm" --qemu /bin/true \
	--pvkit --kernel "$tmp/kernel" --initrd "$tmp/initrd" --cmd true \
	--out "$tmp/out2"

printf '#!/bin/sh\nkill -SEGV $$\n' > "$tmp/crashing-qemu"
chmod +x "$tmp/crashing-qemu"
expect_fail "harness: QEMU that crashes" 13 "qemu-crash, exit 13.*QEMU killed by signal 11" \
	env PVKIT_ACCEL=tcg "$KIT/tests/harness/pvkit-vm" --qemu "$tmp/crashing-qemu" \
	--kernel "$tmp/kernel" --initrd "$tmp/initrd" --cmd true --out "$tmp/out3"

expect_fail "harness: QEMU that exits 0 before the guest booted" 13 \
	"QEMU exited with status 0 before PVKIT-BOOTED" \
	env PVKIT_ACCEL=tcg "$KIT/tests/harness/pvkit-vm" --qemu /bin/true \
	--kernel "$tmp/kernel" --initrd "$tmp/initrd" --cmd true --out "$tmp/out4"

exit $((failed > 0))
