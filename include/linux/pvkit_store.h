/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvkit store: a small hierarchical key-value store shared with the
 * host, with transactions and watches (the guest side of SPEC section 8).
 * The /dev/pvkit_store ioctls are in <uapi/linux/pvkit_store.h>.
 */
#ifndef _LINUX_PVKIT_STORE_H
#define _LINUX_PVKIT_STORE_H

#include <linux/list.h>
#include <linux/pvkit.h>

/*
 * Every call takes a transaction: an id from
 * pvkit_store_transaction_start(), or PVKIT_XBT_NULL for none.
 */
#define PVKIT_XBT_NULL	0U

int pvkit_store_read(u32 tx, const char *path, char *buf, size_t len);
int pvkit_store_write(u32 tx, const char *path, const char *value);
int pvkit_store_directory(u32 tx, const char *path, char *buf, size_t len);
int pvkit_store_rm(u32 tx, const char *path);

int pvkit_store_transaction_start(u32 *tx);
int pvkit_store_transaction_end(u32 tx, bool commit);

/**
 * struct pvkit_store_watch - a store watch (see pvkit_store_watch())
 * @path: node to watch, with its subtree
 * @callback: called with the path that changed
 * @list: private
 * @token: private
 */
struct pvkit_store_watch {
	const char *path;
	void (*callback)(struct pvkit_store_watch *watch, const char *path);
	struct list_head list;
	u32 token;
};

int pvkit_store_watch(struct pvkit_store_watch *watch);
void pvkit_store_unwatch(struct pvkit_store_watch *watch);

#endif /* _LINUX_PVKIT_STORE_H */
