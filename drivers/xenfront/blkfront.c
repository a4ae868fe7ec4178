// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit block frontend: disks the host offers on the pvkit bus.
 *
 * A device of type "vbd" is a disk served by a backend (on the kit's
 * reference host, QEMU's own xen-block) through one shared ring page in
 * the blkif format (<linux/pvkit_blkif.h>): the frontend puts requests in
 * the ring, each naming the granted pages that hold its data, and the
 * backend answers in the same slots.  An event channel carries the
 * notifications both ways, and both sides suppress them while the other
 * is known to be busy (req_event/rsp_event), so a deep queue costs far
 * fewer than one host transition per request.
 *
 * The request tag is the id on the wire and indexes the in-flight table;
 * the ring has as many slots as there are tags, so a request with a tag
 * always finds a slot.
 *
 * The backend is not trusted.  A response with an id that is not in
 * flight, the wrong operation, a status the protocol does not have or an
 * index that runs past the ring marks the disk broken: everything in
 * flight fails, new requests fail, and the guest goes on.  A grant is
 * revoked before its request completes, so a page is never reused while
 * the backend may still touch it.
 */

#define pr_fmt(fmt) "pvkit-blkfront: " fmt

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/idr.h>
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/pvkit_bus.h>
#include <linux/pvkit_ring.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <uapi/linux/pvkit_blkif.h>

#define PVKIT_BLK_MINORS	16	/* per disk: the disk and 15 partitions */
#define PVKIT_BLK_RING_HDR	sizeof(struct pvkit_ring_header)
/* Slots in a one-page ring: largest power of two that fits. */
#define PVKIT_BLK_RING_SIZE	\
	(1u << ilog2((PAGE_SIZE - PVKIT_BLK_RING_HDR) / PVKIT_BLKIF_SLOT_SIZE))
/* How long a disconnect waits for the backend to finish what it has. */
#define PVKIT_BLK_DRAIN_MS	5000

static_assert(sizeof(struct pvkit_blkif_request) == 112);
static_assert(sizeof(struct pvkit_blkif_discard) <= PVKIT_BLKIF_SLOT_SIZE);
static_assert(sizeof(struct pvkit_blkif_response) == 16);
static_assert(sizeof(struct pvkit_ring_header) == 64);

static int pvkit_blk_major;
static DEFINE_IDA(pvkit_blk_index);

/**
 * struct pvkit_blk_cmd - per-request state (the blk-mq PDU)
 * @sg: the request's data, one page per entry
 * @gref: grant of each entry of @sg
 * @nr_grefs: entries of @gref holding a grant
 * @status: result to complete the request with
 * @renotified: its timeout has notified the backend once more
 * @held: finished, but the backend still holds one of its grants
 */
struct pvkit_blk_cmd {
	struct scatterlist sg[PVKIT_BLKIF_MAX_SEGMENTS];
	int gref[PVKIT_BLKIF_MAX_SEGMENTS];
	unsigned int nr_grefs;
	blk_status_t status;
	bool held;
	bool renotified;
};

/**
 * struct pvkit_blkfront - one disk
 * @dev: the bus device
 * @lock: protects the ring, @inflight, @connected and @broken
 * @sring: the shared ring page
 * @ring_ref: its grant, or -1
 * @irq: event channel interrupt, or 0
 * @req_prod_pvt: requests written but not yet published
 * @rsp_cons: next response to read
 * @inflight: the request of each tag while the backend owns it
 * @done: requests finished under @lock, completed after it is dropped
 * @nr_done: entries in @done
 * @connected: requests may be sent
 * @broken: the backend broke the protocol; all I/O fails
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
	spinlock_t lock;	/* the ring, @inflight, @done, @connected, @broken */
	struct pvkit_ring_header *sring;
	int ring_ref;
	int irq;
	u32 req_prod_pvt;
	u32 rsp_cons;
	struct request *inflight[PVKIT_BLK_RING_SIZE];
	struct request *done[PVKIT_BLK_RING_SIZE];
	unsigned int nr_done;
	bool connected;
	bool broken;
	struct blk_mq_tag_set set;
	struct gendisk *disk;
	int index;
	u64 sectors;
	bool flush;
	bool discard;
	bool read_only;
	unsigned long bad_responses;
};

