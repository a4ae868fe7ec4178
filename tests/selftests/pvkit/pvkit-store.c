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
 *   pvkit-store incr PATH	(adds 1 to a decimal value in a transaction,
 *				 redone on conflict; prints the new value)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvkit_store_util.h"

static char buf[PVKIT_STORE_PAYLOAD_MAX];

/* Read-increment-write in a transaction, redone while it conflicts. */
static int incr(int fd, const char *path)
{
	int tx, ret, n, retries = 0;
	long val;

	do {
		tx = store_tx_start(fd);
		if (tx < 0)
			return tx;
		ret = store_tx_op(fd, PVKIT_STORE_IOC_TX_READ, tx, path, buf,
				  sizeof(buf) - 1);
		val = 0;
		if (ret >= 0) {
			buf[ret] = '\0';
			val = strtol(buf, NULL, 10);
		} else if (ret != -ENOENT) {
			store_tx_end(fd, tx, 0);
			return ret;
		}
		n = snprintf(buf, sizeof(buf), "%ld", val + 1);
		ret = store_tx_op(fd, PVKIT_STORE_IOC_TX_WRITE, tx, path, buf,
				  n);
		if (ret) {
			store_tx_end(fd, tx, 0);
			return ret;
		}
		ret = store_tx_end(fd, tx, 1);
	} while (ret == -EAGAIN && ++retries < 100);
	if (!ret)
		printf("%ld\n", val + 1);
	return ret;
}

static int print_usage(void)
{
	fprintf(stderr,
		"usage: pvkit-store read PATH | write PATH VALUE | ls PATH | rm PATH | watch PATH | incr PATH\n");
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
	} else if (!strcmp(cmd, "incr") && argc == 3) {
		ret = incr(fd, path);
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
