// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit store client: requests to the host's xenstore.
 *
 * The guest gives the host one page for Xen's xenstore ring (requests
 * from offset 0, replies from 1024, free-running indexes after them) and
 * gets back an event channel both sides notify after moving an index.
 *
 * Several requests may be in flight at once, from any number of threads.
 * Each gets an id (the wire header's req_id, which the host echoes in its
 * reply) and waits on its own completion.  Writers take turns on the
 * request ring only while they copy their message into it.  One reader,
 * the threaded handler of the event channel, takes every message from the
 * reply ring: a reply goes to the request with its id, a watch event to
 * the watch queue.  The queue is run by one ordered worker that holds no
 * lock while a callback runs, so callbacks may make requests and add or
 * remove watches.
 *
 * The host is not trusted: every index and length is checked; a reply
 * nobody waits for, or one we cannot parse, is logged and dropped; a
 * request that gets no proper answer in time fails instead of waiting
 * forever.
 */

#define pr_fmt(fmt) "pvkit: " fmt

#include <linux/completion.h>
#include <linux/debugfs.h>
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
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/syscore_ops.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <linux/pvkit_evtchn.h>
#include <linux/pvkit_store.h>
#include <uapi/linux/pvkit_store.h>

#include "store.h"

#define PVKIT_STORE_RING_SIZE		1024
#define PVKIT_STORE_RING_MASK		(PVKIT_STORE_RING_SIZE - 1)
/* Watch events waiting for their callbacks; more are dropped. */
#define PVKIT_STORE_MAX_EVENTS		256
/* Messages the reader takes before it lets the host know and yields. */
#define PVKIT_STORE_RX_BATCH		64

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

/**
 * struct pvkit_store_req - a request waiting for its reply
 * @type: the request's message type; the reply must have it too
 * @tx: the request's transaction; the reply must name it too
 * @buf: where the reply's payload goes; NULL: nowhere, only its length
 * @len: room at @buf
 * @result: set by the reader: the payload's length or a negative errno
 * @done: completed by the reader once @result is set
 *
 * Lives on the requester's stack.  It is in pvkit_store_reqs, under its
 * id, from before the request is sent until the reader completes it or
 * the requester gives up; both take it out under the xarray's lock, so
 * the reader never touches one whose requester has returned.
 */
struct pvkit_store_req {
	u32 type;
	u32 tx;
	char *buf;
	size_t len;
	int result;
	struct completion done;
};

static struct pvkit_store_ring *pvkit_store_ring;
static unsigned int pvkit_store_port;
/* The protocol is out of step for good: every request fails. */
static bool pvkit_store_broken;
/* Wakes writers waiting for room in the request ring. */
static DECLARE_WAIT_QUEUE_HEAD(pvkit_store_wq);
/* Serialises writers of the request ring, one whole message each. */
static DEFINE_MUTEX(pvkit_store_send_lock);

/* Requests in flight by id; ids are handed out cyclically from 1. */
static DEFINE_XARRAY_ALLOC1(pvkit_store_reqs);
static u32 pvkit_store_next_id;

/*
 * Counters for debugfs (pvkit_store/stats).  Under the xarray's lock:
 * in_flight and in_flight_max.  The rest are only added to.
 */
static struct {
	atomic_long_t requests;		/* messages sent */
	atomic_long_t overlapped;	/* sent while another was in flight */
	atomic_long_t replies;		/* matched to their request */
	atomic_long_t timeouts;
	atomic_long_t dropped;		/* replies nobody waited for, garbage */
	atomic_long_t events;		/* watch events queued */
	atomic_long_t events_dropped;	/* malformed, or the queue was full */
	unsigned int in_flight;
	unsigned int in_flight_max;
} pvkit_store_stats;

/* The reader's message in progress; only the reader thread uses it. */
static struct {
	struct pvkit_store_msg hdr;
	u32 got;		/* bytes of header and payload taken so far */
	u32 skip;		/* bytes of an oversized payload still to drop */
	char *payload;		/* PVKIT_STORE_PAYLOAD_MAX bytes */
} pvkit_store_rx;

/* A watch event taken from the ring, waiting for its callback. */
struct pvkit_store_event {
	struct list_head list;
	u32 token;
	char path[];
};

static LIST_HEAD(pvkit_store_events);
static unsigned int pvkit_store_nr_events;
/* An event was dropped: every watch hears of its own path once more. */
static bool pvkit_store_events_lost;
static DEFINE_SPINLOCK(pvkit_store_events_lock);

/*
 * Registered watches and the one whose callback runs, under a spinlock
 * that is never held across a callback.  pvkit_store_unwatch() waits on
 * the queue head for the running callback of its watch to end.
 */
