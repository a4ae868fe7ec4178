// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit store client: synchronous requests to the host's xenstore.
 *
 * The guest gives the host one page for Xen's xenstore ring (requests
 * from offset 0, replies from 1024, free-running indexes after them) and
 * gets back an event channel both sides notify after moving an index.
 * One request is in flight at a time: the caller writes it into the ring,
 * then reads messages until its reply arrives, skipping watch events and
 * late replies to requests that timed out.  The host is not trusted: every
 * index and length is checked, and a request that gets no proper answer
 * in time fails instead of waiting forever.
 */

#define pr_fmt(fmt) "pvkit: " fmt

#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/kstrtox.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/reboot.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <asm/pvkit.h>
#include <uapi/linux/pvkit_store.h>

#include "store.h"

#define PVKIT_STORE_RING_SIZE		1024
#define PVKIT_STORE_RING_MASK		(PVKIT_STORE_RING_SIZE - 1)
/* Watch events waiting for their callbacks; more are dropped. */
#define PVKIT_STORE_MAX_EVENTS		256
/* Messages one pass of the receive work takes before yielding. */
#define PVKIT_STORE_RX_BUDGET		64

/* Message types of the xenstore wire protocol this client uses. */
#define PVKIT_XS_DIRECTORY		1
#define PVKIT_XS_READ			2
#define PVKIT_XS_WATCH			4
#define PVKIT_XS_UNWATCH		5
#define PVKIT_XS_TRANSACTION_START	6
#define PVKIT_XS_TRANSACTION_END	7
#define PVKIT_XS_WRITE			11
#define PVKIT_XS_RM			13
#define PVKIT_XS_WATCH_EVENT		15
#define PVKIT_XS_ERROR			16

/* The ring page (Xen's struct xenstore_domain_interface). */
struct pvkit_store_ring {
	u8 req[PVKIT_STORE_RING_SIZE];
	u8 rsp[PVKIT_STORE_RING_SIZE];
	u32 req_cons;
	u32 req_prod;
	u32 rsp_cons;
	u32 rsp_prod;
	u32 server_features;
	u32 connection;
	u32 error;
};

/* Message header (Xen's struct xsd_sockmsg). */
struct pvkit_store_msg {
	u32 type;
	u32 req_id;
	u32 tx_id;
	u32 len;
};

static struct pvkit_store_ring *pvkit_store_ring;
static unsigned int pvkit_store_port;
static DEFINE_MUTEX(pvkit_store_lock);
static DECLARE_WAIT_QUEUE_HEAD(pvkit_store_wq);
/* Under pvkit_store_lock: */
static u32 pvkit_store_req_id;
static bool pvkit_store_broken;
static char *pvkit_store_reply;	/* PVKIT_STORE_PAYLOAD_MAX bytes */

/* A watch event taken from the ring, waiting for its callback. */
struct pvkit_store_event {
	struct list_head list;
	u32 token;
	char path[];
};

static LIST_HEAD(pvkit_store_events);
static unsigned int pvkit_store_nr_events;
static DEFINE_SPINLOCK(pvkit_store_events_lock);

/* Registered watches; held while a callback runs. */
static LIST_HEAD(pvkit_store_watches);
static DEFINE_MUTEX(pvkit_store_watch_lock);
static u32 pvkit_store_next_token;

static void pvkit_store_rx(struct work_struct *work);
static void pvkit_store_dispatch(struct work_struct *work);
static DECLARE_WORK(pvkit_store_rx_work, pvkit_store_rx);
static DECLARE_WORK(pvkit_store_dispatch_work, pvkit_store_dispatch);

static irqreturn_t pvkit_store_interrupt(int irq, void *dev_id)
{
	/* A request in flight reads its reply; otherwise the work does. */
	wake_up(&pvkit_store_wq);
	schedule_work(&pvkit_store_rx_work);
	return IRQ_HANDLED;
}

/* The host flagged the ring as unusable, or broke the index rules. */
static bool pvkit_store_ring_bad(void)
{
	struct pvkit_store_ring *r = pvkit_store_ring;

	return READ_ONCE(r->error) ||
	       READ_ONCE(r->req_prod) - READ_ONCE(r->req_cons) >
			PVKIT_STORE_RING_SIZE ||
	       READ_ONCE(r->rsp_prod) - READ_ONCE(r->rsp_cons) >
			PVKIT_STORE_RING_SIZE;
}

