/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Interface of /dev/pvkit_store: the pvkit guest's store client (the
 * host's xenstore, hypercall/SPEC.md section 8) for tools and tests.
 * Root only.  Paths are absolute or relative to /local/domain/1.
 */
#ifndef _UAPI_LINUX_PVKIT_STORE_H
#define _UAPI_LINUX_PVKIT_STORE_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Longest path (without its terminator) and largest payload. */
#define PVKIT_STORE_PATH_MAX		3072
#define PVKIT_STORE_PAYLOAD_MAX		4096

/**
 * struct pvkit_store_op - one store request
 * @path: user pointer to the NUL-terminated path
 * @buf: user pointer: the value to write (WRITE), or the buffer that
 *       receives the value (READ), the child names, each followed by a
 *       NUL (DIRECTORY), or the path that changed and a NUL (WATCH);
 *       unused for RM
 * @len: bytes at @buf
 * @flags: must be zero
 *
 * The ioctls return the number of bytes stored at @buf (READ, DIRECTORY),
 * the length of the path (WATCH) or 0, or -1 with errno: the store's
 * error (ENOENT, EACCES, ...), EOVERFLOW when @buf is too small, EIO or
 * ETIMEDOUT when the host does not answer properly.
 *
 * WATCH sets a watch on @path, waits (at most 10 s) for the first change
 * after the event every new watch gets, and removes the watch.
 */
struct pvkit_store_op {
	__u64 path;
	__u64 buf;
	__u32 len;
	__u32 flags;
};

#define PVKIT_STORE_IOC_MAGIC		0xb8
#define PVKIT_STORE_IOC_READ \
	_IOW(PVKIT_STORE_IOC_MAGIC, 1, struct pvkit_store_op)
#define PVKIT_STORE_IOC_WRITE \
	_IOW(PVKIT_STORE_IOC_MAGIC, 2, struct pvkit_store_op)
#define PVKIT_STORE_IOC_DIRECTORY \
	_IOW(PVKIT_STORE_IOC_MAGIC, 3, struct pvkit_store_op)
#define PVKIT_STORE_IOC_RM \
	_IOW(PVKIT_STORE_IOC_MAGIC, 4, struct pvkit_store_op)
#define PVKIT_STORE_IOC_WATCH \
	_IOW(PVKIT_STORE_IOC_MAGIC, 5, struct pvkit_store_op)

/**
 * struct pvkit_store_tx - a transaction of this open file
 * @tx_id: out (TX_START): the new transaction; in (TX_END): the one to end
 * @commit: in (TX_END): 1 applies its changes, 0 drops them
 *
 * TX_END fails with EAGAIN when the commit conflicts with a change made
 * since the transaction started: nothing was applied, the transaction is
 * over, and the caller redoes it from TX_START (reads included).  Any
 * other result ends the transaction too.  Closing the file aborts its
 * open transactions; the store keeps only a few per guest.
 */
struct pvkit_store_tx {
	__u32 tx_id;
	__u32 commit;
};

/**
 * struct pvkit_store_tx_op - a request inside a transaction
 * @op: as for READ, WRITE, DIRECTORY and RM
 * @tx_id: a transaction of this file from TX_START, or 0 for none
 * @reserved: must be zero
 *
 * Reads see the store as it was at TX_START plus the transaction's own
 * writes; nobody else sees the writes before the commit.
 */
struct pvkit_store_tx_op {
	struct pvkit_store_op op;
	__u32 tx_id;
	__u32 reserved;
};

/**
 * struct pvkit_store_watch_event - the next event of this file's watches
 * @buf: user pointer: receives the path that changed and a NUL
 * @len: bytes at @buf
 * @watch_id: out: the watch (the value WATCH_ADD returned) that fired
 * @timeout_ms: in: how long to wait for an event (at most 60000)
 * @reserved: must be zero
 *
 * WATCH_ADD sets a watch on op.path that lives until WATCH_DEL (argument:
 * the watch id, a __u32) or until the file is closed, and returns its id
 * (> 0).  Like every xenstore watch it fires once at once, then once per
 * change of the node or its subtree.  WATCH_READ takes the oldest queued
 * event and returns the path's length; ETIMEDOUT when none came in time,
 * EOVERFLOW when @buf is too small (the event stays queued), ENOBUFS once
 * after events were dropped (more than 1024 queued).
 */
struct pvkit_store_watch_event {
	__u64 buf;
	__u32 len;
	__u32 watch_id;
	__u32 timeout_ms;
	__u32 reserved;
};

#define PVKIT_STORE_IOC_TX_START \
	_IOR(PVKIT_STORE_IOC_MAGIC, 6, struct pvkit_store_tx)
#define PVKIT_STORE_IOC_TX_END \
	_IOW(PVKIT_STORE_IOC_MAGIC, 7, struct pvkit_store_tx)
#define PVKIT_STORE_IOC_TX_READ \
	_IOW(PVKIT_STORE_IOC_MAGIC, 8, struct pvkit_store_tx_op)
#define PVKIT_STORE_IOC_TX_WRITE \
	_IOW(PVKIT_STORE_IOC_MAGIC, 9, struct pvkit_store_tx_op)
#define PVKIT_STORE_IOC_TX_DIRECTORY \
	_IOW(PVKIT_STORE_IOC_MAGIC, 10, struct pvkit_store_tx_op)
#define PVKIT_STORE_IOC_TX_RM \
	_IOW(PVKIT_STORE_IOC_MAGIC, 11, struct pvkit_store_tx_op)
#define PVKIT_STORE_IOC_WATCH_ADD \
	_IOW(PVKIT_STORE_IOC_MAGIC, 12, struct pvkit_store_op)
#define PVKIT_STORE_IOC_WATCH_READ \
	_IOWR(PVKIT_STORE_IOC_MAGIC, 13, struct pvkit_store_watch_event)
#define PVKIT_STORE_IOC_WATCH_DEL \
	_IOW(PVKIT_STORE_IOC_MAGIC, 14, __u32)

#endif /* _UAPI_LINUX_PVKIT_STORE_H */