static LIST_HEAD(pvkit_store_watches);
static DEFINE_SPINLOCK(pvkit_store_watch_lock);
static struct pvkit_store_watch *pvkit_store_running;
static DECLARE_WAIT_QUEUE_HEAD(pvkit_store_running_wq);
static u32 pvkit_store_next_token;

static void pvkit_store_dispatch(struct work_struct *work);
static DECLARE_WORK(pvkit_store_dispatch_work, pvkit_store_dispatch);
/* Ordered: one callback at a time, in the order the events came. */
static struct workqueue_struct *pvkit_store_watch_wq;

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

/* Fail every request in flight and all later ones. */
static void pvkit_store_break(int err)
{
	struct pvkit_store_req *req;
	unsigned long id;

	if (!xchg(&pvkit_store_broken, true))
		pr_err("store: connection lost (%d)\n", err);
	xa_lock(&pvkit_store_reqs);
	xa_for_each(&pvkit_store_reqs, id, req) {
		__xa_erase(&pvkit_store_reqs, id);
		pvkit_store_stats.in_flight--;
		req->result = -EIO;
		complete(&req->done);
	}
	xa_unlock(&pvkit_store_reqs);
	wake_up_all(&pvkit_store_wq);
}

static bool pvkit_store_can_write(void)
{
	struct pvkit_store_ring *r = pvkit_store_ring;

	return READ_ONCE(pvkit_store_broken) || pvkit_store_ring_bad() ||
	       READ_ONCE(r->req_prod) - READ_ONCE(r->req_cons) <
			PVKIT_STORE_RING_SIZE;
}

/*
 * Put @len bytes into the request ring, waiting for room as needed.
 * Context: pvkit_store_send_lock.
 */
