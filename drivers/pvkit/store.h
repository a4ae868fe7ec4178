/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvkit store: what the store client (store.c) gives its character
 * device (store_dev.c), beyond the exported API of <linux/pvkit_store.h>.
 */
#ifndef _DRIVERS_PVKIT_STORE_H
#define _DRIVERS_PVKIT_STORE_H

#include <linux/jiffies.h>
#include <linux/types.h>

/* How long one request may wait for its reply. */
#define PVKIT_STORE_TIMEOUT	(10 * HZ)

/*
 * Requests with a raw payload: the read and directory replies go to @buf
 * (at most @len bytes, no NUL added), the written value is @len bytes.
 * Return: as the exported pvkit_store_*() functions.
 */
int pvkit_store_do_read(u32 tx, const char *path, char *buf, size_t len);
int pvkit_store_do_directory(u32 tx, const char *path, char *buf,
			     size_t len);
int pvkit_store_do_write(u32 tx, const char *path, const void *value,
			 size_t len);

/* /dev/pvkit_store, once the client is connected. */
int pvkit_store_dev_register(void);

#endif /* _DRIVERS_PVKIT_STORE_H */
