// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/pvkit_store: the store client's requests, transactions and
 * watches for tools and tests (include/uapi/linux/pvkit_store.h).
 *
 * Everything here goes through the client's API (store.c, store.h), so
 * an ioctl waits only for its own reply: several processes, or threads
 * sharing a file, have several requests in flight.  Each open file owns
 * its watches, the events they got and its transactions; closing it
 * drops them.
 */

#define pr_fmt(fmt) "pvkit: " fmt

#include <linux/completion.h>
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/xarray.h>
#include <linux/pvkit_store.h>
#include <uapi/linux/pvkit_store.h>

#include "store.h"

/* The request types the ioctls map to (xenstore's message types). */
#define PVKIT_XS_DIRECTORY		1
#define PVKIT_XS_READ			2
#define PVKIT_XS_WATCH			4
#define PVKIT_XS_WRITE			11
#define PVKIT_XS_RM			13
#define PVKIT_XS_WATCH_EVENT		15

/* PVKIT_STORE_IOC_WATCH: the first change after the initial event. */
struct pvkit_store_ioc_watch {
	struct pvkit_store_watch watch;
	struct completion done;
	unsigned int events;
	char path[PVKIT_STORE_PATH_MAX + 1];
};

static void pvkit_store_ioc_watch_fn(struct pvkit_store_watch *watch,
				     const char *path)
{
	struct pvkit_store_ioc_watch *w =
		container_of(watch, struct pvkit_store_ioc_watch, watch);

	if (++w->events == 2) {
		strscpy(w->path, path, sizeof(w->path));
		complete(&w->done);
	}
}

static long pvkit_store_ioc_watch(const char *path, struct pvkit_store_op *op)
{
	struct pvkit_store_ioc_watch *w;
	long ret, len;

	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	w->watch.path = path;
	w->watch.callback = pvkit_store_ioc_watch_fn;
	init_completion(&w->done);
	ret = pvkit_store_watch(&w->watch);
	if (ret)
		goto out;
	ret = wait_for_completion_killable_timeout(&w->done,
						   PVKIT_STORE_TIMEOUT);
	pvkit_store_unwatch(&w->watch);
	if (!ret) {
		ret = -ETIMEDOUT;
	} else if (ret > 0) {
		len = strlen(w->path);
		if (len >= op->len)
			ret = -EOVERFLOW;
		else if (copy_to_user(u64_to_user_ptr(op->buf), w->path,
				      len + 1))
			ret = -EFAULT;
		else
			ret = len;
	}
out:
	kfree(w);
	return ret;
}

/*
 * What one open /dev/pvkit_store holds: its watches, the events they got
 * and its transactions, all dropped when the file is closed.
 */
#define PVKIT_STORE_FILE_MAX_EVENTS	1024

struct pvkit_store_file {
	struct mutex lock;		/* watches, next_id */
	struct list_head watches;
	u32 next_id;
	spinlock_t events_lock;		/* events, nr_events, overflow */
	struct list_head events;
	unsigned int nr_events;
	bool overflow;
	wait_queue_head_t wq;
	struct xarray txs;		/* open transaction ids */
};

struct pvkit_store_file_watch {
	struct pvkit_store_watch watch;
	struct list_head node;
	struct pvkit_store_file *sf;
	u32 id;
	char path[];
};

struct pvkit_store_file_event {
	struct list_head list;
	u32 id;
	char path[];
};

