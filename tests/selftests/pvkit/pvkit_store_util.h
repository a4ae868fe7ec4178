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

/* A request inside transaction @tx (0: none). */
static inline int store_tx_op(int fd, unsigned long cmd, uint32_t tx,
			      const char *path, void *buf, size_t len)
{
	struct pvkit_store_tx_op op = {
		.op.path = (uintptr_t)path,
		.op.buf = (uintptr_t)buf,
		.op.len = len,
		.tx_id = tx,
	};
	int ret = ioctl(fd, cmd, &op);

	return ret < 0 ? -errno : ret;
}

/* Start a transaction: its id (> 0), or -errno. */
static inline int store_tx_start(int fd)
{
	struct pvkit_store_tx t = { 0 };

	return ioctl(fd, PVKIT_STORE_IOC_TX_START, &t) ? -errno : (int)t.tx_id;
}

/* Commit (or abort) a transaction: 0, -EAGAIN on a conflict, or -errno. */
static inline int store_tx_end(int fd, uint32_t tx, int commit)
{
	struct pvkit_store_tx t = { .tx_id = tx, .commit = !!commit };

	return ioctl(fd, PVKIT_STORE_IOC_TX_END, &t) ? -errno : 0;
}

/* Add a watch that lasts until store_watch_del(): its id (> 0), or -errno. */
static inline int store_watch_add(int fd, const char *path)
{
	return store_op(fd, PVKIT_STORE_IOC_WATCH_ADD, path, NULL, 0);
}

static inline int store_watch_del(int fd, uint32_t id)
{
	return ioctl(fd, PVKIT_STORE_IOC_WATCH_DEL, &id) ? -errno : 0;
}

/* The next event of the file's watches: path length, or -errno. */
static inline int store_watch_next(int fd, char *buf, size_t len,
				   unsigned int timeout_ms, uint32_t *id)
{
	struct pvkit_store_watch_event ev = {
		.buf = (uintptr_t)buf,
		.len = len,
		.timeout_ms = timeout_ms,
	};
	int ret = ioctl(fd, PVKIT_STORE_IOC_WATCH_READ, &ev);

	if (ret < 0)
		return -errno;
	if (id)
		*id = ev.watch_id;
	return ret;
}

#endif /* PVKIT_STORE_UTIL_H */
