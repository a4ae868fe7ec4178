#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage kexec: the PV guest kexecs into the same kernel while a kit disk
# is being written and the kit NIC is sending; the second kernel must
# find both devices and connect them again (the first kernel closed its
# frontends and detached from the host; the host revoked what its
# backends still had mapped), read back what the first kernel wrote, and
# pass the kit's core selftests (event channels, grants, store, bus).
#
# The guest reads the kernel to load from a kit disk (the bzImage,
# padded) and packs its own initramfs again for the second kernel,
# which sees pvkit_kexec=2 on its command line, and page_poison=1: every
# page it frees at boot (all of the first kernel's memory, its rings and
# buffers among them) is filled with a pattern that is checked when the
# page is allocated again.  After its checks the second kernel allocates
# all the memory it can (a tmpfs file): a page the host wrote after the
# handover is reported ("pagealloc: memory corruption", a kernel failure
# to the harness).  The unpacked initramfs, its copy and kexec's own copy
# take about 400 MiB: 1 GiB of memory.  Prints TAP lines and a closing
# "N passed, N failed, N skipped" line.  Needs QEMU, KERNEL, IMAGE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need QEMU KERNEL IMAGE
out=$RESULTS/kexec
mkdir -p "$RESULTS"
kdisk=$RESULTS/disk-kexec-kernel.raw
busy=$RESULTS/disk-kexec-busy.raw
rm -f "$kdisk" "$busy"
ksize=$(stat -c %s "$KERNEL")
ksum=$(sha256sum "$KERNEL" | cut -d' ' -f1)
cp "$KERNEL" "$kdisk"
truncate -s 16M "$kdisk"
truncate -s 64M "$busy"

# In the guest: the first kernel starts the traffic and kexecs; the
# second checks its devices and runs the suites.  Written as one script
# because both kernels run the same /pvkit/cmd.
read -r -d '' cmd <<EOF || true
if grep -qw pvkit_kexec=2 /proc/cmdline; then
	echo "kexec-stage: second kernel"
	dmesg | grep -E 'pvkit|pvblk|pvnet' | grep -iE 'reset|state|connect|fail' || true
	got=\$(head -c $ksize /dev/pvda | sha256sum | cut -d' ' -f1)
	[ "\$got" = "$ksum" ] && echo "kexec-check: ok disk pvda reads back the kernel" ||
		echo "kexec-check: FAIL disk pvda: \$got"
	marker=\$(dd if=/dev/pvdb bs=4096 count=1 iflag=direct 2>/dev/null | head -c 16)
	[ "\$marker" = "pvkit-kexec-mark" ] && echo "kexec-check: ok disk pvdb holds the first kernel's marker" ||
		echo "kexec-check: FAIL disk pvdb marker: '\$marker'"
	ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 &&
		ping -c 3 -W 5 10.0.2.2 > /dev/null &&
		echo "kexec-check: ok eth0 reaches the host" ||
		echo "kexec-check: FAIL eth0"
	cd /kselftest/pvkit
	for t in pvkit_test pvkit_store pvkit_bus; do
		if ./\$t > /tmp/\$t.log 2>&1; then
			echo "kexec-check: ok suite \$t"
		else
			cat /tmp/\$t.log
			echo "kexec-check: FAIL suite \$t"
		fi
	done
	free=\$(awk '/^MemFree:/ { print int(\$2 / 1024) }' /proc/meminfo)
	fill=\$((free - 96))
	dd if=/dev/zero of=/tmp/fill bs=1M count=\$fill 2>/dev/null
	rm -f /tmp/fill
	if ! grep -qw page_poison=1 /proc/cmdline; then
		echo "kexec-check: FAIL page poisoning is not on"
	elif dmesg | grep -q 'pagealloc: '; then
		echo "kexec-check: FAIL old memory was written after the handover"
	else
		echo "kexec-check: ok \$fill MiB of old memory allocated again, none written after the handover"
	fi
	exit 0
fi
echo "kexec-stage: first kernel"
head -c $ksize /dev/pvda > /tmp/bzImage
printf 'pvkit-kexec-mark' | dd of=/dev/pvdb bs=4096 conv=sync oflag=direct 2>/dev/null
(cd / && find . -xdev | cpio -o -H newc > /tmp/initrd.cpio 2>/dev/null)
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0
ping -q -i 0.01 10.0.2.2 > /dev/null 2>&1 &
(while :; do dd if=/dev/urandom of=/dev/pvdb bs=64k seek=16 count=256 oflag=direct 2>/dev/null; done) &
sleep 2
grep -E 'pvkit|eth0' /proc/interrupts
exec /kselftest/pvkit/pvkit_kexec /tmp/bzImage /tmp/initrd.cpio "\$(cat /proc/cmdline) pvkit_kexec=2 page_poison=1"
EOF

rc=0
vm "$out" --kernel "$KERNEL" --initrd "$IMAGE" --pvkit --smp 2 --mem 1024 \
	--modprobe pvkit_test --modprobe pvkit_testfront \
	--pv-disk "$kdisk" --pv-disk "$busy" --pv-nic user \
	--expect-console 'pvkit_kexec: loaded /tmp/bzImage' \
	--expect-console 'kexec-stage: second kernel' \
	--cmd "$cmd" || rc=$?

# Seven checks in the second kernel: fewer means it never got there.
guest_checks kexec 7 "$rc" "$out/console.log"
