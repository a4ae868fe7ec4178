// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit-store: read, write, list and remove nodes of the pvkit host's
 * store through /dev/pvkit_store.  Paths are absolute or relative to
 * /local/domain/1.
 *
 *   pvkit-store read PATH
 *   pvkit-store write PATH VALUE
 *   pvkit-store ls PATH
 *   pvkit-store rm PATH
 *   pvkit-store watch PATH	(prints the next change, waits at most 10 s)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pvkit_store_util.h"

static char buf[PVKIT_STORE_PAYLOAD_MAX];

static int print_usage(void)
{
	fprintf(stderr,
		"usage: pvkit-store read PATH | write PATH VALUE | ls PATH | rm PATH | watch PATH\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *cmd, *path;
	int fd, ret, i;

	if (argc < 3)
		return print_usage();
	cmd = argv[1];
	path = argv[2];
	fd = open(STORE_DEV, O_RDWR);
	if (fd < 0) {
		perror(STORE_DEV);
		return 1;
	}

	if (!strcmp(cmd, "read") && argc == 3) {
		ret = store_op(fd, PVKIT_STORE_IOC_READ, path, buf, sizeof(buf));
		if (ret >= 0)
			printf("%.*s\n", ret, buf);
	} else if (!strcmp(cmd, "write") && argc == 4) {
		ret = store_op(fd, PVKIT_STORE_IOC_WRITE, path, argv[3],
			       strlen(argv[3]));
	} else if (!strcmp(cmd, "ls") && argc == 3) {
		ret = store_op(fd, PVKIT_STORE_IOC_DIRECTORY, path, buf,
			       sizeof(buf));
		for (i = 0; ret > 0 && i < ret; i += strlen(buf + i) + 1)
			printf("%s\n", buf + i);
	} else if (!strcmp(cmd, "rm") && argc == 3) {
		ret = store_op(fd, PVKIT_STORE_IOC_RM, path, NULL, 0);
	} else if (!strcmp(cmd, "watch") && argc == 3) {
		ret = store_op(fd, PVKIT_STORE_IOC_WATCH, path, buf,
			       sizeof(buf));
		if (ret >= 0)
			printf("%s\n", buf);
	} else {
		close(fd);
		return print_usage();
	}
	close(fd);
	if (ret < 0) {
		fprintf(stderr, "pvkit-store: %s %s: %s\n", cmd, path,
			strerror(-ret));
		return 1;
	}
	return 0;
}