static int pvkit_store_put(const void *data, size_t len,
			   unsigned long deadline)
{
	struct pvkit_store_ring *r = pvkit_store_ring;
	const u8 *p = data;
	u32 prod, cons, off, n;
	long left;

	while (len) {
		if (READ_ONCE(pvkit_store_broken) || pvkit_store_ring_bad())
			return -EIO;
		/* Ours: only writers under pvkit_store_send_lock move it. */
		prod = READ_ONCE(r->req_prod);
		/*
		 * Acquire: the host is done reading the bytes before cons
		 * once we see it (pairs with the release store of req_cons
		 * in the host's ring_take()), so we may overwrite them.
		 */
		cons = virt_load_acquire(&r->req_cons);
		if (prod - cons > PVKIT_STORE_RING_SIZE)
			return -EIO;
		if (prod - cons == PVKIT_STORE_RING_SIZE) {
			/* Full: have the host take what is there, then wait. */
			pvkit_evtchn_send(pvkit_store_port);
			left = (long)(deadline - jiffies);
			if (left <= 0 ||
			    !wait_event_timeout(pvkit_store_wq,
						pvkit_store_can_write(), left))
				return -ETIMEDOUT;
			continue;
		}
		off = prod & PVKIT_STORE_RING_MASK;
		n = min3(len, (size_t)(PVKIT_STORE_RING_SIZE - (prod - cons)),
			 (size_t)(PVKIT_STORE_RING_SIZE - off));
		memcpy(&r->req[off], p, n);
		/*
		 * Release: the bytes are in the ring before the host sees the
		 * new req_prod (pairs with the acquire load of req_prod in the
		 * host's ring_take()).
		 */
		virt_store_release(&r->req_prod, prod + n);
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * Take up to @want bytes from the reply ring into @dst (NULL: drop them).
 * Return: the count (0: the ring is empty), or -EIO for bad indexes.
 * Context: the reader.
 */
static int pvkit_store_take(void *dst, u32 want)
{
	struct pvkit_store_ring *r = pvkit_store_ring;
	u32 prod, cons, off, n;

	/* Ours: only the reader moves it. */
	cons = READ_ONCE(r->rsp_cons);
	/*
	 * Acquire: the host wrote the bytes before rsp_prod (pairs with the
	 * release store of rsp_prod in the host's pvkit_xs_push()), so the
	 * bytes we see it cover are complete.
	 */
	prod = virt_load_acquire(&r->rsp_prod);
	if (prod - cons > PVKIT_STORE_RING_SIZE)
		return -EIO;
	off = cons & PVKIT_STORE_RING_MASK;
	n = min3(want, prod - cons, (u32)(PVKIT_STORE_RING_SIZE - off));
	if (!n)
		return 0;
	if (dst)
		memcpy(dst, &r->rsp[off], n);
	/*
	 * Release: our reads of the bytes are done before the host sees the
	 * new rsp_cons and reuses them (pairs with the acquire load of
	 * rsp_cons in the host's pvkit_xs_push()).
	 */
	virt_store_release(&r->rsp_cons, cons + n);
	return n;
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
 * Queue a watch event (payload "path\0token\0") for its callback.
 * Malformed events, and events beyond the queue's limit, are dropped.
 */
static void pvkit_store_queue_event(const char *path, u32 len)
{
	struct pvkit_store_event *ev;
	const char *token;
	size_t plen, tlen;
	u32 tok;

	plen = strnlen(path, len);
	if (plen + 1 >= len)
		goto bad;
	token = path + plen + 1;
	tlen = strnlen(token, len - plen - 1);
	if (plen + 1 + tlen >= len || kstrtou32(token, 16, &tok))
		goto bad;
	ev = kmalloc(struct_size(ev, path, plen + 1), GFP_KERNEL);
	if (!ev)
		goto dropped;
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
		goto dropped;
	}
	atomic_long_inc(&pvkit_store_stats.events);
	queue_work(pvkit_store_watch_wq, &pvkit_store_dispatch_work);
	return;
bad:
	pr_warn_ratelimited("store: malformed watch event dropped\n");
	atomic_long_inc(&pvkit_store_stats.events_dropped);
	return;
dropped:
	/*
	 * A watcher that looks only at the path that changed would never
	 * hear of this change: once the queue drains, each watch is told
	 * of its own path, as when it was set, so it looks at everything.
	 */
	spin_lock(&pvkit_store_events_lock);
	pvkit_store_events_lost = true;
	spin_unlock(&pvkit_store_events_lock);
	atomic_long_inc(&pvkit_store_stats.events_dropped);
	queue_work(pvkit_store_watch_wq, &pvkit_store_dispatch_work);
}

/*
 * Queue an event with its own path for every watch, after events were
 * dropped.  Returns false (and leaves the loss recorded) when memory is
 * short: the next event retries.  Context: the watch worker.
 */
static bool pvkit_store_replay_watches(void)
{
	struct pvkit_store_event *ev, *next;
	struct pvkit_store_watch *w;
	LIST_HEAD(replay);
	bool ok = true;

	spin_lock(&pvkit_store_watch_lock);
	list_for_each_entry(w, &pvkit_store_watches, list) {
		size_t len = strlen(w->path) + 1;

		ev = kmalloc(struct_size(ev, path, len), GFP_ATOMIC);
		if (!ev) {
			ok = false;
			break;
		}
		ev->token = w->token;
		memcpy(ev->path, w->path, len);
		list_add_tail(&ev->list, &replay);
	}
	spin_unlock(&pvkit_store_watch_lock);
	if (!ok) {
		list_for_each_entry_safe(ev, next, &replay, list)
			kfree(ev);
		return false;
	}
	spin_lock(&pvkit_store_events_lock);
	list_for_each_entry(ev, &replay, list)
		pvkit_store_nr_events++;
	list_splice_tail(&replay, &pvkit_store_events);
	spin_unlock(&pvkit_store_events_lock);
	return true;
}

/*
 * Hand a whole reply to the request with its id: its payload, or the
 * error it names (-EIO when @payload is NULL: it was too long to take).
 * A reply nobody waits for (late, or made up) is dropped.  Context: the
 * reader.
 */
static void pvkit_store_deliver(const struct pvkit_store_msg *hdr,
				const char *payload)
{
	struct pvkit_store_req *req;

	xa_lock(&pvkit_store_reqs);
	req = hdr->req_id ? xa_load(&pvkit_store_reqs, hdr->req_id) : NULL;
	if (!req) {
		xa_unlock(&pvkit_store_reqs);
		atomic_long_inc(&pvkit_store_stats.dropped);
		pr_warn_ratelimited("store: reply (type %u) to unknown request %u dropped\n",
				    hdr->type, hdr->req_id);
		return;
	}
	if (!payload) {
		req->result = -EIO;
	} else if (hdr->type == PVKIT_XS_ERROR) {
		req->result = pvkit_store_error(payload, hdr->len);
	} else if (hdr->type != req->type || hdr->tx_id != req->tx) {
		pr_warn_ratelimited("store: reply (type %u, tx %u) does not match request %u\n",
				    hdr->type, hdr->tx_id, hdr->req_id);
		req->result = -EIO;
	} else if (req->buf && hdr->len > req->len) {
		req->result = -EOVERFLOW;
	} else {
		if (req->buf)
			memcpy(req->buf, payload, hdr->len);
		req->result = hdr->len;
	}
	__xa_erase(&pvkit_store_reqs, hdr->req_id);
	pvkit_store_stats.in_flight--;
	complete(&req->done);
	xa_unlock(&pvkit_store_reqs);
	atomic_long_inc(&pvkit_store_stats.replies);
}

/*
 * Take what the reply ring holds, message by message, possibly across
 * several calls.  Return: true when it took bytes, false when the ring is
 * empty.  Context: the reader.
 */
static bool pvkit_store_rx_one(void)
{
	struct pvkit_store_msg *hdr = &pvkit_store_rx.hdr;
	u32 hsize = sizeof(*hdr);
	int n;

	if (pvkit_store_rx.skip) {
		n = pvkit_store_take(NULL, pvkit_store_rx.skip);
		if (n > 0)
			pvkit_store_rx.skip -= n;
		goto out;
	}
	if (pvkit_store_rx.got < hsize) {
		n = pvkit_store_take((u8 *)hdr + pvkit_store_rx.got,
				     hsize - pvkit_store_rx.got);
		if (n <= 0)
			goto out;
		pvkit_store_rx.got += n;
		if (pvkit_store_rx.got < hsize)
			return true;
		if (hdr->len > PVKIT_STORE_PAYLOAD_MAX) {
			/*
			 * Longer than any message may be: drop its payload as
			 * it comes, so the next header is found.
			 */
			pr_warn_ratelimited("store: message of %u bytes dropped\n",
					    hdr->len);
			if (hdr->type == PVKIT_XS_WATCH_EVENT)
				atomic_long_inc(&pvkit_store_stats.events_dropped);
			else
				pvkit_store_deliver(hdr, NULL);
			pvkit_store_rx.skip = hdr->len;
			pvkit_store_rx.got = 0;
			return true;
		}
	}
	n = pvkit_store_take(pvkit_store_rx.payload + pvkit_store_rx.got - hsize,
			     hsize + hdr->len - pvkit_store_rx.got);
	if (n < 0)
		goto out;
	pvkit_store_rx.got += n;
	if (pvkit_store_rx.got < hsize + hdr->len)
		return n > 0;
	pvkit_store_rx.got = 0;
	if (hdr->type == PVKIT_XS_WATCH_EVENT)
		pvkit_store_queue_event(pvkit_store_rx.payload, hdr->len);
	else
		pvkit_store_deliver(hdr, pvkit_store_rx.payload);
	return true;
out:
	if (n < 0)
		pvkit_store_break(n);
	return n > 0;
}

/* Hard interrupt: wake writers waiting for room, then run the reader. */
static irqreturn_t pvkit_store_interrupt(int irq, void *dev_id)
{
	wake_up(&pvkit_store_wq);
	return IRQ_WAKE_THREAD;
}

/*
 * The reader: the interrupt's thread.  An event that arrives while it is
 * busy makes it go round once more, so nothing the host adds after its
 * last look at the ring is missed.
 */
static irqreturn_t pvkit_store_reader(int irq, void *dev_id)
{
	unsigned int n = 0;
	bool moved = false;

	while (!READ_ONCE(pvkit_store_broken)) {
		if (pvkit_store_ring_bad()) {
			pvkit_store_break(-EIO);
			break;
		}
		if (!pvkit_store_rx_one())
			break;
		moved = true;
		if (++n % PVKIT_STORE_RX_BATCH == 0) {
			/* The host may hold replies until there is room. */
			pvkit_evtchn_send(pvkit_store_port);
			moved = false;
			cond_resched();
		}
	}
	if (moved)
		pvkit_evtchn_send(pvkit_store_port);
	return IRQ_HANDLED;
}

/*
 * Send one request made of two parts (either may be empty), inside
 * transaction @tx (PVKIT_XBT_NULL: none), and wait for its reply.
 * Return: the reply's length, its payload in @buf unless that is NULL
 * (at most @len bytes: -EOVERFLOW for a longer one), or a negative errno.
 */
static int pvkit_store_request(u32 type, u32 tx, const void *a, size_t alen,
			       const void *b, size_t blen, void *buf,
			       size_t len)
{
	unsigned long deadline = jiffies + PVKIT_STORE_TIMEOUT;
	struct pvkit_store_req req = {
		.type = type, .tx = tx, .buf = buf, .len = len,
	};
	struct pvkit_store_msg msg;
	u32 id;
	long left;
	int ret;

	if (!pvkit_store_ring)
		return -ENODEV;
	if (READ_ONCE(pvkit_store_broken))
		return -EIO;
	if (alen + blen > PVKIT_STORE_PAYLOAD_MAX)
		return -E2BIG;
	init_completion(&req.done);

	/* Findable by the reader before the host can answer it. */
	xa_lock(&pvkit_store_reqs);
	ret = __xa_alloc_cyclic(&pvkit_store_reqs, &id, &req, xa_limit_32b,
				&pvkit_store_next_id, GFP_KERNEL);
	if (ret >= 0) {
		if (pvkit_store_stats.in_flight++)
			atomic_long_inc(&pvkit_store_stats.overlapped);
		pvkit_store_stats.in_flight_max =
			max(pvkit_store_stats.in_flight,
			    pvkit_store_stats.in_flight_max);
	}
	xa_unlock(&pvkit_store_reqs);
	if (ret < 0)
		return ret;

	msg = (struct pvkit_store_msg){ .type = type, .req_id = id,
					.tx_id = tx, .len = alen + blen };
	mutex_lock(&pvkit_store_send_lock);
	ret = pvkit_store_put(&msg, sizeof(msg), deadline);
	if (!ret)
		ret = pvkit_store_put(a, alen, deadline);
	if (!ret)
		ret = pvkit_store_put(b, blen, deadline);
	if (!ret)
		pvkit_evtchn_send(pvkit_store_port);
	mutex_unlock(&pvkit_store_send_lock);
	if (ret) {
		/* A partial request puts the host out of step. */
		pvkit_store_break(ret);
		goto out;
	}
	atomic_long_inc(&pvkit_store_stats.requests);

	left = (long)(deadline - jiffies);
	if (left > 0 && wait_for_completion_timeout(&req.done, left))
		return req.result;
	ret = -ETIMEDOUT;
out:
	/* Unless the reader (or a break) has just completed it: take it out. */
	xa_lock(&pvkit_store_reqs);
	if (xa_load(&pvkit_store_reqs, id) == &req) {
		__xa_erase(&pvkit_store_reqs, id);
		pvkit_store_stats.in_flight--;
		if (ret == -ETIMEDOUT)
			atomic_long_inc(&pvkit_store_stats.timeouts);
	} else {
		ret = req.result;
	}
	xa_unlock(&pvkit_store_reqs);
	return ret;
}

/* Remove @token's queued events: its watch is gone. */
static void pvkit_store_flush_events(u32 token)
{
	struct pvkit_store_event *ev, *next;
	LIST_HEAD(gone);

	spin_lock(&pvkit_store_events_lock);
	list_for_each_entry_safe(ev, next, &pvkit_store_events, list) {
		if (ev->token == token) {
			list_move(&ev->list, &gone);
			pvkit_store_nr_events--;
		}
	}
	spin_unlock(&pvkit_store_events_lock);
	list_for_each_entry_safe(ev, next, &gone, list)
		kfree(ev);
}

/* The watch worker: run the callbacks of queued events, in order. */
static void pvkit_store_dispatch(struct work_struct *work)
{
	struct pvkit_store_event *ev;
	struct pvkit_store_watch *w, *found;

	for (;;) {
		bool lost;

		spin_lock(&pvkit_store_events_lock);
		ev = list_first_entry_or_null(&pvkit_store_events,
					      struct pvkit_store_event, list);
		if (ev) {
			list_del(&ev->list);
			pvkit_store_nr_events--;
		}
		lost = !ev && pvkit_store_events_lost;
		if (lost)
			pvkit_store_events_lost = false;
		spin_unlock(&pvkit_store_events_lock);
		if (lost) {
			if (pvkit_store_replay_watches())
				continue;
			spin_lock(&pvkit_store_events_lock);
			pvkit_store_events_lost = true;
			spin_unlock(&pvkit_store_events_lock);
			return;
		}
		if (!ev)
			return;

		/* The token is the host's word: look it up, never trust it. */
		found = NULL;
		spin_lock(&pvkit_store_watch_lock);
		list_for_each_entry(w, &pvkit_store_watches, list) {
			if (w->token == ev->token) {
				found = w;
				break;
			}
		}
		pvkit_store_running = found;
		spin_unlock(&pvkit_store_watch_lock);

		/* No lock held: the callback may add and remove watches. */
		if (found)
			found->callback(found, ev->path);

		spin_lock(&pvkit_store_watch_lock);
		pvkit_store_running = NULL;
		spin_unlock(&pvkit_store_watch_lock);
		wake_up_all(&pvkit_store_running_wq);
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

	if (plen < 0)
		return plen;
	return pvkit_store_request(type, tx, path, plen, NULL, 0, buf, len);
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
	ret = pvkit_store_request(PVKIT_XS_WRITE, tx, path, plen, value, len,
				  NULL, 0);
	return ret < 0 ? ret : 0;
}

/**
 * pvkit_store_transaction_start() - start a transaction
 * @tx: receives the transaction's id, for the pvkit_store_*() calls
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
	char reply[16];
	u32 id;
	int ret;

	/* The payload is empty or "\0": send the terminator, as Xen does. */
	ret = pvkit_store_request(PVKIT_XS_TRANSACTION_START, PVKIT_XBT_NULL,
				  "", 1, NULL, 0, reply, sizeof(reply));
	if (ret == -EOVERFLOW)
		return -EIO;
	if (ret < 0)
		return ret;
	/* "<decimal id>\0"; 0 would mean no transaction at all. */
	if (!ret || reply[ret - 1] || kstrtou32(reply, 10, &id) || !id)
		return -EIO;
	*tx = id;
	return 0;
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
	ret = pvkit_store_request(PVKIT_XS_TRANSACTION_END, tx,
				  commit ? "T" : "F", 2, NULL, 0, NULL, 0);
	return ret < 0 ? ret : 0;
}
EXPORT_SYMBOL_GPL(pvkit_store_transaction_end);

/**
 * pvkit_store_read() - read a node's value
 * @tx: transaction id from pvkit_store_transaction_start(), or
 *      PVKIT_XBT_NULL for none
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
int pvkit_store_read(u32 tx, const char *path, char *buf, size_t len)
{
	int ret;

	if (!len)
		return -EOVERFLOW;
	ret = pvkit_store_do_read(tx, path, buf, len - 1);
	if (ret >= 0)
		buf[ret] = '\0';
	return ret;
}
EXPORT_SYMBOL_GPL(pvkit_store_read);

/**
 * pvkit_store_write() - create or change a node
 * @tx: transaction id, or PVKIT_XBT_NULL
 * @path: absolute, or relative to /local/domain/1
 * @value: the new value, a string (stored without its NUL)
 *
 * Context: process context; sleeps (at most about 10 s).
 * Return: 0 or a negative errno, as for pvkit_store_read().
 */
int pvkit_store_write(u32 tx, const char *path, const char *value)
{
	return pvkit_store_do_write(tx, path, value, strlen(value));
}
EXPORT_SYMBOL_GPL(pvkit_store_write);

/**
 * pvkit_store_directory() - list a node's children
 * @tx: transaction id, or PVKIT_XBT_NULL
 * @path: absolute, or relative to /local/domain/1
 * @buf: receives the names, each followed by a NUL
 * @len: size of @buf
 *
 * Context: process context; sleeps (at most about 10 s).
 * Return: the bytes stored in @buf (0: no children), or a negative errno,
 * as for pvkit_store_read().
 */
int pvkit_store_directory(u32 tx, const char *path, char *buf, size_t len)
{
	return pvkit_store_do_directory(tx, path, buf, len);
}
EXPORT_SYMBOL_GPL(pvkit_store_directory);

/**
 * pvkit_store_rm() - remove a node and everything below it
 * @tx: transaction id, or PVKIT_XBT_NULL
 * @path: absolute, or relative to /local/domain/1
 *
 * Context: process context; sleeps (at most about 10 s).
 * Return: 0 or a negative errno, as for pvkit_store_read().
 */
int pvkit_store_rm(u32 tx, const char *path)
{
	int ret = pvkit_store_path_op(PVKIT_XS_RM, tx, path, NULL, 0);

	return ret < 0 ? ret : 0;
}
EXPORT_SYMBOL_GPL(pvkit_store_rm);

/* WATCH or UNWATCH: path\0 token\0, the token in hex. */
static int pvkit_store_watch_op(u32 type, struct pvkit_store_watch *watch)
{
	int plen = pvkit_store_path_len(watch->path);
	char token[9];
	int ret;

	if (plen < 0)
		return plen;
	snprintf(token, sizeof(token), "%x", watch->token);
	ret = pvkit_store_request(type, PVKIT_XBT_NULL, watch->path, plen, token,
				  strlen(token) + 1, NULL, 0);
	return ret < 0 ? ret : 0;
}

/* A token no registered watch has.  Context: pvkit_store_watch_lock. */
static u32 pvkit_store_new_token(void)
{
	struct pvkit_store_watch *w;

again:
	if (!++pvkit_store_next_token)
		pvkit_store_next_token++;
	list_for_each_entry(w, &pvkit_store_watches, list)
		if (w->token == pvkit_store_next_token)
			goto again;
	return pvkit_store_next_token;
}

/*
 * Take @watch off the list, drop its queued events and wait until its
 * callback is not running, unless we are that callback: it cannot run
 * again after this.
 */
static void pvkit_store_forget(struct pvkit_store_watch *watch)
{
	spin_lock(&pvkit_store_watch_lock);
	list_del(&watch->list);
	spin_unlock(&pvkit_store_watch_lock);
	pvkit_store_flush_events(watch->token);
	if (current_work() == &pvkit_store_dispatch_work)
		return;
	wait_event(pvkit_store_running_wq,
		   READ_ONCE(pvkit_store_running) != watch);
}

/**
 * pvkit_store_watch() - call back when a node or its subtree changes
 * @watch: @watch->path (absolute, or relative to /local/domain/1) and
 *         @watch->callback set by the caller; both must stay valid until
 *         pvkit_store_unwatch()
 *
 * The callback runs in process context, on the store's watch worker:
 * one callback at a time, in the order the host sent the events, with
 * the path that changed (the watched node or one below it).  It may make
 * store requests and add or remove watches, its own included.  It runs
 * once soon after registration, as in xenstore.
 *
 * Context: process context, a watch callback included; sleeps (at most
 * about 10 s).
 * Return: 0 or a negative errno, as for pvkit_store_read().
 */
int pvkit_store_watch(struct pvkit_store_watch *watch)
{
	int ret;

	/* Listed first: the host sends the initial event before its reply. */
	spin_lock(&pvkit_store_watch_lock);
	watch->token = pvkit_store_new_token();
	list_add_tail(&watch->list, &pvkit_store_watches);
	spin_unlock(&pvkit_store_watch_lock);

	ret = pvkit_store_watch_op(PVKIT_XS_WATCH, watch);
	if (ret)
		pvkit_store_forget(watch);
	return ret;
}
EXPORT_SYMBOL_GPL(pvkit_store_watch);

/**
 * pvkit_store_unwatch() - remove a watch
 * @watch: a watch pvkit_store_watch() accepted
 *
 * When this returns, the callback will not run again for @watch, even if
 * the host fails to remove the watch; events still queued for it are
 * dropped.  Called from outside the callback, it first waits for a
 * running callback of @watch to return; called from @watch's own
 * callback, it does not wait (that callback must not touch @watch after
 * freeing it).
 *
 * Context: process context, a watch callback included; sleeps (at most
 * about 10 s).
 */
void pvkit_store_unwatch(struct pvkit_store_watch *watch)
{
	/* Its events sent before the reply are queued when this returns. */
	pvkit_store_watch_op(PVKIT_XS_UNWATCH, watch);
	pvkit_store_forget(watch);
}
EXPORT_SYMBOL_GPL(pvkit_store_unwatch);

#ifdef CONFIG_DEBUG_FS
static int pvkit_store_stats_show(struct seq_file *m, void *unused)
{
	unsigned int in_flight, in_flight_max;

	xa_lock(&pvkit_store_reqs);
	in_flight = pvkit_store_stats.in_flight;
	in_flight_max = pvkit_store_stats.in_flight_max;
	xa_unlock(&pvkit_store_reqs);
	seq_printf(m, "requests %ld\n",
		   atomic_long_read(&pvkit_store_stats.requests));
	seq_printf(m, "overlapped %ld\n",
		   atomic_long_read(&pvkit_store_stats.overlapped));
	seq_printf(m, "replies %ld\n",
		   atomic_long_read(&pvkit_store_stats.replies));
	seq_printf(m, "timeouts %ld\n",
		   atomic_long_read(&pvkit_store_stats.timeouts));
	seq_printf(m, "dropped %ld\n",
		   atomic_long_read(&pvkit_store_stats.dropped));
	seq_printf(m, "events %ld\n",
		   atomic_long_read(&pvkit_store_stats.events));
	seq_printf(m, "events_dropped %ld\n",
		   atomic_long_read(&pvkit_store_stats.events_dropped));
	seq_printf(m, "in_flight %u\n", in_flight);
	seq_printf(m, "in_flight_max %u\n", in_flight_max);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pvkit_store_stats);

/*
 * watch_nesting: a check of the watch rules, for the selftests.  Writing
 * a path sets a watch on it whose callback sets a second watch on the
 * same path; the second one's callback removes its own watch.  The write
 * succeeds once that happened, within the request timeout.
 */
struct pvkit_store_nesting {
	struct pvkit_store_watch outer;
	struct pvkit_store_watch inner;
	struct completion done;
	atomic_t inner_state;	/* 0: not set, 1: set, 2: removed */
	int outer_calls;
	int result;
};

static void pvkit_store_nesting_inner(struct pvkit_store_watch *watch,
				      const char *path)
{
	struct pvkit_store_nesting *t =
		container_of(watch, struct pvkit_store_nesting, inner);

	if (atomic_cmpxchg(&t->inner_state, 1, 2) == 1) {
		pvkit_store_unwatch(&t->inner);
		complete(&t->done);
	}
}

static void pvkit_store_nesting_outer(struct pvkit_store_watch *watch,
				      const char *path)
{
	struct pvkit_store_nesting *t =
		container_of(watch, struct pvkit_store_nesting, outer);

	if (t->outer_calls++)
		return;
	t->inner.path = t->outer.path;
	t->inner.callback = pvkit_store_nesting_inner;
	atomic_set(&t->inner_state, 1);
	t->result = pvkit_store_watch(&t->inner);
	if (t->result) {
		atomic_set(&t->inner_state, 0);
		complete(&t->done);
	}
}

static ssize_t pvkit_store_nesting_write(struct file *file,
					 const char __user *ubuf, size_t len,
					 loff_t *ppos)
{
	struct pvkit_store_nesting *t;
	char *path;
	int ret;

	path = memdup_user_nul(ubuf, min_t(size_t, len, PVKIT_STORE_PATH_MAX));
	if (IS_ERR(path))
		return PTR_ERR(path);
	path[strcspn(path, "\n")] = '\0';
	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t) {
		ret = -ENOMEM;
		goto out;
	}
	init_completion(&t->done);
	t->outer.path = path;
	t->outer.callback = pvkit_store_nesting_outer;
	ret = pvkit_store_watch(&t->outer);
	if (ret)
		goto out;
	if (!wait_for_completion_timeout(&t->done, PVKIT_STORE_TIMEOUT))
		ret = -ETIMEDOUT;
	else
		ret = t->result;
	/* From outside: waits for a running outer callback. */
	pvkit_store_unwatch(&t->outer);
	if (atomic_cmpxchg(&t->inner_state, 1, 2) == 1)
		pvkit_store_unwatch(&t->inner);
	/* An inner callback that removed its watch may still be returning. */
	flush_work(&pvkit_store_dispatch_work);
out:
	kfree(t);
	kfree(path);
	return ret ? ret : len;
}

static const struct file_operations pvkit_store_nesting_fops = {
	.owner	= THIS_MODULE,
	.write	= pvkit_store_nesting_write,
	.llseek	= noop_llseek,
};

/* /sys/kernel/debug/pvkit_store: counters, and the nesting check. */
static void __init pvkit_store_debugfs_init(void)
{
	struct dentry *dir = debugfs_create_dir("pvkit_store", NULL);

	debugfs_create_file("stats", 0400, dir, NULL, &pvkit_store_stats_fops);
	debugfs_create_file("watch_nesting", 0200, dir, NULL,
			    &pvkit_store_nesting_fops);
}
#else
static inline void pvkit_store_debugfs_init(void) { }
#endif

/*
 * Disconnect before a kexec'd kernel gets the memory: the host would go
 * on writing replies and watch events into the ring page.  This runs from
 * syscore_shutdown(), after device_shutdown(): the bus needs the store to
 * close its devices.  Requests made after this time out.
 */
static void pvkit_store_shutdown(void *data)
{
	long ret = pvkit_hypercall(PVKIT_HC_STORE_SETUP, 0, 0, 0, 0, 0);

	if (ret)
		pr_err("store: shutdown: the host kept the ring (%ld)\n", ret);
}

static const struct syscore_ops pvkit_store_syscore_ops = {
	.shutdown	= pvkit_store_shutdown,
};

static struct syscore pvkit_store_syscore = {
	.ops	= &pvkit_store_syscore_ops,
};

static int __init pvkit_store_init(void)
{
	struct page *page;
	long port;
	int irq, ret;

	if (!pvkit_available() || !(pvkit_features() & PVKIT_F_STORE) ||
	    !(pvkit_features() & PVKIT_F_EVTCHN))
		return 0;

	pvkit_store_rx.payload = kmalloc(PVKIT_STORE_PAYLOAD_MAX, GFP_KERNEL);
	pvkit_store_watch_wq = alloc_ordered_workqueue("pvkit-store-watch", 0);
	page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!pvkit_store_rx.payload || !pvkit_store_watch_wq || !page) {
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
	ret = request_threaded_irq(irq, pvkit_store_interrupt,
				   pvkit_store_reader, 0, "pvkit-store", NULL);
	if (ret)
		goto err_unbind;
	register_syscore(&pvkit_store_syscore);
	ret = pvkit_store_dev_register();
	if (ret)
		pr_warn("store: no /dev/pvkit_store (%d)\n", ret);
	pvkit_store_debugfs_init();
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
	if (pvkit_store_watch_wq)
		destroy_workqueue(pvkit_store_watch_wq);
	kfree(pvkit_store_rx.payload);
	pvkit_store_rx.payload = NULL;
	return ret;
}
device_initcall(pvkit_store_init);