/* Runs on the store's watch worker: queue the event for WATCH_READ. */
static void pvkit_store_file_watch_fn(struct pvkit_store_watch *watch,
				      const char *path)
{
	struct pvkit_store_file_watch *fw =
		container_of(watch, struct pvkit_store_file_watch, watch);
	struct pvkit_store_file *sf = fw->sf;
	struct pvkit_store_file_event *ev;
	size_t len = strlen(path);

	ev = kmalloc(struct_size(ev, path, len + 1), GFP_KERNEL);
	spin_lock(&sf->events_lock);
	if (ev && sf->nr_events < PVKIT_STORE_FILE_MAX_EVENTS) {
		ev->id = fw->id;
		memcpy(ev->path, path, len + 1);
		list_add_tail(&ev->list, &sf->events);
		sf->nr_events++;
		ev = NULL;
	} else {
		sf->overflow = true;
	}
	spin_unlock(&sf->events_lock);
	kfree(ev);
	wake_up(&sf->wq);
}

static long pvkit_store_ioc_watch_add(struct pvkit_store_file *sf,
				      const char *path)
{
	struct pvkit_store_file_watch *fw;
	size_t len = strlen(path);
	long ret;

	fw = kzalloc(struct_size(fw, path, len + 1), GFP_KERNEL);
	if (!fw)
		return -ENOMEM;
	memcpy(fw->path, path, len + 1);
	fw->sf = sf;
	fw->watch.path = fw->path;
	fw->watch.callback = pvkit_store_file_watch_fn;
	mutex_lock(&sf->lock);
	fw->id = ++sf->next_id;
	ret = pvkit_store_watch(&fw->watch);
	if (ret) {
		kfree(fw);
	} else {
		list_add_tail(&fw->node, &sf->watches);
		ret = fw->id;
	}
	mutex_unlock(&sf->lock);
	return ret;
}

static long pvkit_store_ioc_watch_del(struct pvkit_store_file *sf, u32 id)
{
	struct pvkit_store_file_watch *fw;

	mutex_lock(&sf->lock);
	list_for_each_entry(fw, &sf->watches, node) {
		if (fw->id == id) {
			list_del(&fw->node);
			mutex_unlock(&sf->lock);
			pvkit_store_unwatch(&fw->watch);
			kfree(fw);
			return 0;
		}
	}
	mutex_unlock(&sf->lock);
	return -ENOENT;
}

static bool pvkit_store_file_ready(struct pvkit_store_file *sf)
{
	return !list_empty_careful(&sf->events) || READ_ONCE(sf->overflow);
}

static long pvkit_store_ioc_watch_read(struct pvkit_store_file *sf,
				       void __user *uarg)
{
	struct pvkit_store_watch_event we;
	struct pvkit_store_file_event *ev;
	long ret, len;

	if (copy_from_user(&we, uarg, sizeof(we)))
		return -EFAULT;
	if (we.reserved || we.timeout_ms > 60000)
		return -EINVAL;
	ret = wait_event_interruptible_timeout(sf->wq, pvkit_store_file_ready(sf),
					       msecs_to_jiffies(we.timeout_ms));
	if (ret < 0)
		return ret;
	spin_lock(&sf->events_lock);
	if (sf->overflow) {
		/* Say once that events were lost; the queue stays. */
		sf->overflow = false;
		spin_unlock(&sf->events_lock);
		return -ENOBUFS;
	}
	ev = list_first_entry_or_null(&sf->events,
				      struct pvkit_store_file_event, list);
	len = ev ? strlen(ev->path) : 0;
	if (ev && len < we.len) {
		list_del(&ev->list);
		sf->nr_events--;
	}
	spin_unlock(&sf->events_lock);
	if (!ev)
		return -ETIMEDOUT;
	if (len >= we.len)
		return -EOVERFLOW;	/* the event stays for a bigger buffer */
	we.watch_id = ev->id;
	if (copy_to_user(u64_to_user_ptr(we.buf), ev->path, len + 1) ||
	    copy_to_user(uarg, &we, sizeof(we)))
		ret = -EFAULT;
	else
		ret = len;
	kfree(ev);
	return ret;
}

