// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit_kexec: load a kernel with kexec_file_load() and jump into it.
 *
 *	pvkit_kexec KERNEL INITRD CMDLINE
 *
 * The kexec stage (tests/stages/kexec.sh) uses it to hand the guest over
 * to a second copy of the same kernel while the kit's devices are busy:
 * Debian's kexec-tools is not in the test image, and the kernel's own
 * loader is all the kit needs.  On success it does not return; on
 * failure it prints why and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/reboot.h>
#include <sys/reboot.h>
#include <sys/syscall.h>

static int open_or_complain(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fprintf(stderr, "pvkit_kexec: %s: %s\n", path, strerror(errno));
	return fd;
}

int main(int argc, char **argv)
{
	int kernel_fd, initrd_fd;
	const char *cmdline;

	if (argc != 4) {
		fprintf(stderr, "usage: pvkit_kexec KERNEL INITRD CMDLINE\n");
		return 2;
	}
	cmdline = argv[3];
	kernel_fd = open_or_complain(argv[1]);
	initrd_fd = open_or_complain(argv[2]);
	if (kernel_fd < 0 || initrd_fd < 0)
		return 1;
	/* The length counts the terminating NUL. */
	if (syscall(SYS_kexec_file_load, kernel_fd, initrd_fd,
		    strlen(cmdline) + 1, cmdline, 0UL)) {
		fprintf(stderr, "pvkit_kexec: kexec_file_load: %s\n",
			strerror(errno));
		return 1;
	}
	printf("pvkit_kexec: loaded %s, rebooting into it\n", argv[1]);
	fflush(stdout);
	sync();
	reboot(LINUX_REBOOT_CMD_KEXEC);
	fprintf(stderr, "pvkit_kexec: reboot(KEXEC): %s\n", strerror(errno));
	return 1;
}