static void *pvkit_blk_slot(struct pvkit_blkfront *bf, u32 idx)
{
	return (u8 *)bf->sring + PVKIT_BLK_RING_HDR +
	       (idx & (PVKIT_BLK_RING_SIZE - 1)) * PVKIT_BLKIF_SLOT_SIZE;
}

/* Revoke the request's grants; false if the backend still holds one. */
static bool pvkit_blk_revoke(struct pvkit_blk_cmd *cmd)
{
	while (cmd->nr_grefs) {
		if (pvkit_gnttab_revoke(cmd->gref[cmd->nr_grefs - 1]))
			return false;
		cmd->nr_grefs--;
	}
	return true;
}

/* Grant the request's pages and fill in the segments of @req. */
static int pvkit_blk_map(struct pvkit_blkfront *bf, struct request *rq,
			 struct pvkit_blkif_request *req)
{
	struct pvkit_blk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	bool readonly = req_op(rq) == REQ_OP_WRITE;
	struct scatterlist *sg;
	int i, n, ref;

	sg_init_table(cmd->sg, PVKIT_BLKIF_MAX_SEGMENTS);
	n = blk_rq_map_sg(rq->q, rq, cmd->sg);
	for_each_sg(cmd->sg, sg, n, i) {
		unsigned int first = sg->offset >> PVKIT_BLKIF_SECTOR_SHIFT;
		unsigned int last = (sg->offset + sg->length - 1) >>
				    PVKIT_BLKIF_SECTOR_SHIFT;

		/* Queue limits keep each entry inside one page. */
		ref = pvkit_gnttab_grant(page_to_pfn(sg_page(sg)), readonly);
		if (ref < 0)
			return ref;
		cmd->gref[cmd->nr_grefs++] = ref;
		req->seg[i] = (struct pvkit_blkif_segment) {
			.gref = ref,
			.first_sect = first,
			.last_sect = last,
		};
	}
	req->nr_segments = n;
	return 0;
}

/* Write the request for @rq into the next ring slot. */
static int pvkit_blk_fill(struct pvkit_blkfront *bf, struct request *rq)
{
	void *slot = pvkit_blk_slot(bf, bf->req_prod_pvt);
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
	int ret;

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
		ret = pvkit_blk_map(bf, rq, &req);
		if (ret)
			return ret;
	}
	memcpy(slot, &req, sizeof(req));
	return 0;
}

/* Publish the requests written so far; notify unless the backend polls. */
static void pvkit_blk_push(struct pvkit_blkfront *bf)
{
	if (pvkit_ring_push_requests(bf->sring, bf->req_prod_pvt))
		pvkit_evtchn_notify(bf->irq);
}

static blk_status_t pvkit_blk_queue_rq(struct blk_mq_hw_ctx *hctx,
				       const struct blk_mq_queue_data *bd)
{
	struct pvkit_blkfront *bf = hctx->queue->queuedata;
	struct request *rq = bd->rq;
	struct pvkit_blk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	unsigned long flags;
	int ret;

	cmd->nr_grefs = 0;
	cmd->status = BLK_STS_OK;
	cmd->renotified = false;
	cmd->held = false;
	blk_mq_start_request(rq);
	spin_lock_irqsave(&bf->lock, flags);
	if (!bf->connected || bf->broken)
		goto ioerr;
	if (WARN_ON_ONCE(rq->tag >= PVKIT_BLK_RING_SIZE ||
			 bf->inflight[rq->tag]))
		goto ioerr;
	ret = pvkit_blk_fill(bf, rq);
	if (ret == -ENOSPC || ret == -ENOMEM) {
		/* Out of grants (a guest-wide pool) for now: retry later. */
		pvkit_blk_revoke(cmd);
		spin_unlock_irqrestore(&bf->lock, flags);
		return BLK_STS_RESOURCE;
	}
	if (ret)
		goto ioerr;
	bf->inflight[rq->tag] = rq;
	bf->req_prod_pvt++;
	if (bd->last)
		pvkit_blk_push(bf);
	spin_unlock_irqrestore(&bf->lock, flags);
	return BLK_STS_OK;
ioerr:
	pvkit_blk_revoke(cmd);
	spin_unlock_irqrestore(&bf->lock, flags);
	return BLK_STS_IOERR;
}