static bool pvkit_store_can_write(void)
{
	struct pvkit_store_ring *r = pvkit_store_ring;

	return pvkit_store_ring_bad() ||
	       READ_ONCE(r->req_prod) - READ_ONCE(r->req_cons) <
			PVKIT_STORE_RING_SIZE;
}

static bool pvkit_store_can_read(void)
{
	struct pvkit_store_ring *r = pvkit_store_ring;

	return pvkit_store_ring_bad() ||
	       READ_ONCE(r->rsp_prod) != READ_ONCE(r->rsp_cons);
}

/*
 * Wait for @cond until @deadline.  Return: 0, -ETIMEDOUT, or -EIO when
 * the ring turned out to be bad.
 */
static int pvkit_store_wait(bool (*cond)(void), unsigned long deadline)
{
	long left = (long)(deadline - jiffies);

	if (left <= 0 && !cond())
		return -ETIMEDOUT;
	if (left > 0 && !wait_event_timeout(pvkit_store_wq, cond(), left))
		return -ETIMEDOUT;
	return pvkit_store_ring_bad() ? -EIO : 0;
}

/* Put @len bytes into the request ring, waiting for space as needed. */
static int pvkit_store_put(const void *data, size_t len,
			   unsigned long deadline)
{
	struct pvkit_store_ring *r = pvkit_store_ring;
	const u8 *p = data;
	u32 prod, cons, off, n;
	int ret;

	while (len) {
		ret = pvkit_store_wait(pvkit_store_can_write, deadline);
		if (ret)
			return ret;
		prod = READ_ONCE(r->req_prod);
		/*
		 * Acquire: the host is done reading the bytes before cons
		 * once we see it (pairs with its release store of req_cons),
		 * so we may overwrite them.
		 */
		cons = smp_load_acquire(&r->req_cons);
		if (prod - cons > PVKIT_STORE_RING_SIZE)
			return -EIO;
		off = prod & PVKIT_STORE_RING_MASK;
		n = min3(len, (size_t)(PVKIT_STORE_RING_SIZE - (prod - cons)),
			 (size_t)(PVKIT_STORE_RING_SIZE - off));
		memcpy(&r->req[off], p, n);
		/*
		 * Release: the bytes are in the ring before the host sees the
		 * new req_prod (pairs with its acquire load of req_prod).
		 */
		smp_store_release(&r->req_prod, prod + n);
		pvkit_evtchn_send(pvkit_store_port);
		p += n;
		len -= n;
	}
	return 0;
}

/* Take @len bytes from the reply ring, waiting for them as needed. */
static int pvkit_store_get(void *data, size_t len, unsigned long deadline)
{
	struct pvkit_store_ring *r = pvkit_store_ring;
	u8 *p = data;
	u32 prod, cons, off, n;
	int ret;

	while (len) {
		ret = pvkit_store_wait(pvkit_store_can_read, deadline);
		if (ret)
			return ret;
		cons = READ_ONCE(r->rsp_cons);
		/*
		 * Acquire: the host wrote the bytes before rsp_prod (pairs
		 * with its release store of rsp_prod), so they are complete.
		 */
		prod = smp_load_acquire(&r->rsp_prod);
		if (prod - cons > PVKIT_STORE_RING_SIZE)
			return -EIO;
		off = cons & PVKIT_STORE_RING_MASK;
		n = min3(len, (size_t)(prod - cons),
			 (size_t)(PVKIT_STORE_RING_SIZE - off));
		memcpy(p, &r->rsp[off], n);
		/*
		 * Release: our reads of the bytes are done before the host
		 * sees the new rsp_cons and reuses them (pairs with its
		 * acquire load of rsp_cons).
		 */
		smp_store_release(&r->rsp_cons, cons + n);
		pvkit_evtchn_send(pvkit_store_port);
		p += n;
		len -= n;
	}
	return 0;
}

static const struct {
	const char *name;
	int err;
} pvkit_store_errors[] = {
	{ "EINVAL", EINVAL }, { "EACCES", EACCES }, { "EEXIST", EEXIST },
	{ "EISDIR", EISDIR }, { "ENOENT", ENOENT }, { "ENOMEM", ENOMEM },
	{ "ENOSPC", ENOSPC }, { "EIO", EIO }, { "ENOTEMPTY", ENOTEMPTY },
	/* The store does not serve the request type: not a syscall's ENOSYS. */
	{ "ENOSYS", EOPNOTSUPP }, { "EROFS", EROFS }, { "EBUSY", EBUSY },
	{ "EAGAIN", EAGAIN }, { "EISCONN", EISCONN }, { "E2BIG", E2BIG },
	{ "EPERM", EPERM },
};