static long pvkit_store_ioc_tx_start(struct pvkit_store_file *sf,
				     void __user *uarg)
{
	struct pvkit_store_tx t = {};
	long ret;

	ret = pvkit_store_transaction_start(&t.tx_id);
	if (ret)
		return ret;
	ret = xa_insert(&sf->txs, t.tx_id, xa_mk_value(1), GFP_KERNEL);
	if (!ret && copy_to_user(uarg, &t, sizeof(t))) {
		xa_erase(&sf->txs, t.tx_id);
		ret = -EFAULT;
	}
	if (ret)
		pvkit_store_transaction_end(t.tx_id, false);
	return ret;
}

static long pvkit_store_ioc_tx_end(struct pvkit_store_file *sf,
				   void __user *uarg)
{
	struct pvkit_store_tx t;

	if (copy_from_user(&t, uarg, sizeof(t)))
		return -EFAULT;
	if (t.commit > 1)
		return -EINVAL;
	/* Only the file's own transactions, each ended once. */
	if (!t.tx_id || !xa_erase(&sf->txs, t.tx_id))
		return -ENOENT;
	return pvkit_store_transaction_end(t.tx_id, t.commit);
}

/* The requests of struct pvkit_store_op, in transaction @tx or none. */
static long pvkit_store_ioc_op(struct pvkit_store_file *sf, unsigned int type,
			       u32 tx, struct pvkit_store_op *op)
{
	char *path, *buf = NULL;
	long ret;

	if (op->flags)
		return -EINVAL;
	if (tx && !xa_load(&sf->txs, tx))
		return -ENOENT;
	path = strndup_user(u64_to_user_ptr(op->path), PVKIT_STORE_PATH_MAX + 1);
	if (IS_ERR(path))
		return PTR_ERR(path);
	if (type == PVKIT_XS_WRITE && op->len > PVKIT_STORE_PAYLOAD_MAX) {
		ret = -E2BIG;
		goto out;
	}
	/* No reply is longer: a bigger buffer needs no more kernel memory. */
	op->len = min_t(u32, op->len, PVKIT_STORE_PAYLOAD_MAX);
	if (type == PVKIT_XS_WATCH) {
		ret = pvkit_store_ioc_watch(path, op);
		goto out;
	}
	if (type == PVKIT_XS_WATCH_EVENT) {	/* WATCH_ADD */
		ret = pvkit_store_ioc_watch_add(sf, path);
		goto out;
	}
	if (type != PVKIT_XS_RM) {
		buf = kmalloc(max(op->len, 1U), GFP_KERNEL);
		if (!buf) {
			ret = -ENOMEM;
			goto out;
		}
	}

	switch (type) {
	case PVKIT_XS_READ:
	case PVKIT_XS_DIRECTORY:
		ret = type == PVKIT_XS_READ ?
			pvkit_store_do_read(tx, path, buf, op->len) :
			pvkit_store_do_directory(tx, path, buf, op->len);
		if (ret > 0 && copy_to_user(u64_to_user_ptr(op->buf), buf, ret))
			ret = -EFAULT;
		break;
	case PVKIT_XS_WRITE:
		if (copy_from_user(buf, u64_to_user_ptr(op->buf), op->len))
			ret = -EFAULT;
		else
			ret = pvkit_store_do_write(tx, path, buf, op->len);
		break;
	default:	/* PVKIT_XS_RM */
		ret = pvkit_store_rm(tx, path);
		break;
	}
out:
	kfree(buf);
	kfree(path);
	return ret;
}

