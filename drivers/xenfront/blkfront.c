// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit block frontend: disks the host offers on the pvkit bus.
 *
 * A device of type "vbd" is a disk served by a backend (on the kit's
 * reference host, QEMU's own xen-block) through a shared ring in the
 * blkif format (<linux/pvkit_blkif.h>): the frontend puts requests in
 * the ring, each naming the granted pages that hold its data, and the
 * backend answers in the same slots.  An event channel carries the
 * notifications both ways, and both sides suppress them while the other
 * is known to be busy (req_event/rsp_event).  The frontend asks for an
 * interrupt only once half of what the backend owes has been answered,
 * so completions of a deep queue arrive in batches.
 *
 * A disk has one ring per vCPU, up to the backend's limit
 * ("multi-queue-max-queues") and max_queues: one blk-mq hardware queue
 * each, with its own event channel, so vCPUs do not share a lock or an
 * interrupt.  Each ring spans up to 2^max_ring_page_order pages when the
 * backend takes that many ("max-ring-page-order"), for a deeper queue.
 * A request
 * larger than the 11 segments a slot holds goes as an indirect request
 * when the backend offers "feature-max-indirect-segments": its segments
 * are written to a page of the tag's own, granted once per connection
 * and reused by every request with that tag.  The data pages themselves
 * are granted per request: the reference host copies through grants
 * rather than mapping them, so keeping them granted would save nothing.
 *
 * The grant references for all that are reserved when the disk connects:
 * each ring sets aside a reference per page its tags can name at once
 * (and per indirect page), and takes them under its own lock, so a
 * request never waits for a reference and never takes one another
 * device needs.  A disk takes at most half of the references free when
 * it connects, and at most an eighth of the table, leaving room for the
 * devices after it (a NIC holds its references for good): when its full
 * size does not fit it connects with fewer tags, then with fewer queues,
 * then without indirect requests; when not even one ring of one tag
 * fits, it waits until references come back.
 *
 * The request tag is the id on the wire and indexes the ring's in-flight
 * table; a ring has as many slots as its hardware queue has tags, so a
 * request with a tag always finds a slot.
 *
 * The backend is not trusted.  A response with an id that is not in
 * flight, the wrong operation, a status the protocol does not have or an
 * index that runs past the ring marks the ring and the disk broken:
 * everything in flight on that ring fails, new requests fail on every
 * ring (what the others have in flight is answered or times out), and
 * the guest goes on.  A grant is
 * revoked before its request completes, so a page is never reused while
 * the backend may still touch it.
 */

#define pr_fmt(fmt) "pvkit-blkfront: " fmt

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/idr.h>
#include <linux/interrupt.h>
#include <linux/llist.h>
#include <linux/module.h>
#include <linux/pvkit_bus.h>
#include <linux/pvkit_evtchn.h>
#include <linux/pvkit_gnttab.h>
#include <linux/pvkit_ring.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <uapi/linux/pvkit_blkif.h>

#define PVKIT_BLK_MINORS	16	/* per disk: the disk and 15 partitions */
#define PVKIT_BLK_RING_HDR	sizeof(struct pvkit_ring_header)
/* How long a disconnect waits for the backend to finish what it has. */
#define PVKIT_BLK_DRAIN_MS	5000
/* Fewest tags per queue before a disk gives up queues or segments. */
#define PVKIT_BLK_MIN_DEPTH	8

static_assert(sizeof(struct pvkit_blkif_request) == 112);
static_assert(sizeof(struct pvkit_blkif_discard) <= PVKIT_BLKIF_SLOT_SIZE);
static_assert(sizeof(struct pvkit_blkif_indirect) == 64);
static_assert(sizeof(struct pvkit_blkif_response) == 16);
static_assert(sizeof(struct pvkit_ring_header) == 64);
static_assert(PVKIT_BLKIF_SEGS_PER_INDIRECT_PAGE *
	      sizeof(struct pvkit_blkif_segment) == PAGE_SIZE);

/*
 * The defaults bound what one ring can hold granted at once to 128 slots
 * of 64 pages, 8192 references: half the guest's grant table (a disk
 * whose rings find the table full retries later).
 */
static unsigned int max_ring_page_order = 2;
module_param(max_ring_page_order, uint, 0444);
MODULE_PARM_DESC(max_ring_page_order,
		 "Largest ring, as log2 of its pages (0-4; the backend may allow less)");

static unsigned int max_queues = 4;
module_param(max_queues, uint, 0444);
MODULE_PARM_DESC(max_queues,
		 "Most rings per disk (one per vCPU; the backend may allow fewer)");

static unsigned int max_indirect_segments = 64;
module_param(max_indirect_segments, uint, 0444);
MODULE_PARM_DESC(max_indirect_segments,
		 "Most pages one request names, through indirect requests (0: none; at most 512)");

static int pvkit_blk_major;
static DEFINE_IDA(pvkit_blk_index);

/**
 * struct pvkit_blk_cmd - per-request state (the blk-mq PDU)
 * @done: entry in the disk's list of requests to complete
 * @sg: the request's data, one page per entry (bf->max_segs of them)
 * @gref: grant of each entry of @sg
 * @nr_grefs: entries of @gref holding a grant
 * @status: result to complete the request with
 * @renotified: its timeout has notified the backend once more
 * @held: finished, but the backend still holds one of its grants
 *
 * @sg and @gref point into the PDU, just after the structure.
 */
struct pvkit_blk_cmd {
	struct llist_node done;
	struct scatterlist *sg;
	int *gref;
	unsigned int nr_grefs;
	blk_status_t status;
	bool held;
	bool renotified;
};

/**
 * struct pvkit_blk_indirect_page - where one tag's indirect segments go
 * @page: the page, granted read-only to the backend for the connection
 * @gref: its grant
 */
struct pvkit_blk_indirect_page {
	struct page *page;
	int gref;
};

struct pvkit_blkfront;

/**
 * struct pvkit_blk_queue - one ring and its blk-mq hardware queue
 * @bf: the disk
 * @lock: protects the ring, @inflight, @connected and @broken
 * @sring: the shared ring, 2^bf->ring_order pages
 * @ring_ref: the grant of each ring page, or -1
 * @irq: event channel interrupt, or 0
 * @req_prod_pvt: requests written but not yet published
 * @req_pub: requests published (our copy: the shared one is the backend's
 *	to scribble on)
 * @rsp_cons: next response to read
 * @inflight: the request of each tag while the backend owns it
 * @done: requests finished under @lock, completed after it is dropped
 * @indirect: each tag's page of segments, when bf->max_segs exceeds a
 *	slot's
 * @resv: grant references for the requests' pages and the indirect pages
 * @connected: requests may be sent
 * @broken: the backend broke the protocol on this ring
 * @name: the interrupt's name
 */
struct pvkit_blk_queue {
	struct pvkit_blkfront *bf;
	spinlock_t lock;	/* the ring, @inflight, @connected, @broken */
	struct pvkit_ring_header *sring;
	int ring_ref[1 << PVKIT_BLKIF_MAX_RING_ORDER];
	int irq;
	u32 req_prod_pvt;
	u32 req_pub;
	u32 rsp_cons;
	struct request **inflight;
	struct llist_head done;
	struct pvkit_blk_indirect_page *indirect;
	struct pvkit_gnttab_resv resv;
	bool connected;
	bool broken;
	char name[32];
};

/**
 * struct pvkit_blkfront - one disk
 * @dev: the bus device
 * @queues: the rings
 * @nr_queues: entries of @queues
 * @ring_order: log2 of each ring's pages
 * @ring_size: slots in each ring, a power of two
 * @depth: tags per hardware queue, at most @ring_size: as many as the
 *	grant references reserved for each ring allow
 * @hw_queues: rings in use as blk-mq hardware queues, at most @nr_queues
 * @max_segs: pages one request may name
 * @grants_reserved: grant references the rings have reserved
 * @broken: a ring broke the protocol; no new I/O on any ring
 * @set: blk-mq tag set
 * @disk: the disk, once the backend has connected
 * @index: the disk's number (pvda is 0)
 * @sectors: capacity, 512-byte sectors
 * @flush: the backend takes PVKIT_BLKIF_OP_FLUSH
 * @discard: the backend takes PVKIT_BLKIF_OP_DISCARD
 * @read_only: the backend refuses writes
 * @bad_responses: responses dropped as impossible
 */
struct pvkit_blkfront {
	struct pvkit_bus_device *dev;
	struct pvkit_blk_queue *queues;
	unsigned int nr_queues;
	unsigned int ring_order;
	unsigned int ring_size;
	unsigned int depth;
	unsigned int hw_queues;
	unsigned int max_segs;
	unsigned int grants_reserved;
	bool broken;
	struct blk_mq_tag_set set;
	struct gendisk *disk;
	int index;
	u64 sectors;
	bool flush;
	bool discard;
	bool read_only;
	atomic_long_t bad_responses;
};

static void *pvkit_blk_slot(struct pvkit_blk_queue *q, u32 idx)
{
	return (u8 *)q->sring + PVKIT_BLK_RING_HDR +
	       (idx & (q->bf->ring_size - 1)) * PVKIT_BLKIF_SLOT_SIZE;
}

/*
 * Revoke the request's grants, their references back to the ring's
 * reservation; false if the backend still holds one.  The caller holds
 * q->lock.
 */
static bool pvkit_blk_revoke(struct pvkit_blk_queue *q,
			     struct pvkit_blk_cmd *cmd)
{
	unsigned int ref;

	while (cmd->nr_grefs) {
		ref = cmd->gref[cmd->nr_grefs - 1];
		if (pvkit_gnttab_end_access(ref))
			return false;
		pvkit_gnttab_unclaim(&q->resv, ref);
		cmd->nr_grefs--;
	}
	return true;
}

/*
 * Grant the @n pages mapped in @cmd->sg and describe them in @seg; the
 * references come from the ring's reservation (q->lock held).
 */
static int pvkit_blk_grant_segments(struct pvkit_blk_queue *q,
				    struct request *rq, unsigned int n,
				    struct pvkit_blkif_segment *seg)
{
	struct pvkit_blk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	bool readonly = req_op(rq) == REQ_OP_WRITE;
	struct scatterlist *sg;
	int i, ref, ret;

	for_each_sg(cmd->sg, sg, n, i) {
		unsigned int first = sg->offset >> PVKIT_BLKIF_SECTOR_SHIFT;
		unsigned int last = (sg->offset + sg->length - 1) >>
				    PVKIT_BLKIF_SECTOR_SHIFT;

		/*
		 * The reservation holds max_segs references per tag, so it
		 * never runs out; a failure means a bug, not a busy table.
		 */
		ref = pvkit_gnttab_claim(&q->resv);
		if (WARN_ON_ONCE(ref < 0))
			return -EIO;
		/* Queue limits keep each entry inside one page. */
		ret = pvkit_gnttab_grant_ref(ref, page_to_pfn(sg_page(sg)),
					     readonly);
		if (ret) {
			pvkit_gnttab_unclaim(&q->resv, ref);
			return ret;
		}
		cmd->gref[cmd->nr_grefs++] = ref;
		seg[i] = (struct pvkit_blkif_segment) {
			.gref = ref,
			.first_sect = first,
			.last_sect = last,
		};
	}
	return 0;
}

/*
 * A read or write of more pages than a slot holds: the segments go to
 * the tag's indirect page.  The page is free to rewrite: the backend
 * copies it while it takes the request, and the tag's previous request
 * has been answered.  The write barrier that publishes the slot
 * (pvkit_ring_push_requests()) orders the page's contents too.
 */
static int pvkit_blk_fill_indirect(struct pvkit_blk_queue *q,
				   struct request *rq, unsigned int n,
				   void *slot)
{
	struct pvkit_blk_indirect_page *ind = &q->indirect[rq->tag];
	struct pvkit_blkif_indirect req = {
		.operation = PVKIT_BLKIF_OP_INDIRECT,
		.indirect_op = req_op(rq) == REQ_OP_WRITE ?
			       PVKIT_BLKIF_OP_WRITE : PVKIT_BLKIF_OP_READ,
		.nr_segments = n,
		.id = rq->tag,
		.sector_number = blk_rq_pos(rq),
		.handle = q->bf->dev->devid,
		.indirect_grefs[0] = ind->gref,
	};
	int ret;

	ret = pvkit_blk_grant_segments(q, rq, n, page_address(ind->page));
	if (ret)
		return ret;
	memcpy(slot, &req, sizeof(req));
	return 0;
}

/* Write the request for @rq into the next ring slot. */
static int pvkit_blk_fill(struct pvkit_blk_queue *q, struct request *rq)
{
	struct pvkit_blkfront *bf = q->bf;
	struct pvkit_blk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	void *slot = pvkit_blk_slot(q, q->req_prod_pvt);
	struct pvkit_blkif_request req = {
		.handle = bf->dev->devid,
		.id = rq->tag,
		.sector_number = blk_rq_pos(rq),
	};
	struct pvkit_blkif_discard dis = {
		.operation = PVKIT_BLKIF_OP_DISCARD,
		.handle = bf->dev->devid,
		.id = rq->tag,
		.sector_number = blk_rq_pos(rq),
		.nr_sectors = blk_rq_sectors(rq),
	};
	int ret, n;

	switch (req_op(rq)) {
	case REQ_OP_DISCARD:
		memcpy(slot, &dis, sizeof(dis));
		return 0;
	case REQ_OP_FLUSH:
		req.operation = PVKIT_BLKIF_OP_FLUSH;
		break;
	case REQ_OP_READ:
		req.operation = PVKIT_BLKIF_OP_READ;
		break;
	case REQ_OP_WRITE:
		req.operation = PVKIT_BLKIF_OP_WRITE;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (req.operation != PVKIT_BLKIF_OP_FLUSH) {
		sg_init_table(cmd->sg, bf->max_segs);
		n = blk_rq_map_sg(rq->q, rq, cmd->sg);
		if (n > PVKIT_BLKIF_MAX_SEGMENTS)
			return pvkit_blk_fill_indirect(q, rq, n, slot);
		ret = pvkit_blk_grant_segments(q, rq, n, req.seg);
		if (ret)
			return ret;
		req.nr_segments = n;
	}
	memcpy(slot, &req, sizeof(req));
	return 0;
}

/* Publish the requests written so far; notify unless the backend polls. */
static void pvkit_blk_push(struct pvkit_blk_queue *q)
{
	q->req_pub = q->req_prod_pvt;
	if (pvkit_ring_push_requests(q->sring, q->req_prod_pvt))
		pvkit_evtchn_notify(q->irq);
}

static blk_status_t pvkit_blk_queue_rq(struct blk_mq_hw_ctx *hctx,
				       const struct blk_mq_queue_data *bd)
{
	struct pvkit_blk_queue *q = hctx->driver_data;
	struct request *rq = bd->rq;
	struct pvkit_blk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	unsigned long flags;
	int ret;

	cmd->nr_grefs = 0;
	cmd->status = BLK_STS_OK;
	cmd->renotified = false;
	cmd->held = false;
	blk_mq_start_request(rq);
	spin_lock_irqsave(&q->lock, flags);
	if (!q->connected || q->broken || READ_ONCE(q->bf->broken))
		goto ioerr;
	if (WARN_ON_ONCE(rq->tag >= q->bf->depth || q->inflight[rq->tag]))
		goto ioerr;
	ret = pvkit_blk_fill(q, rq);
	if (ret)
		goto ioerr;
	q->inflight[rq->tag] = rq;
	q->req_prod_pvt++;
	if (bd->last)
		pvkit_blk_push(q);
	spin_unlock_irqrestore(&q->lock, flags);
	return BLK_STS_OK;
ioerr:
	pvkit_blk_revoke(q, cmd);
	spin_unlock_irqrestore(&q->lock, flags);
	return BLK_STS_IOERR;
}

static void pvkit_blk_commit_rqs(struct blk_mq_hw_ctx *hctx)
{
	struct pvkit_blk_queue *q = hctx->driver_data;
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	if (q->connected && !q->broken)
		pvkit_blk_push(q);
	spin_unlock_irqrestore(&q->lock, flags);
}

/*
 * The backend has answered @rq, or it is failed: take its grants back and
 * queue it for completion once q->lock is dropped (completion may run
 * code that submits I/O).  A grant the backend still holds keeps the
 * request, and its pages, out of circulation: the timeout handler tries
 * again later.  The caller holds q->lock.
 */
static void pvkit_blk_finish(struct pvkit_blk_queue *q, struct request *rq,
			     blk_status_t status)
{
	struct pvkit_blk_cmd *cmd = blk_mq_rq_to_pdu(rq);

	q->inflight[rq->tag] = NULL;
	cmd->status = status;
	if (!pvkit_blk_revoke(q, cmd)) {
		dev_err_ratelimited(&q->bf->dev->dev,
				    "backend still holds a page of request %d\n",
				    rq->tag);
		cmd->held = true;
		return;
	}
	llist_add(&cmd->done, &q->done);
}

/* Complete what pvkit_blk_finish() queued; called without q->lock. */
static void pvkit_blk_complete_done(struct pvkit_blk_queue *q)
{
	struct llist_node *list = llist_del_all(&q->done);
	struct pvkit_blk_cmd *cmd, *next;

	/* In the order they finished: the list hands them back newest first. */
	list = llist_reverse_order(list);
	llist_for_each_entry_safe(cmd, next, list, done)
		blk_mq_complete_request(blk_mq_rq_from_pdu(cmd));
}

/* Fail everything the backend owns on @q; the caller holds q->lock. */
static void pvkit_blk_fail_inflight(struct pvkit_blk_queue *q)
{
	unsigned int i;

	for (i = 0; q->inflight && i < q->bf->ring_size; i++)
		if (q->inflight[i])
			pvkit_blk_finish(q, q->inflight[i], BLK_STS_IOERR);
}

/*
 * The backend broke the protocol on @q: stop talking to it there, and
 * send no new request on any ring.  The caller holds q->lock.
 */
static void pvkit_blk_set_broken(struct pvkit_blk_queue *q, const char *why,
				 u64 a, u64 b)
{
	struct pvkit_blkfront *bf = q->bf;

	atomic_long_inc(&bf->bad_responses);
	if (!q->broken)
		dev_err(&bf->dev->dev,
			"backend protocol error on ring %td: %s (%llu, %llu); disk fails all I/O\n",
			q - bf->queues, why, a, b);
	q->broken = true;
	WRITE_ONCE(bf->broken, true);
	pvkit_blk_fail_inflight(q);
}

/* The block status of a response's status; false if there is none. */
static bool pvkit_blk_status(s16 status, blk_status_t *sts)
{
	switch (status) {
	case PVKIT_BLKIF_RSP_OKAY:
		*sts = BLK_STS_OK;
		return true;
	case PVKIT_BLKIF_RSP_EOPNOTSUPP:
		*sts = BLK_STS_NOTSUPP;
		return true;
	case PVKIT_BLKIF_RSP_ERROR:
		*sts = BLK_STS_IOERR;
		return true;
	default:
		return false;
	}
}

/* Expected wire operation of an in-flight request. */
static u8 pvkit_blk_wire_op(struct request *rq)
{
	switch (req_op(rq)) {
	case REQ_OP_READ:
		return PVKIT_BLKIF_OP_READ;
	case REQ_OP_WRITE:
		return PVKIT_BLKIF_OP_WRITE;
	case REQ_OP_FLUSH:
		return PVKIT_BLKIF_OP_FLUSH;
	default:
		return PVKIT_BLKIF_OP_DISCARD;
	}
}

/* Take one response; false when it breaks the protocol. */
static bool pvkit_blk_response(struct pvkit_blk_queue *q, u32 idx)
{
	struct pvkit_blkif_response rsp;
	struct request *rq;
	blk_status_t sts;

	/* One copy: the backend may change the slot while we look. */
	memcpy(&rsp, pvkit_blk_slot(q, idx), sizeof(rsp));
	if (rsp.id >= q->bf->ring_size || !q->inflight[rsp.id]) {
		pvkit_blk_set_broken(q, "response for no request", rsp.id,
				     idx);
		return false;
	}
	rq = q->inflight[rsp.id];
	if (rsp.operation != pvkit_blk_wire_op(rq)) {
		pvkit_blk_set_broken(q, "response with another operation",
				     rsp.operation, pvkit_blk_wire_op(rq));
		return false;
	}
	if (!pvkit_blk_status(rsp.status, &sts)) {
		pvkit_blk_set_broken(q, "response with an impossible status",
				     (u16)rsp.status, rsp.id);
		return false;
	}
	pvkit_blk_finish(q, rq, sts);
	return true;
}

/*
 * Responses to wait for before the next interrupt: half of what the
 * backend owes on published requests, at least one.  A deep queue then
 * costs one interrupt per several completions, each waiting for at most
 * half the queue; the backend owes them all, so the event comes.
 */
static u32 pvkit_blk_batch(struct pvkit_blk_queue *q)
{
	return max(1u, (q->req_pub - q->rsp_cons) / 2);
}

/* Consume all responses; the caller holds q->lock. */
static void pvkit_blk_responses(struct pvkit_blk_queue *q)
{
	u32 prod;

	do {
		prod = READ_ONCE(q->sring->rsp_prod);
		/* Slots after the index; pairs with the backend's write
		 * barrier before it publishes rsp_prod.
		 */
		virt_rmb();
		if (prod - q->rsp_cons > q->req_prod_pvt - q->rsp_cons) {
			pvkit_blk_set_broken(q, "response index past requests",
					     prod, q->req_prod_pvt);
			return;
		}
		for (; q->rsp_cons != prod; q->rsp_cons++)
			if (!pvkit_blk_response(q, q->rsp_cons))
				return;
	} while (pvkit_ring_rearm_responses_after(q->sring, q->rsp_cons,
						  pvkit_blk_batch(q)));
}

static irqreturn_t pvkit_blk_interrupt(int irq, void *data)
{
	struct pvkit_blk_queue *q = data;
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	if (q->sring && !q->broken)
		pvkit_blk_responses(q);
	spin_unlock_irqrestore(&q->lock, flags);
	pvkit_blk_complete_done(q);
	return IRQ_HANDLED;
}

static void pvkit_blk_complete_rq(struct request *rq)
{
	struct pvkit_blk_cmd *cmd = blk_mq_rq_to_pdu(rq);

	blk_mq_end_request(rq, cmd->status);
}

/*
 * A request has waited a whole timeout.  Before giving up on the backend,
 * rule out a lost notification either way (as NVMe drivers check for a
 * missed interrupt): answers already in the ring are taken now; with
 * none, the backend is notified once more and the request gets one more
 * timeout.  Each case is logged with the ring's indexes: neither should
 * happen.  The caller holds q->lock.
 */
static enum blk_eh_timer_return
pvkit_blk_stalled(struct pvkit_blk_queue *q, struct request *rq)
{
	struct pvkit_blk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct pvkit_ring_header *r = q->sring;
	struct device *dev = &q->bf->dev->dev;

	dev_warn_ratelimited(dev,
			     "request %d unanswered: req_prod %u req_event %u rsp_prod %u rsp_event %u rsp_cons %u\n",
			     rq->tag, READ_ONCE(r->req_prod),
			     READ_ONCE(r->req_event), READ_ONCE(r->rsp_prod),
			     READ_ONCE(r->rsp_event), q->rsp_cons);
	if (READ_ONCE(r->rsp_prod) != q->rsp_cons) {
		dev_warn_ratelimited(dev, "answers waiting: taking them\n");
		pvkit_blk_responses(q);
		return q->inflight[rq->tag] == rq ? BLK_EH_RESET_TIMER :
						    BLK_EH_DONE;
	}
	if (cmd->renotified) {
		pvkit_blk_set_broken(q, "no answer in time", rq->tag,
				     q->rsp_cons);
		return BLK_EH_DONE;
	}
	cmd->renotified = true;
	pvkit_evtchn_notify(q->irq);
	return BLK_EH_RESET_TIMER;
}

/*
 * A backend that does not answer in time is treated as broken: a late
 * answer could no longer be matched safely, because the tag (the id on
 * the wire) may have been reused.  Everything in flight fails once its
 * grants are back; a request whose grant the backend still holds waits.
 */
static enum blk_eh_timer_return pvkit_blk_timeout(struct request *rq)
{
	struct pvkit_blk_queue *q = rq->mq_hctx->driver_data;
	struct pvkit_blk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	enum blk_eh_timer_return ret = BLK_EH_DONE;
	unsigned long flags;
	bool mine;

	spin_lock_irqsave(&q->lock, flags);
	mine = q->inflight && q->inflight[rq->tag] == rq;
	if (mine && !q->broken) {
		ret = pvkit_blk_stalled(q, rq);
	} else if (mine) {
		pvkit_blk_set_broken(q, "no answer in time", rq->tag,
				     q->rsp_cons);
	} else if (cmd->held) {
		if (pvkit_blk_revoke(q, cmd)) {
			cmd->held = false;
			llist_add(&cmd->done, &q->done);
		} else {
			ret = BLK_EH_RESET_TIMER;
		}
	}
	/* Otherwise it is finished and queued for completion already. */
	spin_unlock_irqrestore(&q->lock, flags);
	pvkit_blk_complete_done(q);
	return ret;
}

/* Hardware queue n is ring n. */
static int pvkit_blk_init_hctx(struct blk_mq_hw_ctx *hctx, void *data,
			       unsigned int hctx_idx)
{
	struct pvkit_blkfront *bf = data;

	hctx->driver_data = &bf->queues[hctx_idx];
	return 0;
}

/* Point the PDU's arrays at the space after it (see cmd_size). */
static int pvkit_blk_init_request(struct blk_mq_tag_set *set,
				  struct request *rq, unsigned int hctx_idx,
				  unsigned int numa_node)
{
	struct pvkit_blkfront *bf = set->driver_data;
	struct pvkit_blk_cmd *cmd = blk_mq_rq_to_pdu(rq);

	cmd->sg = (struct scatterlist *)(cmd + 1);
	cmd->gref = (int *)(cmd->sg + bf->max_segs);
	return 0;
}

static const struct blk_mq_ops pvkit_blk_mq_ops = {
	.queue_rq	= pvkit_blk_queue_rq,
	.commit_rqs	= pvkit_blk_commit_rqs,
	.complete	= pvkit_blk_complete_rq,
	.timeout	= pvkit_blk_timeout,
	.init_hctx	= pvkit_blk_init_hctx,
	.init_request	= pvkit_blk_init_request,
};

static const struct block_device_operations pvkit_blk_fops = {
	.owner		= THIS_MODULE,
};

/*
 * How many rings and how large: one per online vCPU and as many pages as
 * both sides allow.  Read before the rings are made, at InitWait.
 */
static void pvkit_blk_ring_geometry(struct pvkit_blkfront *bf)
{
	unsigned int backend_order = 0, backend_queues = 1;

	pvkit_bus_read_otherend_uint(bf->dev, "max-ring-page-order",
				     &backend_order);
	bf->ring_order = min3(backend_order, max_ring_page_order,
			      (unsigned int)PVKIT_BLKIF_MAX_RING_ORDER);
	pvkit_bus_read_otherend_uint(bf->dev, "multi-queue-max-queues",
				     &backend_queues);
	bf->nr_queues = max(1u, min3(backend_queues, max_queues,
				     num_online_cpus()));
}

/*
 * One ring, in one allocation so that its pages are consecutive for the
 * backend too, each granted read-write.  Memory too fragmented for the
 * size asked for gives every ring a smaller one.
 */
static int pvkit_blk_alloc_ring(struct pvkit_blk_queue *q)
{
	struct pvkit_blkfront *bf = q->bf;
	struct page *pages;
	unsigned int i;
	int ref;

	for (;;) {
		pages = alloc_pages(GFP_KERNEL | __GFP_ZERO |
				    (bf->ring_order ? __GFP_NOWARN : 0),
				    bf->ring_order);
		if (pages || !bf->ring_order || q != bf->queues)
			break;
		bf->ring_order--;
	}
	if (!pages)
		return -ENOMEM;
	/* The first ring settles the order: the largest power of two of
	 * slots that fits, as the backend computes it.
	 */
	if (q == bf->queues)
		bf->ring_size = 1u << ilog2(((PAGE_SIZE << bf->ring_order) -
					     PVKIT_BLK_RING_HDR) /
					    PVKIT_BLKIF_SLOT_SIZE);
	/* Each page goes back on its own, once its grant is revoked. */
	split_page(pages, bf->ring_order);
	q->sring = page_address(pages);
	q->sring->req_event = 1;
	q->sring->rsp_event = 1;
	q->req_prod_pvt = 0;
	q->req_pub = 0;
	q->rsp_cons = 0;
	q->inflight = kcalloc(bf->ring_size, sizeof(*q->inflight), GFP_KERNEL);
	if (!q->inflight)
		return -ENOMEM;
	for (i = 0; i < (1u << bf->ring_order); i++) {
		ref = pvkit_gnttab_grant(page_to_pfn(pages + i), false);
		if (ref < 0)
			return ref;
		q->ring_ref[i] = ref;
	}
	return 0;
}

/* The ring's event channel and interrupt, near the vCPUs it serves. */
static int pvkit_blk_alloc_irq(struct pvkit_blk_queue *q)
{
	struct pvkit_blkfront *bf = q->bf;
	unsigned int i = q - bf->queues;
	int ret;

	snprintf(q->name, sizeof(q->name), "%s-q%u", dev_name(&bf->dev->dev),
		 i);
	ret = pvkit_bus_bind_evtchn_handler(bf->dev, pvkit_blk_interrupt, 0,
					    q->name, q);
	if (ret < 0)
		return ret;
	q->irq = ret;
	/* blk-mq maps CPU n to hardware queue n when there is one each. */
	if (bf->nr_queues > 1 && cpu_online(i))
		irq_set_affinity_and_hint(q->irq, cpumask_of(i));
	return 0;
}

/*
 * Tell the backend where ring @q is: "ring-ref" for one page, else
 * "ring-ref0"..; "event-channel".  Below @dir: "" or "queue-<n>/".
 */
static int pvkit_blk_publish_queue(struct pvkit_blk_queue *q, const char *dir)
{
	struct pvkit_blkfront *bf = q->bf;
	unsigned int i, pages = 1u << bf->ring_order;
	char key[32];
	int ret = 0;

	for (i = 0; !ret && i < pages; i++) {
		if (pages == 1)
			snprintf(key, sizeof(key), "%sring-ref", dir);
		else
			snprintf(key, sizeof(key), "%sring-ref%u", dir, i);
		ret = pvkit_bus_printf(bf->dev, key, "%d", q->ring_ref[i]);
	}
	snprintf(key, sizeof(key), "%sevent-channel", dir);
	if (!ret)
		ret = pvkit_bus_printf(bf->dev, key, "%u",
				       pvkit_evtchn_port(q->irq));
	return ret;
}

/*
 * Publish every ring: one at the top of the directory, several each in
 * queue-<n>/ with "multi-queue-num-queues"; "ring-page-order" (when
 * above 0) and "protocol" hold for all.
 */
static int pvkit_blk_publish(struct pvkit_blkfront *bf)
{
	struct pvkit_bus_device *dev = bf->dev;
	char dir[sizeof("queue-4294967295/")] = "";
	unsigned int i;
	int ret = 0;

	if (bf->ring_order)
		ret = pvkit_bus_printf(dev, "ring-page-order", "%u",
				       bf->ring_order);
	if (!ret && bf->nr_queues > 1)
		ret = pvkit_bus_printf(dev, "multi-queue-num-queues", "%u",
				       bf->nr_queues);
	for (i = 0; !ret && i < bf->nr_queues; i++) {
		if (bf->nr_queues > 1)
			snprintf(dir, sizeof(dir), "queue-%u/", i);
		ret = pvkit_blk_publish_queue(&bf->queues[i], dir);
	}
	if (!ret)
		ret = pvkit_bus_printf(dev, "protocol", "%s",
				       PVKIT_BLKIF_PROTOCOL);
	return ret;
}

/* The rings, their grants and event channels; published to the store. */
static int pvkit_blk_setup_rings(struct pvkit_blkfront *bf)
{
	struct pvkit_blk_queue *q;
	unsigned int i, r;
	int ret;

	pvkit_blk_ring_geometry(bf);
	bf->queues = kcalloc(bf->nr_queues, sizeof(*bf->queues), GFP_KERNEL);
	if (!bf->queues)
		return -ENOMEM;
	for (i = 0; i < bf->nr_queues; i++) {
		q = &bf->queues[i];
		q->bf = bf;
		spin_lock_init(&q->lock);
		init_llist_head(&q->done);
		for (r = 0; r < ARRAY_SIZE(q->ring_ref); r++)
			q->ring_ref[r] = -1;
	}
	bf->broken = false;
	for (i = 0; i < bf->nr_queues; i++) {
		ret = pvkit_blk_alloc_ring(&bf->queues[i]);
		if (!ret)
			ret = pvkit_blk_alloc_irq(&bf->queues[i]);
		if (ret)
			return ret;
	}
	return pvkit_blk_publish(bf);
}

/*
 * Closing a port waits for upcalls that may still see it: close all the
 * rings' ports in one batch, one wait in all.  Without memory for the
 * list, one by one.
 */
static void pvkit_blk_free_irqs(struct pvkit_blkfront *bf)
{
	unsigned int i, n = 0, *irqs = NULL;
	struct pvkit_blk_queue *q;

	if (bf->queues)
		irqs = kcalloc(bf->nr_queues, sizeof(*irqs), GFP_KERNEL);
	for (i = 0; bf->queues && i < bf->nr_queues; i++) {
		q = &bf->queues[i];
		if (q->irq <= 0)
			continue;
		irq_update_affinity_hint(q->irq, NULL);
		free_irq(q->irq, q);
		if (irqs)
			irqs[n++] = q->irq;
		else
			pvkit_evtchn_unbind(q->irq);
		q->irq = 0;
	}
	pvkit_evtchn_unbind_many(irqs, n);
	kfree(irqs);
}

/* Give back the indirect pages, each once the backend lets go of it. */
static void pvkit_blk_free_indirect(struct pvkit_blk_queue *q)
{
	unsigned int i;

	if (!q->indirect)
		return;
	for (i = 0; i < q->bf->depth; i++)
		if (q->indirect[i].page)
			pvkit_gnttab_revoke_deferred(q->indirect[i].gref,
						     q->indirect[i].page);
	kfree(q->indirect);
	q->indirect = NULL;
}

/*
 * One page of indirect segments per tag of @q, granted read-only through
 * references of the ring's reservation.
 */
static int pvkit_blk_alloc_indirect(struct pvkit_blk_queue *q)
{
	unsigned int i;
	struct page *page;
	int ref, ret;

	q->indirect = kcalloc(q->bf->depth, sizeof(*q->indirect), GFP_KERNEL);
	if (!q->indirect)
		return -ENOMEM;
	for (i = 0; i < q->bf->depth; i++) {
		page = alloc_page(GFP_KERNEL);
		if (!page)
			return -ENOMEM;
		ref = pvkit_gnttab_claim(&q->resv);
		if (ref < 0) {
			__free_page(page);
			return ref;
		}
		ret = pvkit_gnttab_grant_ref(ref, page_to_pfn(page), true);
		if (ret) {
			pvkit_gnttab_unclaim(&q->resv, ref);
			__free_page(page);
			return ret;
		}
		q->indirect[i].page = page;
		q->indirect[i].gref = ref;
	}
	return 0;
}

/* Grant references one ring needs: a page per segment, an indirect page. */
static unsigned int pvkit_blk_refs_per_tag(unsigned int segs)
{
	return segs + (segs > PVKIT_BLKIF_MAX_SEGMENTS);
}

/*
 * The disk's size in grants: the most segments per request, hardware
 * queues and tags that fit in @budget references, in that order of
 * preference; a disk keeps at least PVKIT_BLK_MIN_DEPTH tags per queue
 * unless one queue of direct requests is all that fits.  False if not
 * even one tag fits.
 */
static bool pvkit_blk_size(struct pvkit_blkfront *bf, unsigned int segs,
			   unsigned int budget)
{
	const unsigned int direct = PVKIT_BLKIF_MAX_SEGMENTS;
	unsigned int s, hw, depth, min_depth;

	for (min_depth = PVKIT_BLK_MIN_DEPTH; min_depth; min_depth /= 8) {
		for (s = segs; s >= direct; s = s > direct ? direct : 0) {
			for (hw = bf->nr_queues; hw; hw = hw > 1 ? 1 : 0) {
				depth = budget / (hw * pvkit_blk_refs_per_tag(s));
				depth = min(depth, bf->ring_size);
				if (depth >= min_depth) {
					bf->max_segs = s;
					bf->hw_queues = hw;
					bf->depth = depth;
					return true;
				}
			}
		}
	}
	return false;
}

/*
 * Reserve the disk's grant references and grant the indirect pages.  A
 * disk works with few references (fewer tags, direct requests) but
 * does better with many, so its share is half of the free references
 * above a floor of a quarter of the table, and at most an eighth of the
 * table: the floor is left for devices that come later, above all
 * network queues, which cannot make do with less than a ring's worth.
 * A disk whose share is smaller than one queue of PVKIT_BLK_MIN_DEPTH
 * direct tags takes that much (or what is left) instead.  -EAGAIN:
 * too few are free, and the bus calls pvkit_blk_retry() when more are.
 */
static int pvkit_blk_reserve(struct pvkit_blkfront *bf)
{
	unsigned int backend = 0, segs, i, free, floor, share, least;
	struct pvkit_blk_queue *q;
	int ret = 0;

	pvkit_bus_read_otherend_uint(bf->dev, "feature-max-indirect-segments",
				     &backend);
	segs = min3(backend, max_indirect_segments,
		    (unsigned int)PVKIT_BLKIF_SEGS_PER_INDIRECT_PAGE);
	segs = max_t(unsigned int, segs, PVKIT_BLKIF_MAX_SEGMENTS);
	free = pvkit_gnttab_free_count();
	floor = pvkit_gnttab_nr_refs() / 4;
	share = free > floor ? min((free - floor) / 2,
				   pvkit_gnttab_nr_refs() / 8) : 0;
	least = PVKIT_BLK_MIN_DEPTH *
		pvkit_blk_refs_per_tag(PVKIT_BLKIF_MAX_SEGMENTS);
	if (!pvkit_blk_size(bf, segs, max(share, min(free, least))))
		goto wait;
	for (i = 0; !ret && i < bf->hw_queues; i++) {
		q = &bf->queues[i];
		ret = pvkit_gnttab_reserve(&q->resv, bf->depth *
					   pvkit_blk_refs_per_tag(bf->max_segs));
		if (!ret && bf->max_segs > PVKIT_BLKIF_MAX_SEGMENTS)
			ret = pvkit_blk_alloc_indirect(q);
	}
	if (!ret) {
		WRITE_ONCE(bf->grants_reserved, bf->hw_queues * bf->depth *
			   pvkit_blk_refs_per_tag(bf->max_segs));
		return 0;
	}
	for (i = 0; i < bf->hw_queues; i++) {
		pvkit_blk_free_indirect(&bf->queues[i]);
		pvkit_gnttab_unreserve(&bf->queues[i].resv);
	}
	/* Another device took them meanwhile: size the disk again. */
	if (ret != -ENOSPC)
		return ret;
wait:
	pvkit_bus_retry_when_grants_free(bf->dev, PVKIT_BLKIF_MAX_SEGMENTS, 1);
	dev_info_ratelimited(&bf->dev->dev,
			     "%u grant references free, too few: connecting once more are\n",
			     free);
	return -EAGAIN;
}

/* Give ring @q's pages back, each once its revoke goes through. */
static void pvkit_blk_release_queue(struct pvkit_blk_queue *q)
{
	unsigned int i;

	pvkit_blk_free_indirect(q);
	pvkit_gnttab_unreserve(&q->resv);
	for (i = 0; q->sring && i < (1u << q->bf->ring_order); i++) {
		struct page *page = virt_to_page(q->sring) + i;

		if (q->ring_ref[i] >= 0)
			pvkit_gnttab_revoke_deferred(q->ring_ref[i], page);
		else
			__free_page(page);
		q->ring_ref[i] = -1;
	}
	q->sring = NULL;
	kfree(q->inflight);
	q->inflight = NULL;
}

/*
 * Give up the rings after the backend has been told we are closed (it
 * unmaps them only then), however long the backend takes.
 */
static void pvkit_blk_release_rings(struct pvkit_blkfront *bf)
{
	unsigned int i;

	pvkit_blk_free_irqs(bf);
	for (i = 0; bf->queues && i < bf->nr_queues; i++)
		pvkit_blk_release_queue(&bf->queues[i]);
	kfree(bf->queues);
	bf->queues = NULL;
	bf->nr_queues = 0;
	bf->hw_queues = 0;
	WRITE_ONCE(bf->grants_reserved, 0);
	bf->ring_size = 0;
	bf->depth = 0;
}

/* Whether anything is still in flight on any ring. */
static bool pvkit_blk_busy(struct pvkit_blkfront *bf)
{
	struct pvkit_blk_queue *q;
	unsigned long flags;
	unsigned int i, t;
	bool busy = false;

	for (i = 0; bf->queues && i < bf->nr_queues && !busy; i++) {
		q = &bf->queues[i];
		spin_lock_irqsave(&q->lock, flags);
		for (t = 0; q->inflight && t < bf->ring_size && !busy; t++)
			busy = !!q->inflight[t];
		spin_unlock_irqrestore(&q->lock, flags);
	}
	return busy;
}

/* Let requests through on every ring, or stop them. */
static void pvkit_blk_set_connected(struct pvkit_blkfront *bf, bool on)
{
	struct pvkit_blk_queue *q;
	unsigned long flags;
	unsigned int i;

	for (i = 0; bf->queues && i < bf->nr_queues; i++) {
		q = &bf->queues[i];
		spin_lock_irqsave(&q->lock, flags);
		q->connected = on;
		spin_unlock_irqrestore(&q->lock, flags);
	}
}

/*
 * Stop I/O: new requests fail; what the backend holds gets a bounded time
 * to finish (unless the backend is gone), then fails.
 */
static void pvkit_blk_stop(struct pvkit_blkfront *bf, bool wait)
{
	struct pvkit_blk_queue *q;
	unsigned long flags;
	unsigned int i;
	int ms;

	pvkit_blk_set_connected(bf, false);
	for (ms = 0; wait && ms < PVKIT_BLK_DRAIN_MS && pvkit_blk_busy(bf);
	     ms += 20)
		msleep(20);
	for (i = 0; bf->queues && i < bf->nr_queues; i++) {
		q = &bf->queues[i];
		spin_lock_irqsave(&q->lock, flags);
		pvkit_blk_fail_inflight(q);
		spin_unlock_irqrestore(&q->lock, flags);
		pvkit_blk_complete_done(q);
	}
}

/* Tear down the disk and the event channels; the rings stay granted. */
static void pvkit_blk_disconnect(struct pvkit_blkfront *bf, bool wait)
{
	pvkit_blk_stop(bf, wait);
	pvkit_blk_free_irqs(bf);
	if (bf->disk) {
		blk_mark_disk_dead(bf->disk);
		del_gendisk(bf->disk);
		put_disk(bf->disk);
		bf->disk = NULL;
	}
	if (bf->set.tags) {
		blk_mq_free_tag_set(&bf->set);
		memset(&bf->set, 0, sizeof(bf->set));
	}
}

/* Disconnect, tell the backend we are closed, give the rings back. */
static void pvkit_blk_close(struct pvkit_blkfront *bf, bool wait)
{
	pvkit_blk_disconnect(bf, wait);
	pvkit_bus_switch_state(bf->dev, PVKIT_BUS_CLOSED);
	pvkit_blk_release_rings(bf);
}

/* Read what the backend says about the disk. */
static int pvkit_blk_read_backend(struct pvkit_blkfront *bf)
{
	struct pvkit_bus_device *dev = bf->dev;
	unsigned int info = 0, ssize = 512, val;
	int ret;

	ret = pvkit_bus_read_otherend_uint(dev, "sector-size", &ssize);
	if (ret && ret != -ENOENT)
		return ret;
	if (ssize != 512) {
		dev_err(&dev->dev, "sector size %u unsupported\n", ssize);
		return -EINVAL;
	}
	ret = pvkit_bus_read_otherend_u64(dev, "sectors", &bf->sectors);
	if (ret)
		return ret;
	pvkit_bus_read_otherend_uint(dev, "info", &info);
	bf->read_only = info & PVKIT_VDISK_READONLY;
	bf->flush = !pvkit_bus_read_otherend_uint(dev, "feature-flush-cache",
						  &val) && val;
	bf->discard = !pvkit_bus_read_otherend_uint(dev, "feature-discard",
						    &val) && val;
	return 0;
}

static int pvkit_blk_alloc_disk(struct pvkit_blkfront *bf)
{
	struct queue_limits lim = {
		.logical_block_size	= 512,
		.max_hw_sectors		= bf->max_segs *
					  (PAGE_SIZE >> SECTOR_SHIFT),
		.max_segments		= bf->max_segs,
		/* One segment, one page: the wire names a page per segment. */
		.max_segment_size	= PAGE_SIZE,
		.seg_boundary_mask	= PAGE_SIZE - 1,
		.dma_alignment		= 511,
	};
	struct gendisk *disk;
	int ret;

	if (bf->flush)
		lim.features |= BLK_FEAT_WRITE_CACHE;
	if (bf->discard) {
		lim.max_hw_discard_sectors = UINT_MAX >> SECTOR_SHIFT;
		lim.discard_granularity = 512;
	}
	bf->set.ops = &pvkit_blk_mq_ops;
	bf->set.nr_hw_queues = bf->hw_queues;
	bf->set.queue_depth = bf->depth;
	bf->set.numa_node = NUMA_NO_NODE;
	/* The scatterlist and the grants of bf->max_segs pages follow. */
	bf->set.cmd_size = sizeof(struct pvkit_blk_cmd) +
			   bf->max_segs * (sizeof(struct scatterlist) +
					   sizeof(int));
	bf->set.timeout = 30 * HZ;
	bf->set.driver_data = bf;
	ret = blk_mq_alloc_tag_set(&bf->set);
	if (ret)
		return ret;
	disk = blk_mq_alloc_disk(&bf->set, &lim, bf);
	if (IS_ERR(disk)) {
		blk_mq_free_tag_set(&bf->set);
		memset(&bf->set, 0, sizeof(bf->set));
		return PTR_ERR(disk);
	}
	disk->major = pvkit_blk_major;
	disk->first_minor = bf->index * PVKIT_BLK_MINORS;
	disk->minors = PVKIT_BLK_MINORS;
	disk->fops = &pvkit_blk_fops;
	disk->private_data = bf;
	snprintf(disk->disk_name, DISK_NAME_LEN, "pvd%c", 'a' + bf->index);
	set_capacity(disk, bf->sectors);
	set_disk_ro(disk, bf->read_only);
	ret = add_disk(disk);
	if (ret) {
		put_disk(disk);
		blk_mq_free_tag_set(&bf->set);
		memset(&bf->set, 0, sizeof(bf->set));
		return ret;
	}
	bf->disk = disk;
	return 0;
}

/* The backend is ready: make the disk, or follow a new capacity. */
static void pvkit_blk_connect(struct pvkit_blkfront *bf)
{
	struct pvkit_bus_device *dev = bf->dev;
	u64 old = bf->sectors;
	int ret;

	ret = pvkit_blk_read_backend(bf);
	if (ret) {
		dev_err(&dev->dev, "backend gave no usable disk: %d\n", ret);
		goto fail;
	}
	if (bf->disk) {
		if (bf->sectors != old)
			set_capacity_and_notify(bf->disk, bf->sectors);
		return;
	}
	ret = pvkit_blk_reserve(bf);
	if (ret == -EAGAIN)
		return;
	if (ret) {
		dev_err(&dev->dev, "cannot reserve grants: %d\n", ret);
		goto fail;
	}
	pvkit_blk_set_connected(bf, true);
	ret = pvkit_blk_alloc_disk(bf);
	if (ret) {
		dev_err(&dev->dev, "cannot add the disk: %d\n", ret);
		goto fail;
	}
	pvkit_bus_switch_state(dev, PVKIT_BUS_CONNECTED);
	dev_info(&dev->dev,
		 "%s: %llu sectors%s%s%s; %u of %u rings, %u of %u slots, %u pages per request\n",
		 bf->disk->disk_name, bf->sectors,
		 bf->read_only ? ", read-only" : "", bf->flush ? ", flush" : "",
		 bf->discard ? ", discard" : "", bf->hw_queues, bf->nr_queues,
		 bf->depth, bf->ring_size, bf->max_segs);
	return;
fail:
	pvkit_blk_close(bf, false);
}

static void pvkit_blk_changed(struct pvkit_bus_device *dev, int state)
{
	struct pvkit_blkfront *bf = dev_get_drvdata(&dev->dev);
	int ret;

	switch (state) {
	case PVKIT_BUS_INITWAIT:
		if (dev->state == PVKIT_BUS_CLOSED)
			pvkit_bus_switch_state(dev, PVKIT_BUS_INITIALISING);
		if (dev->state != PVKIT_BUS_INITIALISING)
			break;
		ret = pvkit_blk_setup_rings(bf);
		if (!ret)
			ret = pvkit_bus_switch_state(dev, PVKIT_BUS_INITIALISED);
		if (ret) {
			dev_err(&dev->dev, "cannot set up the rings: %d\n", ret);
			pvkit_blk_close(bf, false);
		}
		/* The table was full: set up again once it is not. */
		if (ret == -ENOSPC)
			pvkit_bus_retry_when_grants_free(dev,
							 1u << PVKIT_BLKIF_MAX_RING_ORDER,
							 HZ / 10);
		break;
	case PVKIT_BUS_CONNECTED:
		if (dev->state == PVKIT_BUS_INITIALISED ||
		    dev->state == PVKIT_BUS_CONNECTED)
			pvkit_blk_connect(bf);
		break;
	case PVKIT_BUS_CLOSING:
	case PVKIT_BUS_CLOSED:
		if (dev->state == PVKIT_BUS_CLOSED)
			break;
		/* The backend serves what it has until we say Closing. */
		pvkit_blk_stop(bf, !dev->otherend_gone);
		pvkit_bus_switch_state(dev, PVKIT_BUS_CLOSING);
		pvkit_blk_close(bf, false);
		break;
	default:
		break;
	}
}

/*
 * Grant references came back (the bus calls this, device locked): set up
 * or connect again, as the backend's state asks.
 */
static void pvkit_blk_retry(struct pvkit_bus_device *dev)
{
	struct pvkit_blkfront *bf = dev_get_drvdata(&dev->dev);

	if (!bf->disk)
		pvkit_blk_changed(dev, dev->otherend_state);
}

static int pvkit_blk_probe(struct pvkit_bus_device *dev)
{
	struct pvkit_blkfront *bf;
	int ret;

	bf = kzalloc(sizeof(*bf), GFP_KERNEL);
	if (!bf)
		return -ENOMEM;
	bf->dev = dev;
	bf->index = ida_alloc_max(&pvkit_blk_index, 25, GFP_KERNEL);
	if (bf->index < 0) {
		ret = bf->index;
		goto free;
	}
	dev_set_drvdata(&dev->dev, bf);
	ret = pvkit_bus_switch_state(dev, PVKIT_BUS_INITIALISING);
	if (!ret)
		return 0;
	ida_free(&pvkit_blk_index, bf->index);
free:
	kfree(bf);
	return ret;
}

static void pvkit_blk_remove(struct pvkit_bus_device *dev)
{
	struct pvkit_blkfront *bf = dev_get_drvdata(&dev->dev);

	pvkit_blk_close(bf, !dev->otherend_gone && !dev->node_gone);
	ida_free(&pvkit_blk_index, bf->index);
	kfree(bf);
}

static ssize_t bad_responses_show(struct device *d,
				  struct device_attribute *attr, char *buf)
{
	struct pvkit_blkfront *bf = dev_get_drvdata(d);

	return sysfs_emit(buf, "%ld\n", atomic_long_read(&bf->bad_responses));
}
static DEVICE_ATTR_RO(bad_responses);

static ssize_t disk_show(struct device *d, struct device_attribute *attr,
			 char *buf)
{
	struct pvkit_blkfront *bf = dev_get_drvdata(d);

	return sysfs_emit(buf, "%s\n", bf->disk ? bf->disk->disk_name : "");
}
static DEVICE_ATTR_RO(disk);

static ssize_t grants_reserved_show(struct device *d,
				    struct device_attribute *attr, char *buf)
{
	struct pvkit_blkfront *bf = dev_get_drvdata(d);

	return sysfs_emit(buf, "%u\n", READ_ONCE(bf->grants_reserved));
}
static DEVICE_ATTR_RO(grants_reserved);

static struct attribute *pvkit_blk_attrs[] = {
	&dev_attr_bad_responses.attr,
	&dev_attr_disk.attr,
	&dev_attr_grants_reserved.attr,
	NULL,
};
ATTRIBUTE_GROUPS(pvkit_blk);

static struct pvkit_bus_driver pvkit_blk_driver = {
	.type			= "vbd",
	.probe			= pvkit_blk_probe,
	.remove			= pvkit_blk_remove,
	.otherend_changed	= pvkit_blk_changed,
	.retry			= pvkit_blk_retry,
	.driver = {
		.name		= "pvkit-blkfront",
		.dev_groups	= pvkit_blk_groups,
	},
};

static int __init pvkit_blk_init(void)
{
	int ret;

	if (!pvkit_available())
		return -ENODEV;
	pvkit_blk_major = register_blkdev(0, "pvd");
	if (pvkit_blk_major < 0)
		return pvkit_blk_major;
	ret = pvkit_bus_register_driver(&pvkit_blk_driver);
	if (ret)
		unregister_blkdev(pvkit_blk_major, "pvd");
	return ret;
}
module_init(pvkit_blk_init);

static void __exit pvkit_blk_exit(void)
{
	pvkit_bus_unregister_driver(&pvkit_blk_driver);
	unregister_blkdev(pvkit_blk_major, "pvd");
}
module_exit(pvkit_blk_exit);

MODULE_DESCRIPTION("pvkit block frontend");
MODULE_LICENSE("GPL");
MODULE_ALIAS("pvkit:vbd");