/* The errno an XS_ERROR payload names; -EIO for anything else. */
static int pvkit_store_error(const char *payload, u32 len)
{
	unsigned int i;

	if (!len || payload[len - 1])
		return -EIO;
	for (i = 0; i < ARRAY_SIZE(pvkit_store_errors); i++)
		if (!strcmp(payload, pvkit_store_errors[i].name))
			return -pvkit_store_errors[i].err;
	return -EIO;
}

/*
 * Queue the watch event in pvkit_store_reply (payload "path\0token\0")
 * for its callback.  Malformed events, and events beyond the queue's
 * limit, are dropped.  Context: pvkit_store_lock.
 */
static void pvkit_store_queue_event(u32 len)
{
	const char *path = pvkit_store_reply, *token;
	struct pvkit_store_event *ev;
	size_t plen, tlen;
	u32 tok;

	plen = strnlen(path, len);
	if (plen + 1 >= len)
		return;
	token = path + plen + 1;
	tlen = strnlen(token, len - plen - 1);
	if (plen + 1 + tlen >= len || kstrtou32(token, 16, &tok))
		return;
	ev = kmalloc(struct_size(ev, path, plen + 1), GFP_KERNEL);
	if (!ev)
		return;
	ev->token = tok;
	memcpy(ev->path, path, plen + 1);

	spin_lock(&pvkit_store_events_lock);
	if (pvkit_store_nr_events < PVKIT_STORE_MAX_EVENTS) {
		list_add_tail(&ev->list, &pvkit_store_events);
		pvkit_store_nr_events++;
		ev = NULL;
	}
	spin_unlock(&pvkit_store_events_lock);
	if (ev) {
		pr_warn_ratelimited("store: watch event queue full, event dropped\n");
		kfree(ev);
		return;
	}
	schedule_work(&pvkit_store_dispatch_work);
}

/*
 * Take one message into @msg and pvkit_store_reply.  Return: 0,
 * -ETIMEDOUT when nothing at all came (nothing is lost), or another
 * negative errno when the connection is lost.  Context: pvkit_store_lock.
 */
static int pvkit_store_recv(struct pvkit_store_msg *msg,
			    unsigned long deadline)
{
	int ret;

	ret = pvkit_store_wait(pvkit_store_can_read, deadline);
	if (ret == -ETIMEDOUT)
		return ret;
	if (!ret)
		ret = pvkit_store_get(msg, sizeof(*msg), deadline);
	/* A message we cannot hold leaves us out of step for good. */
	if (!ret && msg->len > PVKIT_STORE_PAYLOAD_MAX)
		ret = -EIO;
	if (!ret)
		ret = pvkit_store_get(pvkit_store_reply, msg->len, deadline);
	if (!ret && msg->type == PVKIT_XS_WATCH_EVENT)
		pvkit_store_queue_event(msg->len);
	if (ret) {
		/* Even a timeout here: we are in the middle of a message. */
		ret = ret == -ETIMEDOUT ? -EIO : ret;
		pvkit_store_broken = true;
		pr_err("store: connection lost (%d)\n", ret);
	}
	return ret;
}

/*
 * Send one request made of two parts (either may be empty), inside
 * transaction @tx (PVKIT_XBT_NULL: none), and wait for its reply.
 * Return: the reply's length, its payload in pvkit_store_reply, or a
 * negative errno.  Context: pvkit_store_lock.
 */