static void pvkit_blk_commit_rqs(struct blk_mq_hw_ctx *hctx)
{
	struct pvkit_blkfront *bf = hctx->queue->queuedata;
	unsigned long flags;

	spin_lock_irqsave(&bf->lock, flags);
	if (bf->connected && !bf->broken)
		pvkit_blk_push(bf);
	spin_unlock_irqrestore(&bf->lock, flags);
}

/*
 * The backend has answered @rq, or it is failed: take its grants back and
 * queue it for completion once bf->lock is dropped (completion may run
 * code that submits I/O).  A grant the backend still holds keeps the
 * request, and its pages, out of circulation: the timeout handler tries
 * again later.  The caller holds bf->lock.
 */
static void pvkit_blk_finish(struct pvkit_blkfront *bf, struct request *rq,
			     blk_status_t status)
{
	struct pvkit_blk_cmd *cmd = blk_mq_rq_to_pdu(rq);

	bf->inflight[rq->tag] = NULL;
	cmd->status = status;
	if (!pvkit_blk_revoke(cmd)) {
		dev_err_ratelimited(&bf->dev->dev,
				    "backend still holds a page of request %d\n",
				    rq->tag);
		cmd->held = true;
		return;
	}
	bf->done[bf->nr_done++] = rq;
}

/* Complete what pvkit_blk_finish() queued; called without bf->lock. */
static void pvkit_blk_complete_done(struct pvkit_blkfront *bf)
{
	struct request *done[PVKIT_BLK_RING_SIZE];
	unsigned long flags;
	unsigned int i, n;

	spin_lock_irqsave(&bf->lock, flags);
	n = bf->nr_done;
	memcpy(done, bf->done, n * sizeof(done[0]));
	bf->nr_done = 0;
	spin_unlock_irqrestore(&bf->lock, flags);
	for (i = 0; i < n; i++)
		blk_mq_complete_request(done[i]);
}

/* Fail everything the backend owns; the caller holds bf->lock. */
static void pvkit_blk_fail_inflight(struct pvkit_blkfront *bf)
{
	unsigned int i;

	for (i = 0; i < PVKIT_BLK_RING_SIZE; i++)
		if (bf->inflight[i])
			pvkit_blk_finish(bf, bf->inflight[i], BLK_STS_IOERR);
}