/* /dev/pvkit_store: the same requests for tools and tests. */
static long pvkit_store_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct pvkit_store_file *sf = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct pvkit_store_tx_op txop;
	struct pvkit_store_op op;
	unsigned int type;
	u32 id;

	switch (cmd) {
	case PVKIT_STORE_IOC_TX_START:
		return pvkit_store_ioc_tx_start(sf, uarg);
	case PVKIT_STORE_IOC_TX_END:
		return pvkit_store_ioc_tx_end(sf, uarg);
	case PVKIT_STORE_IOC_WATCH_READ:
		return pvkit_store_ioc_watch_read(sf, uarg);
	case PVKIT_STORE_IOC_WATCH_DEL:
		if (get_user(id, (u32 __user *)uarg))
			return -EFAULT;
		return pvkit_store_ioc_watch_del(sf, id);
	case PVKIT_STORE_IOC_TX_READ:
	case PVKIT_STORE_IOC_TX_WRITE:
	case PVKIT_STORE_IOC_TX_DIRECTORY:
	case PVKIT_STORE_IOC_TX_RM:
		if (copy_from_user(&txop, uarg, sizeof(txop)))
			return -EFAULT;
		if (txop.reserved)
			return -EINVAL;
		type = cmd == PVKIT_STORE_IOC_TX_READ ? PVKIT_XS_READ :
		       cmd == PVKIT_STORE_IOC_TX_WRITE ? PVKIT_XS_WRITE :
		       cmd == PVKIT_STORE_IOC_TX_DIRECTORY ? PVKIT_XS_DIRECTORY :
		       PVKIT_XS_RM;
		return pvkit_store_ioc_op(sf, type, txop.tx_id, &txop.op);
	case PVKIT_STORE_IOC_READ:
		type = PVKIT_XS_READ;
		break;
	case PVKIT_STORE_IOC_WRITE:
		type = PVKIT_XS_WRITE;
		break;
	case PVKIT_STORE_IOC_DIRECTORY:
		type = PVKIT_XS_DIRECTORY;
		break;
	case PVKIT_STORE_IOC_RM:
		type = PVKIT_XS_RM;
		break;
	case PVKIT_STORE_IOC_WATCH:
		type = PVKIT_XS_WATCH;
		break;
	case PVKIT_STORE_IOC_WATCH_ADD:
		type = PVKIT_XS_WATCH_EVENT;
		break;
	default:
		return -ENOTTY;
	}
	if (copy_from_user(&op, uarg, sizeof(op)))
		return -EFAULT;
	return pvkit_store_ioc_op(sf, type, PVKIT_XBT_NULL, &op);
}

static int pvkit_store_open(struct inode *inode, struct file *file)
{
	struct pvkit_store_file *sf = kzalloc(sizeof(*sf), GFP_KERNEL);

	if (!sf)
		return -ENOMEM;
	mutex_init(&sf->lock);
	INIT_LIST_HEAD(&sf->watches);
	spin_lock_init(&sf->events_lock);
	INIT_LIST_HEAD(&sf->events);
	init_waitqueue_head(&sf->wq);
	xa_init(&sf->txs);
	file->private_data = sf;
	return 0;
}

/* Remove the file's watches, abort its transactions, drop its events. */
static int pvkit_store_release(struct inode *inode, struct file *file)
{
	struct pvkit_store_file *sf = file->private_data;
	struct pvkit_store_file_watch *fw, *fw_next;
	struct pvkit_store_file_event *ev, *ev_next;
	unsigned long tx;
	void *entry;

	list_for_each_entry_safe(fw, fw_next, &sf->watches, node) {
		pvkit_store_unwatch(&fw->watch);
		kfree(fw);
	}
	xa_for_each(&sf->txs, tx, entry)
		pvkit_store_transaction_end(tx, false);
	xa_destroy(&sf->txs);
	list_for_each_entry_safe(ev, ev_next, &sf->events, list)
		kfree(ev);
	kfree(sf);
	return 0;
}

static const struct file_operations pvkit_store_fops = {
	.owner		= THIS_MODULE,
	.open		= pvkit_store_open,
	.release	= pvkit_store_release,
	.unlocked_ioctl	= pvkit_store_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice pvkit_store_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "pvkit_store",
	.fops	= &pvkit_store_fops,
	.mode	= 0600,
};

/* Called by the client once it is connected. */
int pvkit_store_dev_register(void)
{
	return misc_register(&pvkit_store_dev);
}