static int pvkit_store_request(u32 type, u32 tx, const void *a, size_t alen,
			       const void *b, size_t blen)
{
	unsigned long deadline = jiffies + PVKIT_STORE_TIMEOUT;
	struct pvkit_store_msg msg;
	u32 id;
	int ret;

	lockdep_assert_held(&pvkit_store_lock);
	if (!pvkit_store_ring)
		return -ENODEV;
	if (pvkit_store_broken)
		return -EIO;
	if (alen + blen > PVKIT_STORE_PAYLOAD_MAX)
		return -E2BIG;

	id = ++pvkit_store_req_id;
	if (!id)	/* 0 is what watch events carry */
		id = ++pvkit_store_req_id;
	msg = (struct pvkit_store_msg){ .type = type, .req_id = id,
					.tx_id = tx, .len = alen + blen };
	ret = pvkit_store_put(&msg, sizeof(msg), deadline);
	if (!ret)
		ret = pvkit_store_put(a, alen, deadline);
	if (!ret)
		ret = pvkit_store_put(b, blen, deadline);
	if (ret)
		goto broken;	/* a partial request desynchronises the ring */

	for (;;) {
		/* On a timeout, a late reply is skipped next time. */
		ret = pvkit_store_recv(&msg, deadline);
		if (ret)
			return ret;
		/* Watch events (queued by recv) and stale replies. */
		if (msg.type == PVKIT_XS_WATCH_EVENT || msg.req_id != id)
			continue;
		if (msg.type == PVKIT_XS_ERROR)
			return pvkit_store_error(pvkit_store_reply, msg.len);
		if (msg.type != type || msg.tx_id != tx)
			return -EIO;
		return msg.len;
	}

broken:
	pvkit_store_broken = true;
	pr_err("store: connection lost (%d)\n", ret);
	return ret;
}

/* Take what the host sent while no request was in flight. */
static void pvkit_store_rx(struct work_struct *work)
{
	struct pvkit_store_msg msg;
	unsigned int n;

	mutex_lock(&pvkit_store_lock);
	for (n = 0; n < PVKIT_STORE_RX_BUDGET; n++) {
		if (!pvkit_store_ring || pvkit_store_broken ||
		    !pvkit_store_can_read())
			break;
		/* Watch events are queued; stale replies are dropped. */
		if (pvkit_store_recv(&msg, jiffies + PVKIT_STORE_TIMEOUT))
			break;
	}
	if (n == PVKIT_STORE_RX_BUDGET)
		schedule_work(&pvkit_store_rx_work);
	mutex_unlock(&pvkit_store_lock);
}

/* Run the callbacks of queued watch events, in order. */
static void pvkit_store_dispatch(struct work_struct *work)
{
	struct pvkit_store_event *ev;
	struct pvkit_store_watch *w;

	for (;;) {
		spin_lock(&pvkit_store_events_lock);
		ev = list_first_entry_or_null(&pvkit_store_events,
					      struct pvkit_store_event, list);
		if (ev) {
			list_del(&ev->list);
			pvkit_store_nr_events--;
		}
		spin_unlock(&pvkit_store_events_lock);
		if (!ev)
			return;

		/* The token is the host's word: look it up, never trust it. */
		mutex_lock(&pvkit_store_watch_lock);
		list_for_each_entry(w, &pvkit_store_watches, list) {
			if (w->token == ev->token) {
				w->callback(w, ev->path);
				break;
			}
		}
		mutex_unlock(&pvkit_store_watch_lock);
		kfree(ev);
		cond_resched();
	}
}

/* Check a caller's path; return its length including the terminator. */
static int pvkit_store_path_len(const char *path)
{
	size_t len = strnlen(path, PVKIT_STORE_PATH_MAX + 1);

	if (!len || len > PVKIT_STORE_PATH_MAX)
		return -EINVAL;
	return len + 1;
}

/* A request whose only payload is @path; the reply goes to @buf. */
static int pvkit_store_path_op(u32 type, u32 tx, const char *path, char *buf,
			       size_t len)
{
	int plen = pvkit_store_path_len(path);
	int ret;

	if (plen < 0)
		return plen;
	mutex_lock(&pvkit_store_lock);
	ret = pvkit_store_request(type, tx, path, plen, NULL, 0);
	if (ret >= 0 && buf) {
		if ((size_t)ret > len)
			ret = -EOVERFLOW;
		else
			memcpy(buf, pvkit_store_reply, ret);
	}
	mutex_unlock(&pvkit_store_lock);
	return ret;
}

int pvkit_store_do_read(u32 tx, const char *path, char *buf, size_t len)
{
	return pvkit_store_path_op(PVKIT_XS_READ, tx, path, buf, len);
}

int pvkit_store_do_directory(u32 tx, const char *path, char *buf, size_t len)
{
	int ret = pvkit_store_path_op(PVKIT_XS_DIRECTORY, tx, path, buf, len);

	/* Names each end with a NUL; a listing that does not is garbage. */
	if (ret > 0 && buf[ret - 1])
		return -EIO;
	return ret;
}

