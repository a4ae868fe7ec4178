/* SPDX-License-Identifier: GPL-2.0 */
/* /dev/pvkit_store requests, shared by the store test and pvkit-store. */
#ifndef PVKIT_STORE_UTIL_H
#define PVKIT_STORE_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include <linux/pvkit_store.h>

#define STORE_DEV	"/dev/pvkit_store"

/* One request; returns the ioctl's result, or -errno. */
static inline int store_op(int fd, unsigned long cmd, const char *path,
			   void *buf, size_t len)
{
	struct pvkit_store_op op = {
		.path = (uintptr_t)path,
		.buf = (uintptr_t)buf,
		.len = len,
	};
	int ret = ioctl(fd, cmd, &op);

	return ret < 0 ? -errno : ret;
}

#endif /* PVKIT_STORE_UTIL_H */