/* The backend broke the protocol: stop talking to it. */
static void pvkit_blk_set_broken(struct pvkit_blkfront *bf, const char *why,
				 u64 a, u64 b)
{
	bf->bad_responses++;
	if (!bf->broken)
		dev_err(&bf->dev->dev,
			"backend protocol error: %s (%llu, %llu); disk fails all I/O\n",
			why, a, b);
	bf->broken = true;
	pvkit_blk_fail_inflight(bf);
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
static bool pvkit_blk_response(struct pvkit_blkfront *bf, u32 idx)
{
	struct pvkit_blkif_response rsp;
	struct request *rq;
	blk_status_t sts;

	/* One copy: the backend may change the slot while we look. */
	memcpy(&rsp, pvkit_blk_slot(bf, idx), sizeof(rsp));
	if (rsp.id >= PVKIT_BLK_RING_SIZE || !bf->inflight[rsp.id]) {
		pvkit_blk_set_broken(bf, "response for no request", rsp.id,
				     idx);
		return false;
	}
	rq = bf->inflight[rsp.id];
	if (rsp.operation != pvkit_blk_wire_op(rq)) {
		pvkit_blk_set_broken(bf, "response with another operation",
				     rsp.operation, pvkit_blk_wire_op(rq));
		return false;
	}
	if (!pvkit_blk_status(rsp.status, &sts)) {
		pvkit_blk_set_broken(bf, "response with an impossible status",
				     (u16)rsp.status, rsp.id);
		return false;
	}
	pvkit_blk_finish(bf, rq, sts);
	return true;
}

/* Consume all responses; the caller holds bf->lock. */
static void pvkit_blk_responses(struct pvkit_blkfront *bf)
{
	u32 prod;

	do {
		prod = READ_ONCE(bf->sring->rsp_prod);
		/* Slots after the index; pairs with the backend's write
		 * barrier before it publishes rsp_prod.
		 */
		smp_rmb();
		if (prod - bf->rsp_cons > bf->req_prod_pvt - bf->rsp_cons) {
			pvkit_blk_set_broken(bf, "response index past requests",
					     prod, bf->req_prod_pvt);
			return;
		}
		for (; bf->rsp_cons != prod; bf->rsp_cons++)
			if (!pvkit_blk_response(bf, bf->rsp_cons))
				return;
	} while (pvkit_ring_rearm_responses(bf->sring, bf->rsp_cons));
}

static irqreturn_t pvkit_blk_interrupt(int irq, void *data)
{
	struct pvkit_blkfront *bf = data;
	unsigned long flags;

	spin_lock_irqsave(&bf->lock, flags);
	if (bf->sring && !bf->broken)
		pvkit_blk_responses(bf);
	spin_unlock_irqrestore(&bf->lock, flags);
	pvkit_blk_complete_done(bf);
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
 * happen.  The caller holds bf->lock.
 */
static enum blk_eh_timer_return
pvkit_blk_stalled(struct pvkit_blkfront *bf, struct request *rq)
{
	struct pvkit_blk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct pvkit_ring_header *r = bf->sring;

	dev_warn_ratelimited(&bf->dev->dev,
			     "request %d unanswered: req_prod %u req_event %u rsp_prod %u rsp_event %u rsp_cons %u\n",
			     rq->tag, READ_ONCE(r->req_prod),
			     READ_ONCE(r->req_event), READ_ONCE(r->rsp_prod),
			     READ_ONCE(r->rsp_event), bf->rsp_cons);
	if (READ_ONCE(r->rsp_prod) != bf->rsp_cons) {
		dev_warn_ratelimited(&bf->dev->dev,
				     "answers waiting without an event\n");
		pvkit_blk_responses(bf);
		return bf->inflight[rq->tag] == rq ? BLK_EH_RESET_TIMER :
						     BLK_EH_DONE;
	}
	if (cmd->renotified) {
		pvkit_blk_set_broken(bf, "no answer in time", rq->tag,
				     bf->rsp_cons);
		return BLK_EH_DONE;
	}
	cmd->renotified = true;
	pvkit_evtchn_notify(bf->irq);
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
	struct pvkit_blkfront *bf = rq->q->queuedata;
	struct pvkit_blk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	enum blk_eh_timer_return ret = BLK_EH_DONE;
	unsigned long flags;

	spin_lock_irqsave(&bf->lock, flags);
	if (bf->inflight[rq->tag] == rq && !bf->broken) {
		ret = pvkit_blk_stalled(bf, rq);
	} else if (bf->inflight[rq->tag] == rq) {
		pvkit_blk_set_broken(bf, "no answer in time", rq->tag,
				     bf->rsp_cons);
	} else if (cmd->held) {
		if (pvkit_blk_revoke(cmd)) {
			cmd->held = false;
			bf->done[bf->nr_done++] = rq;
		} else {
			ret = BLK_EH_RESET_TIMER;
		}
	}
	/* Otherwise it is finished and queued for completion already. */
	spin_unlock_irqrestore(&bf->lock, flags);
	pvkit_blk_complete_done(bf);
	return ret;
}

static const struct blk_mq_ops pvkit_blk_mq_ops = {
	.queue_rq	= pvkit_blk_queue_rq,
	.commit_rqs	= pvkit_blk_commit_rqs,
	.complete	= pvkit_blk_complete_rq,
	.timeout	= pvkit_blk_timeout,
};

static const struct block_device_operations pvkit_blk_fops = {
	.owner		= THIS_MODULE,
};

/* Ring page, its grant and the event channel; published to the store. */
static int pvkit_blk_setup_ring(struct pvkit_blkfront *bf)
{
	struct pvkit_bus_device *dev = bf->dev;
	int ret;

	bf->sring = (void *)get_zeroed_page(GFP_KERNEL);
	if (!bf->sring)
		return -ENOMEM;
	bf->req_prod_pvt = 0;
	bf->rsp_cons = 0;
	bf->sring->req_event = 1;
	bf->sring->rsp_event = 1;
	bf->ring_ref = pvkit_gnttab_grant(PFN_DOWN(__pa(bf->sring)), false);
	if (bf->ring_ref < 0)
		return bf->ring_ref;
	ret = pvkit_bus_alloc_evtchn(dev);
	if (ret < 0)
		return ret;
	bf->irq = ret;
	ret = request_irq(bf->irq, pvkit_blk_interrupt, 0, dev_name(&dev->dev),
			  bf);
	if (ret) {
		pvkit_evtchn_unbind(bf->irq);
		bf->irq = 0;
		return ret;
	}
	ret = pvkit_bus_printf(dev, "ring-ref", "%d", bf->ring_ref);
	if (!ret)
		ret = pvkit_bus_printf(dev, "event-channel", "%u",
				       pvkit_evtchn_port(bf->irq));
	if (!ret)
		ret = pvkit_bus_printf(dev, "protocol", "%s",
				       PVKIT_BLKIF_PROTOCOL);
	return ret;
}

static void pvkit_blk_free_irq(struct pvkit_blkfront *bf)
{
	if (bf->irq > 0) {
		free_irq(bf->irq, bf);
		pvkit_evtchn_unbind(bf->irq);
		bf->irq = 0;
	}
}

/*
 * Give up the ring page after the backend has been told we are closed
 * (it unmaps the ring only then): the page is freed once the revoke goes
 * through, however long the backend takes.
 */
static void pvkit_blk_release_ring(struct pvkit_blkfront *bf)
{
	pvkit_blk_free_irq(bf);
	if (bf->ring_ref >= 0)
		pvkit_gnttab_revoke_deferred(bf->ring_ref,
					     virt_to_page(bf->sring));
	else
		free_page((unsigned long)bf->sring);
	bf->ring_ref = -1;
	bf->sring = NULL;
}

/* Whether anything is still in flight; takes the lock. */
static bool pvkit_blk_busy(struct pvkit_blkfront *bf)
{
	unsigned long flags;
	unsigned int i;
	bool busy = false;

	spin_lock_irqsave(&bf->lock, flags);
	for (i = 0; i < PVKIT_BLK_RING_SIZE && !busy; i++)
		busy = !!bf->inflight[i];
	spin_unlock_irqrestore(&bf->lock, flags);
	return busy;
}

/*
 * Stop I/O: new requests fail; what the backend holds gets a bounded time
 * to finish (unless the backend is gone), then fails.
 */
static void pvkit_blk_stop(struct pvkit_blkfront *bf, bool wait)
{
	unsigned long flags;
	int ms;

	spin_lock_irqsave(&bf->lock, flags);
	bf->connected = false;
	spin_unlock_irqrestore(&bf->lock, flags);
	for (ms = 0; wait && ms < PVKIT_BLK_DRAIN_MS && pvkit_blk_busy(bf);
	     ms += 20)
		msleep(20);
	spin_lock_irqsave(&bf->lock, flags);
	pvkit_blk_fail_inflight(bf);
	spin_unlock_irqrestore(&bf->lock, flags);
	pvkit_blk_complete_done(bf);
}

/* Tear down the disk and the event channel; the ring stays granted. */
static void pvkit_blk_disconnect(struct pvkit_blkfront *bf, bool wait)
{
	pvkit_blk_stop(bf, wait);
	pvkit_blk_free_irq(bf);
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

/* Disconnect, tell the backend we are closed, give the ring back. */
static void pvkit_blk_close(struct pvkit_blkfront *bf, bool wait)
{
	pvkit_blk_disconnect(bf, wait);
	pvkit_bus_switch_state(bf->dev, PVKIT_BUS_CLOSED);
	pvkit_blk_release_ring(bf);
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
		.max_hw_sectors		= PVKIT_BLKIF_MAX_SEGMENTS *
					  (PAGE_SIZE >> SECTOR_SHIFT),
		.max_segments		= PVKIT_BLKIF_MAX_SEGMENTS,
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
	bf->set.nr_hw_queues = 1;
	bf->set.queue_depth = PVKIT_BLK_RING_SIZE;
	bf->set.numa_node = NUMA_NO_NODE;
	bf->set.cmd_size = sizeof(struct pvkit_blk_cmd);
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
	spin_lock_irq(&bf->lock);
	bf->connected = true;
	spin_unlock_irq(&bf->lock);
	ret = pvkit_blk_alloc_disk(bf);
	if (ret) {
		dev_err(&dev->dev, "cannot add the disk: %d\n", ret);
		goto fail;
	}
	pvkit_bus_switch_state(dev, PVKIT_BUS_CONNECTED);
	dev_info(&dev->dev, "%s: %llu sectors%s%s%s\n", bf->disk->disk_name,
		 bf->sectors, bf->read_only ? ", read-only" : "",
		 bf->flush ? ", flush" : "", bf->discard ? ", discard" : "");
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
		bf->broken = false;
		ret = pvkit_blk_setup_ring(bf);
		if (!ret)
			ret = pvkit_bus_switch_state(dev, PVKIT_BUS_INITIALISED);
		if (ret) {
			dev_err(&dev->dev, "cannot set up the ring: %d\n", ret);
			pvkit_blk_close(bf, false);
		}
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

static int pvkit_blk_probe(struct pvkit_bus_device *dev)
{
	struct pvkit_blkfront *bf;
	int ret;

	bf = kzalloc(sizeof(*bf), GFP_KERNEL);
	if (!bf)
		return -ENOMEM;
	spin_lock_init(&bf->lock);
	bf->dev = dev;
	bf->ring_ref = -1;
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

	return sysfs_emit(buf, "%lu\n", READ_ONCE(bf->bad_responses));
}
static DEVICE_ATTR_RO(bad_responses);

static ssize_t disk_show(struct device *d, struct device_attribute *attr,
			 char *buf)
{
	struct pvkit_blkfront *bf = dev_get_drvdata(d);

	return sysfs_emit(buf, "%s\n", bf->disk ? bf->disk->disk_name : "");
}
static DEVICE_ATTR_RO(disk);

static struct attribute *pvkit_blk_attrs[] = {
	&dev_attr_bad_responses.attr,
	&dev_attr_disk.attr,
	NULL,
};
ATTRIBUTE_GROUPS(pvkit_blk);

static struct pvkit_bus_driver pvkit_blk_driver = {
	.type			= "vbd",
	.probe			= pvkit_blk_probe,
	.remove			= pvkit_blk_remove,
	.otherend_changed	= pvkit_blk_changed,
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