int pvkit_store_do_write(u32 tx, const char *path, const void *value,
			 size_t len)
{
	int plen = pvkit_store_path_len(path);
	int ret;

	if (plen < 0)
		return plen;
	mutex_lock(&pvkit_store_lock);
	ret = pvkit_store_request(PVKIT_XS_WRITE, tx, path, plen, value, len);
	mutex_unlock(&pvkit_store_lock);
	return ret < 0 ? ret : 0;
}

/**
 * pvkit_store_read() - read a node's value
 * @path: absolute, or relative to /local/domain/1
 * @buf: receives the value and a NUL after it
 * @len: size of @buf
 *
 * Context: process context; sleeps (at most about 10 s).
 * Return: the value's length (without the NUL), or a negative errno: the
 * store's error (-ENOENT, -EACCES, ...), -EOVERFLOW when @buf cannot hold
 * the value and a NUL, -EIO or -ETIMEDOUT when the host does not answer
 * properly, -ENODEV without a store.
 */
int pvkit_store_read(const char *path, char *buf, size_t len)
{
	return pvkit_store_tx_read(PVKIT_XBT_NULL, path, buf, len);
}
EXPORT_SYMBOL_GPL(pvkit_store_read);

/**
 * pvkit_store_write() - create or change a node
 * @path: absolute, or relative to /local/domain/1
 * @value: the new value, a string (stored without its NUL)
 *
 * Context: process context; sleeps (at most about 10 s).
 * Return: 0 or a negative errno, as for pvkit_store_read().
 */
int pvkit_store_write(const char *path, const char *value)
{
	return pvkit_store_do_write(PVKIT_XBT_NULL, path, value, strlen(value));
}
EXPORT_SYMBOL_GPL(pvkit_store_write);

/**
 * pvkit_store_directory() - list a node's children
 * @path: absolute, or relative to /local/domain/1
 * @buf: receives the names, each followed by a NUL
 * @len: size of @buf
 *
 * Context: process context; sleeps (at most about 10 s).
 * Return: the bytes stored in @buf (0: no children), or a negative errno,
 * as for pvkit_store_read().
 */
int pvkit_store_directory(const char *path, char *buf, size_t len)
{
	return pvkit_store_do_directory(PVKIT_XBT_NULL, path, buf, len);
}
EXPORT_SYMBOL_GPL(pvkit_store_directory);

/**
 * pvkit_store_rm() - remove a node and everything below it
 * @path: absolute, or relative to /local/domain/1
 *
 * Context: process context; sleeps (at most about 10 s).
 * Return: 0 or a negative errno, as for pvkit_store_read().
 */
int pvkit_store_rm(const char *path)
{
	return pvkit_store_tx_rm(PVKIT_XBT_NULL, path);
}
EXPORT_SYMBOL_GPL(pvkit_store_rm);

/**
 * pvkit_store_transaction_start() - start a transaction
 * @tx: receives the transaction's id, for the pvkit_store_tx_*() calls
 *
 * A transaction sees the store as it was when it started, plus its own
 * changes; pvkit_store_transaction_end() applies them all or none.  The
 * store keeps only a few open transactions per guest: end every one.
 *
 * Context: process context; sleeps (at most about 10 s).
 * Return: 0 or a negative errno, as for pvkit_store_read() (-ENOSPC: too
 * many open transactions).
 */
int pvkit_store_transaction_start(u32 *tx)
{
	u32 id;
	int ret;

	mutex_lock(&pvkit_store_lock);
	/* The payload is empty or "\0": send the terminator, as Xen does. */
	ret = pvkit_store_request(PVKIT_XS_TRANSACTION_START, PVKIT_XBT_NULL,
				  "", 1, NULL, 0);
	if (ret >= 0) {
		/* "<decimal id>\0"; 0 would mean no transaction at all. */
		if (!ret || pvkit_store_reply[ret - 1] ||
		    kstrtou32(pvkit_store_reply, 10, &id) || !id)
			ret = -EIO;
		else
			*tx = id;
	}
	mutex_unlock(&pvkit_store_lock);
	return ret < 0 ? ret : 0;
}
EXPORT_SYMBOL_GPL(pvkit_store_transaction_start);

