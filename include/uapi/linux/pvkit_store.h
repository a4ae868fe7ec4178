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

#endif /* _UAPI_LINUX_PVKIT_STORE_H */