/**
 * pvkit_store_transaction_end() - commit or abort a transaction
 * @tx: id from pvkit_store_transaction_start()
 * @commit: true to apply the transaction's changes, false to drop them
 *
 * The transaction is over after this call whatever the result.
 *
 * Context: process context; sleeps (at most about 10 s).
 * Return: 0; -EAGAIN when the commit conflicts with a change made since
 * the transaction started (nothing was applied: redo the whole
 * transaction, reads included); or another negative errno, as for
 * pvkit_store_read().
 */
int pvkit_store_transaction_end(u32 tx, bool commit)
{
	int ret;

	if (tx == PVKIT_XBT_NULL)
		return -EINVAL;
	mutex_lock(&pvkit_store_lock);
	ret = pvkit_store_request(PVKIT_XS_TRANSACTION_END, tx,
				  commit ? "T" : "F", 2, NULL, 0);
	mutex_unlock(&pvkit_store_lock);
	return ret < 0 ? ret : 0;
}
EXPORT_SYMBOL_GPL(pvkit_store_transaction_end);

/**
 * pvkit_store_tx_read() - read a node's value inside a transaction
 * @tx: transaction id, or PVKIT_XBT_NULL
 * @path: absolute, or relative to /local/domain/1
 * @buf: receives the value and a NUL after it
 * @len: size of @buf
 *
 * Context: process context; sleeps (at most about 10 s).
 * Return: as for pvkit_store_read().
 */
int pvkit_store_tx_read(u32 tx, const char *path, char *buf, size_t len)
{
	int ret;

	if (!len)
		return -EOVERFLOW;
	ret = pvkit_store_do_read(tx, path, buf, len - 1);
	if (ret >= 0)
		buf[ret] = '\0';
	return ret;
}
EXPORT_SYMBOL_GPL(pvkit_store_tx_read);

/**
 * pvkit_store_tx_write() - create or change a node inside a transaction
 * @tx: transaction id, or PVKIT_XBT_NULL
 * @path: absolute, or relative to /local/domain/1
 * @value: the new value, a string (stored without its NUL)
 *
 * Context: process context; sleeps (at most about 10 s).
 * Return: 0 or a negative errno, as for pvkit_store_read().
 */
int pvkit_store_tx_write(u32 tx, const char *path, const char *value)
{
	return pvkit_store_do_write(tx, path, value, strlen(value));
}
EXPORT_SYMBOL_GPL(pvkit_store_tx_write);

/**
 * pvkit_store_tx_directory() - list a node's children inside a transaction
 * @tx: transaction id, or PVKIT_XBT_NULL
 * @path: absolute, or relative to /local/domain/1
 * @buf: receives the names, each followed by a NUL
 * @len: size of @buf
 *
 * Context: process context; sleeps (at most about 10 s).
 * Return: as for pvkit_store_directory().
 */
int pvkit_store_tx_directory(u32 tx, const char *path, char *buf, size_t len)
{
	return pvkit_store_do_directory(tx, path, buf, len);
}
EXPORT_SYMBOL_GPL(pvkit_store_tx_directory);

/**
 * pvkit_store_tx_rm() - remove a node and its subtree inside a transaction
 * @tx: transaction id, or PVKIT_XBT_NULL
 * @path: absolute, or relative to /local/domain/1
 *
 * Context: process context; sleeps (at most about 10 s).
 * Return: 0 or a negative errno, as for pvkit_store_read().
 */
int pvkit_store_tx_rm(u32 tx, const char *path)
{
	int ret = pvkit_store_path_op(PVKIT_XS_RM, tx, path, NULL, 0);

	return ret < 0 ? ret : 0;
}
EXPORT_SYMBOL_GPL(pvkit_store_tx_rm);

/* WATCH or UNWATCH: path\0 token\0, the token in hex. */
static int pvkit_store_watch_op(u32 type, struct pvkit_store_watch *watch)
{
	int plen = pvkit_store_path_len(watch->path);
	char token[9];
	int ret;

	if (plen < 0)
		return plen;
	snprintf(token, sizeof(token), "%x", watch->token);
	mutex_lock(&pvkit_store_lock);
	ret = pvkit_store_request(type, PVKIT_XBT_NULL, watch->path, plen, token,
				  strlen(token) + 1);
	mutex_unlock(&pvkit_store_lock);
	return ret < 0 ? ret : 0;
}

/**
 * pvkit_store_watch() - call back when a node or its subtree changes
 * @watch: @watch->path (absolute, or relative to /local/domain/1) and
 *         @watch->callback set by the caller; both must stay valid until
 *         pvkit_store_unwatch()
 *
 * The callback runs in process context (a work item), one at a time, with
 * the path that changed; it may make store requests but must not add or
 * remove watches.  It runs once soon after registration, as in xenstore.
 *
 * Context: process context; sleeps (at most about 10 s).
 * Return: 0 or a negative errno, as for pvkit_store_read().
 */
int pvkit_store_watch(struct pvkit_store_watch *watch)
{
	int ret;

	mutex_lock(&pvkit_store_watch_lock);
	watch->token = ++pvkit_store_next_token;
	list_add_tail(&watch->list, &pvkit_store_watches);
	mutex_unlock(&pvkit_store_watch_lock);

	ret = pvkit_store_watch_op(PVKIT_XS_WATCH, watch);
	if (ret) {
		mutex_lock(&pvkit_store_watch_lock);
		list_del(&watch->list);
		mutex_unlock(&pvkit_store_watch_lock);
	}
	return ret;
}
EXPORT_SYMBOL_GPL(pvkit_store_watch);

/**
 * pvkit_store_unwatch() - remove a watch
 * @watch: a watch pvkit_store_watch() accepted
 *
 * When this returns, the callback is not running and will not run again
 * for @watch, even if the host fails to remove the watch.
 *
 * Context: process context; sleeps (at most about 10 s).
 */
void pvkit_store_unwatch(struct pvkit_store_watch *watch)
{
	pvkit_store_watch_op(PVKIT_XS_UNWATCH, watch);
	mutex_lock(&pvkit_store_watch_lock);
	list_del(&watch->list);
	mutex_unlock(&pvkit_store_watch_lock);
}
EXPORT_SYMBOL_GPL(pvkit_store_unwatch);

/*
 * Disconnect before a kexec'd kernel gets the memory: the host would go
 * on writing replies and watch events into the ring page.  Requests made
 * after this time out.
 */
static int pvkit_store_reboot(struct notifier_block *nb, unsigned long action,
			      void *data)
{
	pvkit_hypercall(PVKIT_HC_STORE_SETUP, 0, 0, 0, 0, 0);
	return NOTIFY_DONE;
}

static struct notifier_block pvkit_store_reboot_nb = {
	.notifier_call	= pvkit_store_reboot,
};

static int __init pvkit_store_init(void)
{
	struct page *page;
	long port;
	int irq, ret;

	if (!pvkit_available() || !(pvkit_features() & PVKIT_F_STORE) ||
	    !(pvkit_features() & PVKIT_F_EVTCHN))
		return 0;

	pvkit_store_reply = kmalloc(PVKIT_STORE_PAYLOAD_MAX, GFP_KERNEL);
	page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!pvkit_store_reply || !page) {
		ret = -ENOMEM;
		goto err_free;
	}
	port = pvkit_hypercall(PVKIT_HC_STORE_SETUP, page_to_phys(page),
			       0, 0, 0, 0);
	if (port <= 0) {
		pr_err("store: setup refused (%ld)\n", port);
		ret = -EIO;
		goto err_free;
	}
	irq = pvkit_evtchn_bind_existing(port);
	if (irq < 0) {
		ret = irq;
		goto err_disconnect;
	}
	pvkit_store_port = port;
	pvkit_store_ring = page_address(page);
	ret = request_irq(irq, pvkit_store_interrupt, 0, "pvkit-store", NULL);
	if (ret)
		goto err_unbind;
	register_reboot_notifier(&pvkit_store_reboot_nb);
	ret = pvkit_store_dev_register();
	if (ret)
		pr_warn("store: no /dev/pvkit_store (%d)\n", ret);
	pr_info("store: connected on port %ld\n", port);
	return 0;

err_unbind:
	pvkit_store_ring = NULL;
	pvkit_evtchn_unbind(irq);
err_disconnect:
	pvkit_hypercall(PVKIT_HC_STORE_SETUP, 0, 0, 0, 0, 0);
err_free:
	if (page)
		__free_page(page);
	kfree(pvkit_store_reply);
	pvkit_store_reply = NULL;
	return ret;
}
device_initcall(pvkit_store_init);
