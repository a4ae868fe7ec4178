// SPDX-License-Identifier: GPL-2.0
/*
 * pvkit network frontend: NICs the host offers on the pvkit bus.
 *
 * A device of type "vif" is a NIC whose backend (on the kit's reference
 * host, QEMU's xen-net-device on any QEMU netdev) shares two rings with
 * the frontend in the netif format (<linux/pvkit_netif.h>): packets go
 * out on the transmit ring, empty buffers go to the backend on the
 * receive ring and come back holding packets.  One event channel carries
 * the notifications of both, suppressed with the rings' event indexes.
 *
 * Every buffer id has a page of its own, granted to the backend once when
 * the rings are set up: a packet to send is copied into its id's page, a
 * received packet is copied out of its id's page into a fresh skb.  That
 * costs a copy per packet, but no grant is made or revoked per packet, no
 * skb waits on the backend, and the backend never reaches guest memory
 * other than those pages, so a backend that misbehaves can garble
 * packets, never the guest.
 *
 * The NIC reserves the grant references of all its queues before it
 * makes any: when the table has too few free it sets up fewer queues,
 * and with too few for one it waits until references come back (a
 * disk's requests finish, a device goes) rather than failing.
 *
 * The backend is not trusted.  A response naming an id that is not out,
 * a size or offset outside its page, flags that were not negotiated or a
 * status the protocol does not have is dropped and counted; response
 * indexes that run past the requests made stop the NIC (carrier off)
 * until the backend reconnects.
 */

#define pr_fmt(fmt) "pvkit-netfront: " fmt

#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/if_vlan.h>
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/pvkit_bus.h>
#include <linux/pvkit_evtchn.h>
#include <linux/pvkit_gnttab.h>
#include <linux/pvkit_ring.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <linux/u64_stats_sync.h>
#include <net/tcp.h>
#include <uapi/linux/pvkit_netif.h>

#define PVKIT_NET_RING_HDR	sizeof(struct pvkit_ring_header)
/* Slots in a one-page ring: the largest power of two that fits. */
#define PVKIT_NET_TX_SLOTS	\
	(1u << ilog2((PAGE_SIZE - PVKIT_NET_RING_HDR) / PVKIT_NETIF_TX_SLOT_SIZE))
#define PVKIT_NET_RX_SLOTS	\
	(1u << ilog2((PAGE_SIZE - PVKIT_NET_RING_HDR) / PVKIT_NETIF_RX_SLOT_SIZE))
/* A stopped transmit queue restarts once this many ids are free again. */
#define PVKIT_NET_TX_WAKE	(PVKIT_NET_TX_SLOTS / 4)
/* Ring pairs at most: one per CPU, as many as a backend may offer. */
#define PVKIT_NET_MAX_QUEUES	8
/* Grant references a queue holds: two ring pages and every buffer. */
#define PVKIT_NET_QUEUE_GRANTS	(2 + PVKIT_NET_TX_SLOTS + PVKIT_NET_RX_SLOTS)
/*
 * A frame fills at most one page, and QEMU's backend puts a received one
 * two bytes in (so the IP header is aligned).
 */
#define PVKIT_NET_MAX_FRAME	(PAGE_SIZE - NET_IP_ALIGN)
#define PVKIT_NET_MAX_MTU	(PVKIT_NET_MAX_FRAME - VLAN_ETH_HLEN)
/* With feature-sg a frame may take several pages each way. */
#define PVKIT_NET_MAX_SG_MTU	(PVKIT_NETIF_MAX_TX_SIZE - VLAN_ETH_HLEN)
/* Receive responses one packet may take: a page each, the first from 2. */
#define PVKIT_NET_RX_MAX_SLOTS	\
	DIV_ROUND_UP(PVKIT_NETIF_MAX_TX_SIZE + NET_IP_ALIGN, PAGE_SIZE)

static_assert(sizeof(struct pvkit_netif_tx_request) == 12);
static_assert(sizeof(struct pvkit_netif_tx_response) == 4);
static_assert(sizeof(struct pvkit_netif_rx_request) == 8);
static_assert(sizeof(struct pvkit_netif_rx_response) == 8);
static_assert(sizeof(struct pvkit_netif_extra_info) == 8);
static_assert(PVKIT_NET_TX_SLOTS <= U16_MAX && PVKIT_NET_RX_SLOTS <= U16_MAX);
/* The largest GSO packet's pages and its GSO slot fit one packet's slots. */
static_assert(DIV_ROUND_UP(PVKIT_NETIF_MAX_TX_SIZE, PAGE_SIZE) + 1 <=
	      PVKIT_NETIF_MAX_TX_SLOTS);

/**
 * struct pvkit_net_buf - a buffer id's page and its grant
 * @page: the page, or NULL
 * @gref: its grant to the backend, or -1
 * @out: the backend holds the id (a request names it, no answer yet)
 */
struct pvkit_net_buf {
	struct page *page;
	int gref;
	bool out;
};

/**
 * struct pvkit_net_counters - what went wrong, for ethtool -S
 * @rx_bad_responses: receive responses dropped as impossible
 * @tx_bad_responses: transmit responses dropped as impossible
 * @rx_errors: receive responses with an error status
 * @tx_errors: packets the backend failed to send
 * @tx_dropped: packets dropped before the ring (too big, no rings)
 * @rx_dropped: packets dropped for want of an skb
 * @tx_timeouts: transmit watchdog expiries
 * @ring_errors: rings stopped for indexes past the requests made
 */
struct pvkit_net_counters {
	unsigned long rx_bad_responses;
	unsigned long tx_bad_responses;
	unsigned long rx_errors;
	unsigned long tx_errors;
	unsigned long tx_dropped;
	unsigned long rx_dropped;
	unsigned long tx_timeouts;
	unsigned long ring_errors;
};

static const char pvkit_net_counter_names[][ETH_GSTRING_LEN] = {
	"rx_bad_responses", "tx_bad_responses", "rx_errors", "tx_errors",
	"tx_dropped", "rx_dropped", "tx_timeouts", "ring_errors",
};

static_assert(ARRAY_SIZE(pvkit_net_counter_names) ==
	      sizeof(struct pvkit_net_counters) / sizeof(unsigned long));

/**
 * struct pvkit_net_queue - one transmit/receive ring pair
 * @np: the NIC
 * @index: the queue's number (its store keys are below queue-<index>/
 *         when the NIC has more than one)
 * @name: its interrupt's name, "<bus device>-q<index>"
 * @napi: receive and transmit completion processing
 * @irq: event channel interrupt (both rings), or 0
 * @tx_lock: protects @tx_prod_pvt, @tx_rsp_cons, @tx_free, @nr_tx_free
 *           and the @out flags of @tx
 * @tx_sring: transmit ring page
 * @tx_ring_ref: its grant, or -1
 * @tx_prod_pvt: transmit requests written, not necessarily published
 * @tx_rsp_cons: next transmit response to read
 * @tx_free: ids not out, a stack of @nr_tx_free
 * @nr_tx_free: entries of @tx_free
 * @tx: buffer of each transmit id
 * @rx_sring: receive ring page
 * @rx_ring_ref: its grant, or -1
 * @rx_prod_pvt: receive requests written (NAPI and setup only)
 * @rx_rsp_cons: next receive response to read (NAPI only)
 * @rx_free: receive ids not out, a stack of @nr_rx_free
 * @nr_rx_free: entries of @rx_free
 * @rx: buffer of each receive id
 * @broken: the backend broke the ring protocol; nothing more is read
 * @rx_stats: received packets and bytes
 * @tx_stats: sent packets and bytes
 * @counters: errors, see struct pvkit_net_counters
 */
struct pvkit_net_queue {
	struct pvkit_netfront *np;
	unsigned int index;
	char name[32];
	struct napi_struct napi;
	int irq;

	spinlock_t tx_lock;	/* see above */
	struct pvkit_ring_header *tx_sring;
	int tx_ring_ref;
	u32 tx_prod_pvt;
	u32 tx_rsp_cons;
	u16 tx_free[PVKIT_NET_TX_SLOTS];
	unsigned int nr_tx_free;
	struct pvkit_net_buf tx[PVKIT_NET_TX_SLOTS];

	struct pvkit_ring_header *rx_sring;
	int rx_ring_ref;
	u32 rx_prod_pvt;
	u32 rx_rsp_cons;
	u16 rx_free[PVKIT_NET_RX_SLOTS];
	unsigned int nr_rx_free;
	struct pvkit_net_buf rx[PVKIT_NET_RX_SLOTS];

	bool broken;
	struct pvkit_net_stats {
		u64_stats_t packets;
		u64_stats_t bytes;
		struct u64_stats_sync syncp;
	} rx_stats, tx_stats;
	struct pvkit_net_counters counters;
};

/**
 * struct pvkit_netfront - one NIC
 * @dev: the bus device
 * @netdev: the network device
 * @queues: the ring pairs, @max_queues of them allocated
 * @max_queues: ring pairs this NIC could use (one per possible CPU, at
 *              most PVKIT_NET_MAX_QUEUES)
 * @nr_queues: ring pairs set up with the backend (changed under RTNL
 *             with the rings down)
 * @backend_sg: the backend takes a packet in several slots (feature-sg)
 * @backend_tso4: ... and GSO slots for TCP over IPv4 (feature-gso-tcpv4)
 * @backend_tso6: ... and for TCP over IPv6 (feature-gso-tcpv6)
 * @backend_ipv6_csum: it fills in IPv6 TCP/UDP checksums
 * @rings_up: the rings and irqs exist (changed with NAPI disabled)
 * @connected: the backend is connected (changed under every queue's
 *             tx_lock)
 * @resv: grant references for the queues being set up
 */
struct pvkit_netfront {
	struct pvkit_bus_device *dev;
	struct net_device *netdev;
	struct pvkit_net_queue *queues;
	unsigned int max_queues;
	unsigned int nr_queues;
	bool backend_sg;
	bool backend_tso4;
	bool backend_tso6;
	bool backend_ipv6_csum;
	bool rings_up;
	bool connected;
	struct pvkit_gnttab_resv resv;
};

/* Count one event; each counter has a single writer, readers any time. */
static void pvkit_net_count(unsigned long *counter)
{
	WRITE_ONCE(*counter, *counter + 1);
}

static void pvkit_net_stats_add(struct pvkit_net_stats *st, unsigned int len)
{
	u64_stats_update_begin(&st->syncp);
	u64_stats_inc(&st->packets);
	u64_stats_add(&st->bytes, len);
	u64_stats_update_end(&st->syncp);
}

static void *pvkit_net_slot(struct pvkit_ring_header *r, u32 idx,
			    unsigned int slots, size_t size)
{
	return (u8 *)r + PVKIT_NET_RING_HDR + (idx & (slots - 1)) * size;
}

/* Stop reading the rings: the backend broke their index rules. */
static void pvkit_net_set_broken(struct pvkit_net_queue *q, const char *what,
				 u32 prod, u32 limit)
{
	if (q->broken)
		return;
	q->broken = true;
	pvkit_net_count(&q->counters.ring_errors);
	netif_carrier_off(q->np->netdev);
	netdev_err(q->np->netdev,
		   "backend protocol error: %s (%u, at most %u); NIC stopped until the backend reconnects\n",
		   what, prod, limit);
}

/*
 * Hand every receive buffer we hold to the backend; @notify: tell it if
 * it needs to know (not before it has connected).
 */
static void pvkit_net_rx_refill(struct pvkit_net_queue *q, bool notify)
{
	bool starved = q->rx_prod_pvt == q->rx_rsp_cons;
	struct pvkit_netif_rx_request *req;
	bool asked;
	u16 id;

	if (!q->nr_rx_free)
		return;
	while (q->nr_rx_free) {
		id = q->rx_free[--q->nr_rx_free];
		req = pvkit_net_slot(q->rx_sring, q->rx_prod_pvt++,
				     PVKIT_NET_RX_SLOTS, PVKIT_NETIF_RX_SLOT_SIZE);
		req->id = id;
		req->pad = 0;
		req->gref = q->rx[id].gref;
		q->rx[id].out = true;
	}
	asked = pvkit_ring_push_requests(q->rx_sring, q->rx_prod_pvt);
	/*
	 * QEMU's xen-net-device never sets the receive ring's req_event: it
	 * takes buffers as packets arrive and queues packets while it has
	 * none, until an event.  So a backend that held no buffer before
	 * this refill hears of it even if req_event does not ask.
	 */
	if (notify && (asked || starved))
		pvkit_evtchn_notify(q->irq);
}

/* Flags a receive response may carry: we asked for no extra slots. */
#define PVKIT_NET_RX_FLAGS	(PVKIT_NETRXF_DATA_VALIDATED | \
				 PVKIT_NETRXF_MORE_DATA)

/* Whether a receive response (for an id that was out) makes sense. */
static bool pvkit_net_rx_valid(const struct pvkit_netif_rx_response *rsp)
{
	if (rsp->status < 0)
		return rsp->status >= PVKIT_NETIF_RSP_DROPPED;
	if (rsp->flags & ~PVKIT_NET_RX_FLAGS)
		return false;
	return rsp->offset + rsp->status <= PAGE_SIZE;
}

/*
 * Take back the buffer of one response of a packet; false if the response
 * is impossible (counted) or reports an error (counted): the packet is
 * dropped then.
 */
static bool pvkit_net_rx_take(struct pvkit_net_queue *q,
			      const struct pvkit_netif_rx_response *rsp)
{
	if (rsp->id >= PVKIT_NET_RX_SLOTS || !q->rx[rsp->id].out) {
		pvkit_net_count(&q->counters.rx_bad_responses);
		return false;
	}
	q->rx[rsp->id].out = false;
	q->rx_free[q->nr_rx_free++] = rsp->id;
	if (!pvkit_net_rx_valid(rsp)) {
		pvkit_net_count(&q->counters.rx_bad_responses);
		return false;
	}
	if (rsp->status < 0) {
		pvkit_net_count(&q->counters.rx_errors);
		return false;
	}
	return true;
}

/* Copy a received packet out of its buffers and up the stack. */
static void pvkit_net_rx_deliver(struct pvkit_net_queue *q,
				 const struct pvkit_netif_rx_response *rsp,
				 unsigned int n, unsigned int len)
{
	struct sk_buff *skb;
	unsigned int i;

	if (len < ETH_HLEN) {
		pvkit_net_count(&q->counters.rx_bad_responses);
		return;
	}
	skb = napi_alloc_skb(&q->napi, len);
	if (!skb) {
		pvkit_net_count(&q->counters.rx_dropped);
		return;
	}
	for (i = 0; i < n; i++)
		skb_put_data(skb, page_address(q->rx[rsp[i].id].page) +
			     rsp[i].offset, rsp[i].status);
	skb->protocol = eth_type_trans(skb, q->np->netdev);
	if (rsp[0].flags & PVKIT_NETRXF_DATA_VALIDATED)
		skb->ip_summed = CHECKSUM_UNNECESSARY;
	pvkit_net_stats_add(&q->rx_stats, len);
	napi_gro_receive(&q->napi, skb);
}

/*
 * Take one received packet: its responses run from rx_rsp_cons to the
 * first without MORE_DATA (one, unless the backend spread the packet over
 * several buffers: feature-sg).  Returns false, taking nothing, while the
 * packet's last response is not published yet.
 */
static bool pvkit_net_rx_packet(struct pvkit_net_queue *q, u32 prod)
{
	struct pvkit_netif_rx_response rsp[PVKIT_NET_RX_MAX_SLOTS];
	unsigned int n = 0, i, len = 0;
	bool ok = true;

	do {
		if (q->rx_rsp_cons + n == prod)
			return false;
		/* One copy: the backend may rewrite the slot while we look. */
		memcpy(&rsp[n], pvkit_net_slot(q->rx_sring, q->rx_rsp_cons + n,
					       PVKIT_NET_RX_SLOTS,
					       PVKIT_NETIF_RX_SLOT_SIZE),
		       sizeof(rsp[n]));
		n++;
		/* An impossible response ends the packet; so does the limit. */
	} while ((rsp[n - 1].flags & PVKIT_NETRXF_MORE_DATA) &&
		 !(rsp[n - 1].flags & ~PVKIT_NET_RX_FLAGS) &&
		 n < PVKIT_NET_RX_MAX_SLOTS);
	q->rx_rsp_cons += n;
	for (i = 0; i < n; i++) {
		ok &= pvkit_net_rx_take(q, &rsp[i]);
		if (ok)
			len += rsp[i].status;
	}
	/* A packet cut off at the limit is as impossible as its parts. */
	if (ok && (rsp[n - 1].flags & PVKIT_NETRXF_MORE_DATA)) {
		pvkit_net_count(&q->counters.rx_bad_responses);
		ok = false;
	}
	if (ok)
		pvkit_net_rx_deliver(q, rsp, n, len);
	return true;
}

/* Take up to @budget received packets, then give the buffers back. */
static int pvkit_net_rx(struct pvkit_net_queue *q, int budget)
{
	u32 prod = READ_ONCE(q->rx_sring->rsp_prod);
	int done = 0;

	if (prod - q->rx_rsp_cons > q->rx_prod_pvt - q->rx_rsp_cons) {
		pvkit_net_set_broken(q, "receive responses past requests",
				     prod, q->rx_prod_pvt);
		return 0;
	}
	/* Slots after the index: pairs with the backend's write barrier
	 * before it publishes rsp_prod.
	 */
	virt_rmb();
	while (done < budget && q->rx_rsp_cons != prod &&
	       pvkit_net_rx_packet(q, prod))
		done++;
	pvkit_net_rx_refill(q, true);
	return done;
}

/* Transmit ring slots not holding a request or an unread response. */
static unsigned int pvkit_net_tx_ring_free(struct pvkit_net_queue *q)
{
	return PVKIT_NET_TX_SLOTS - (q->tx_prod_pvt - q->tx_rsp_cons);
}

/* Whether a packet of @slots slots and @pages pages fits now. */
static bool pvkit_net_tx_fits(struct pvkit_net_queue *q, unsigned int slots,
			      unsigned int pages)
{
	return q->nr_tx_free >= pages && pvkit_net_tx_ring_free(q) >= slots;
}

/* Take the transmit responses: their ids are free again. */
static void pvkit_net_tx_complete(struct pvkit_net_queue *q)
{
	struct pvkit_netif_tx_response rsp;
	struct netdev_queue *txq;
	u32 prod;

	spin_lock(&q->tx_lock);
	prod = READ_ONCE(q->tx_sring->rsp_prod);
	if (prod - q->tx_rsp_cons > q->tx_prod_pvt - q->tx_rsp_cons) {
		pvkit_net_set_broken(q, "transmit responses past requests",
				     prod, q->tx_prod_pvt);
		goto out;
	}
	/* Slots after the index: pairs with the backend's write barrier
	 * before it publishes rsp_prod.
	 */
	virt_rmb();
	for (; q->tx_rsp_cons != prod; q->tx_rsp_cons++) {
		memcpy(&rsp, pvkit_net_slot(q->tx_sring, q->tx_rsp_cons,
					    PVKIT_NET_TX_SLOTS,
					    PVKIT_NETIF_TX_SLOT_SIZE),
		       sizeof(rsp));
		/* The answer to an extra-info slot: it has no id. */
		if (rsp.status == PVKIT_NETIF_RSP_NULL)
			continue;
		if (rsp.id >= PVKIT_NET_TX_SLOTS || !q->tx[rsp.id].out) {
			pvkit_net_count(&q->counters.tx_bad_responses);
			continue;
		}
		/* The backend is done with the id, whatever it says. */
		q->tx[rsp.id].out = false;
		q->tx_free[q->nr_tx_free++] = rsp.id;
		if (rsp.status < PVKIT_NETIF_RSP_DROPPED ||
		    rsp.status > PVKIT_NETIF_RSP_OKAY)
			pvkit_net_count(&q->counters.tx_bad_responses);
		else if (rsp.status != PVKIT_NETIF_RSP_OKAY)
			pvkit_net_count(&q->counters.tx_errors);
	}
	txq = netdev_get_tx_queue(q->np->netdev, q->index);
	if (netif_tx_queue_stopped(txq) && q->np->connected &&
	    q->nr_tx_free >= PVKIT_NET_TX_WAKE &&
	    pvkit_net_tx_ring_free(q) >= PVKIT_NETIF_MAX_TX_SLOTS)
		netif_tx_wake_queue(txq);
out:
	spin_unlock(&q->tx_lock);
}

static int pvkit_net_poll(struct napi_struct *napi, int budget)
{
	struct pvkit_net_queue *q = container_of(napi, struct pvkit_net_queue,
						 napi);
	int done = 0;

	/* Scheduled by a late event while the rings were being torn down. */
	if (!q->np->rings_up) {
		napi_complete_done(napi, 0);
		return 0;
	}
	if (!q->broken)
		pvkit_net_tx_complete(q);
	if (!q->broken)
		done = pvkit_net_rx(q, budget);
	if (done == budget || !napi_complete_done(napi, done))
		return done;
	if (q->broken)
		return done;
	/*
	 * Both rings share the event: ask for it at the next response of
	 * either, and look once more for what came in meanwhile.
	 */
	if (pvkit_ring_rearm_responses(q->tx_sring, q->tx_rsp_cons) |
	    pvkit_ring_rearm_responses(q->rx_sring, q->rx_rsp_cons))
		napi_schedule(napi);
	return done;
}

static irqreturn_t pvkit_net_interrupt(int irq, void *data)
{
	struct pvkit_net_queue *q = data;

	napi_schedule(&q->napi);
	return IRQ_HANDLED;
}

/*
 * The GSO slot for @skb, or false if the backend cannot segment it (it
 * went away, or came back without the feature, while @skb was queued).
 */
static bool pvkit_net_gso_slot(struct pvkit_netfront *np, struct sk_buff *skb,
			       struct pvkit_netif_extra_info *gso)
{
	unsigned int type = skb_shinfo(skb)->gso_type;

	memset(gso, 0, sizeof(*gso));
	gso->type = PVKIT_NETIF_EXTRA_TYPE_GSO;
	gso->gso_size = skb_shinfo(skb)->gso_size;
	if ((type & SKB_GSO_TCPV4) && READ_ONCE(np->backend_tso4))
		gso->gso_type = PVKIT_NETIF_GSO_TYPE_TCPV4;
	else if ((type & SKB_GSO_TCPV6) && READ_ONCE(np->backend_tso6))
		gso->gso_type = PVKIT_NETIF_GSO_TYPE_TCPV6;
	return gso->gso_type && READ_ONCE(np->backend_sg);
}

/* Write one transmit request; a packet's data goes a page per id. */
static void pvkit_net_tx_request(struct pvkit_net_queue *q, u16 id,
				 u16 size, u16 flags)
{
	struct pvkit_netif_tx_request *req;

	req = pvkit_net_slot(q->tx_sring, q->tx_prod_pvt++,
			     PVKIT_NET_TX_SLOTS, PVKIT_NETIF_TX_SLOT_SIZE);
	req->gref = q->tx[id].gref;
	req->offset = 0;
	req->flags = flags;
	req->id = id;
	req->size = size;
	q->tx[id].out = true;
}

/*
 * Copy @skb into ids' pages and put it on the ring: the first request
 * (whose size is the whole packet's), the GSO slot if any, then a request
 * per further page.  The caller holds tx_lock and checked the space.
 */
static void pvkit_net_tx_put(struct pvkit_net_queue *q, struct sk_buff *skb,
			     unsigned int pages, u16 flags,
			     const struct pvkit_netif_extra_info *gso)
{
	unsigned int i, off, chunk;
	u16 id;

	for (i = 0, off = 0; i < pages; i++, off += chunk) {
		chunk = min_t(unsigned int, skb->len - off, PAGE_SIZE);
		id = q->tx_free[--q->nr_tx_free];
		/* The page is ours until the backend has it: no one else
		 * writes.
		 */
		skb_copy_bits(skb, off, page_address(q->tx[id].page), chunk);
		if (i + 1 < pages)
			flags |= PVKIT_NETTXF_MORE_DATA;
		else
			flags &= ~PVKIT_NETTXF_MORE_DATA;
		pvkit_net_tx_request(q, id, i ? chunk : skb->len, flags);
		if (!i && gso) {
			memcpy(pvkit_net_slot(q->tx_sring, q->tx_prod_pvt++,
					      PVKIT_NET_TX_SLOTS,
					      PVKIT_NETIF_TX_SLOT_SIZE),
			       gso, sizeof(*gso));
		}
		/* Further requests carry only their own flags. */
		flags &= PVKIT_NETTXF_MORE_DATA;
	}
}

static netdev_tx_t pvkit_net_start_xmit(struct sk_buff *skb,
					struct net_device *netdev)
{
	struct pvkit_netfront *np = netdev_priv(netdev);
	u16 index = skb_get_queue_mapping(skb);
	struct pvkit_netif_extra_info gso;
	unsigned int len = skb->len, pages, slots;
	struct netdev_queue *txq;
	struct pvkit_net_queue *q;
	bool is_gso = skb_is_gso(skb);
	u16 flags = 0;

	pages = DIV_ROUND_UP(len, PAGE_SIZE);
	slots = pages + is_gso;
	if (len < ETH_HLEN || len > PVKIT_NETIF_MAX_TX_SIZE ||
	    (pages > 1 && !READ_ONCE(np->backend_sg)) ||
	    (is_gso && !pvkit_net_gso_slot(np, skb, &gso)))
		goto drop;
	/* Checksums the stack left to us (NETIF_F_IP_CSUM, IPV6_CSUM when
	 * the backend offers it): the backend fills them in.
	 */
	if (skb->ip_summed == CHECKSUM_PARTIAL)
		flags = PVKIT_NETTXF_CSUM_BLANK | PVKIT_NETTXF_DATA_VALIDATED;
	if (is_gso)
		flags |= PVKIT_NETTXF_EXTRA_INFO;

	/* The stack picks a queue below real_num_tx_queues = nr_queues. */
	q = &np->queues[index < np->max_queues ? index : 0];
	txq = netdev_get_tx_queue(netdev, q->index);
	spin_lock(&q->tx_lock);
	if (!np->connected || q->broken || q->index >= np->nr_queues) {
		spin_unlock(&q->tx_lock);
		goto drop;
	}
	if (!pvkit_net_tx_fits(q, slots, pages)) {
		/* The queue stops before this can happen. */
		netif_tx_stop_queue(txq);
		spin_unlock(&q->tx_lock);
		return NETDEV_TX_BUSY;
	}
	pvkit_net_tx_put(q, skb, pages, flags, is_gso ? &gso : NULL);
	/* Room for the largest packet, or stop until completions make it. */
	if (!pvkit_net_tx_fits(q, PVKIT_NETIF_MAX_TX_SLOTS,
			       PVKIT_NETIF_MAX_TX_SLOTS))
		netif_tx_stop_queue(txq);
	if ((!netdev_xmit_more() || netif_tx_queue_stopped(txq)) &&
	    pvkit_ring_push_requests(q->tx_sring, q->tx_prod_pvt))
		pvkit_evtchn_notify(q->irq);
	spin_unlock(&q->tx_lock);

	pvkit_net_stats_add(&q->tx_stats, len);
	dev_consume_skb_any(skb);
	return NETDEV_TX_OK;
drop:
	q = &np->queues[0];
	spin_lock(&q->tx_lock);
	pvkit_net_count(&q->counters.tx_dropped);
	spin_unlock(&q->tx_lock);
	dev_kfree_skb_any(skb);
	return NETDEV_TX_OK;
}

/* Offloads the backend does not offer are off, whatever ethtool says. */
static netdev_features_t pvkit_net_fix_features(struct net_device *netdev,
						netdev_features_t features)
{
	struct pvkit_netfront *np = netdev_priv(netdev);

	if (!np->backend_ipv6_csum)
		features &= ~NETIF_F_IPV6_CSUM;
	if (!np->backend_sg || !np->backend_tso4)
		features &= ~NETIF_F_TSO;
	if (!np->backend_sg || !np->backend_tso6)
		features &= ~NETIF_F_TSO6;
	return features;
}

/* Every allocated queue's NAPI runs while the NIC is up. */
static int pvkit_net_open(struct net_device *netdev)
{
	struct pvkit_netfront *np = netdev_priv(netdev);
	unsigned int i;

	for (i = 0; i < np->max_queues; i++)
		napi_enable(&np->queues[i].napi);
	netif_tx_start_all_queues(netdev);
	/* Anything that arrived while the NIC was down is waiting. */
	for (i = 0; np->rings_up && i < np->nr_queues; i++)
		napi_schedule(&np->queues[i].napi);
	return 0;
}

static int pvkit_net_stop(struct net_device *netdev)
{
	struct pvkit_netfront *np = netdev_priv(netdev);
	unsigned int i;

	netif_tx_disable(netdev);
	for (i = 0; i < np->max_queues; i++)
		napi_disable(&np->queues[i].napi);
	return 0;
}

/* The transmit queue stayed stopped: say where the ring stands. */
static void pvkit_net_tx_timeout(struct net_device *netdev,
				 unsigned int txqueue)
{
	struct pvkit_netfront *np = netdev_priv(netdev);
	struct pvkit_net_queue *q;

	if (txqueue >= np->max_queues)
		return;
	q = &np->queues[txqueue];
	spin_lock_bh(&q->tx_lock);
	pvkit_net_count(&q->counters.tx_timeouts);
	if (np->connected && txqueue < np->nr_queues) {
		netdev_warn(netdev,
			    "queue %u: transmit stalled: req_prod %u req_event %u rsp_prod %u, %u ids free\n",
			    txqueue, READ_ONCE(q->tx_sring->req_prod),
			    READ_ONCE(q->tx_sring->req_event),
			    READ_ONCE(q->tx_sring->rsp_prod), q->nr_tx_free);
		/* A lost notification would explain it: send one more. */
		pvkit_evtchn_notify(q->irq);
	}
	spin_unlock_bh(&q->tx_lock);
}

static void pvkit_net_stats_read(struct pvkit_net_stats *st, u64 *packets,
				 u64 *bytes)
{
	unsigned int start;

	do {
		start = u64_stats_fetch_begin(&st->syncp);
		*packets = u64_stats_read(&st->packets);
		*bytes = u64_stats_read(&st->bytes);
	} while (u64_stats_fetch_retry(&st->syncp, start));
}

/* A counter summed over the allocated queues. */
static u64 pvkit_net_counter(struct pvkit_netfront *np, size_t offset)
{
	u64 sum = 0;
	unsigned int i;

	for (i = 0; i < np->max_queues; i++)
		sum += READ_ONCE(*(unsigned long *)((u8 *)&np->queues[i].counters +
						    offset));
	return sum;
}

#define pvkit_net_sum(np, name) \
	pvkit_net_counter(np, offsetof(struct pvkit_net_counters, name))

static void pvkit_net_get_stats64(struct net_device *netdev,
				  struct rtnl_link_stats64 *s)
{
	struct pvkit_netfront *np = netdev_priv(netdev);
	u64 packets, bytes;
	unsigned int i;

	for (i = 0; i < np->max_queues; i++) {
		pvkit_net_stats_read(&np->queues[i].rx_stats, &packets, &bytes);
		s->rx_packets += packets;
		s->rx_bytes += bytes;
		pvkit_net_stats_read(&np->queues[i].tx_stats, &packets, &bytes);
		s->tx_packets += packets;
		s->tx_bytes += bytes;
	}
	s->rx_errors = pvkit_net_sum(np, rx_errors) +
		       pvkit_net_sum(np, rx_bad_responses);
	s->tx_errors = pvkit_net_sum(np, tx_errors) +
		       pvkit_net_sum(np, tx_bad_responses);
	s->rx_dropped = pvkit_net_sum(np, rx_dropped);
	s->tx_dropped = pvkit_net_sum(np, tx_dropped);
}

static const struct net_device_ops pvkit_net_ops = {
	.ndo_open		= pvkit_net_open,
	.ndo_stop		= pvkit_net_stop,
	.ndo_start_xmit		= pvkit_net_start_xmit,
	.ndo_tx_timeout		= pvkit_net_tx_timeout,
	.ndo_get_stats64	= pvkit_net_get_stats64,
	.ndo_fix_features	= pvkit_net_fix_features,
	.ndo_set_mac_address	= eth_mac_addr,
	.ndo_validate_addr	= eth_validate_addr,
};

static void pvkit_net_get_drvinfo(struct net_device *netdev,
				  struct ethtool_drvinfo *info)
{
	struct pvkit_netfront *np = netdev_priv(netdev);

	strscpy(info->driver, "pvkit-netfront", sizeof(info->driver));
	strscpy(info->bus_info, dev_name(&np->dev->dev),
		sizeof(info->bus_info));
}

static int pvkit_net_get_sset_count(struct net_device *netdev, int sset)
{
	return sset == ETH_SS_STATS ? ARRAY_SIZE(pvkit_net_counter_names) :
				      -EOPNOTSUPP;
}

static void pvkit_net_get_strings(struct net_device *netdev, u32 sset,
				  u8 *data)
{
	if (sset == ETH_SS_STATS)
		memcpy(data, pvkit_net_counter_names,
		       sizeof(pvkit_net_counter_names));
}

static void pvkit_net_get_ethtool_stats(struct net_device *netdev,
					struct ethtool_stats *stats, u64 *data)
{
	struct pvkit_netfront *np = netdev_priv(netdev);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pvkit_net_counter_names); i++)
		data[i] = pvkit_net_counter(np, i * sizeof(unsigned long));
}

static void pvkit_net_get_channels(struct net_device *netdev,
				   struct ethtool_channels *ch)
{
	struct pvkit_netfront *np = netdev_priv(netdev);

	ch->max_combined = np->max_queues;
	ch->combined_count = np->nr_queues;
}

static const struct ethtool_ops pvkit_net_ethtool_ops = {
	.get_drvinfo		= pvkit_net_get_drvinfo,
	.get_link		= ethtool_op_get_link,
	.get_sset_count		= pvkit_net_get_sset_count,
	.get_strings		= pvkit_net_get_strings,
	.get_ethtool_stats	= pvkit_net_get_ethtool_stats,
	.get_channels		= pvkit_net_get_channels,
};

/* Give a buffer's page back: at once, or once the backend lets go. */
static void pvkit_net_free_buf(struct pvkit_net_buf *buf)
{
	if (buf->gref >= 0)
		pvkit_gnttab_revoke_deferred(buf->gref, buf->page);
	else if (buf->page)
		__free_page(buf->page);
	buf->page = NULL;
	buf->gref = -1;
	buf->out = false;
}

/* Grant @page through a reference of the NIC's reservation. */
static int pvkit_net_grant(struct pvkit_netfront *np, struct page *page,
			   bool readonly)
{
	int ref, ret;

	ref = pvkit_gnttab_claim(&np->resv);
	if (ref < 0)
		return ref;
	ret = pvkit_gnttab_grant_ref(ref, page_to_pfn(page), readonly);
	if (ret) {
		pvkit_gnttab_unclaim(&np->resv, ref);
		return ret;
	}
	return ref;
}

/* A zeroed page for a buffer, granted to the backend. */
static int pvkit_net_alloc_buf(struct pvkit_netfront *np,
			       struct pvkit_net_buf *buf, bool readonly)
{
	buf->page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!buf->page)
		return -ENOMEM;
	buf->gref = pvkit_net_grant(np, buf->page, readonly);
	return buf->gref < 0 ? buf->gref : 0;
}

/* A zeroed ring page, granted read-write; -errno or its grant. */
static int pvkit_net_alloc_ring(struct pvkit_netfront *np,
				struct pvkit_ring_header **sring)
{
	int ref;

	*sring = (void *)get_zeroed_page(GFP_KERNEL);
	if (!*sring)
		return -ENOMEM;
	(*sring)->req_event = 1;
	(*sring)->rsp_event = 1;
	ref = pvkit_net_grant(np, virt_to_page(*sring), false);
	if (ref < 0) {
		free_page((unsigned long)*sring);
		*sring = NULL;
	}
	return ref;
}

static void pvkit_net_free_ring(struct pvkit_ring_header **sring, int *ref)
{
	if (*ref >= 0)
		pvkit_gnttab_revoke_deferred(*ref, virt_to_page(*sring));
	else if (*sring)
		free_page((unsigned long)*sring);
	*sring = NULL;
	*ref = -1;
}

/*
 * Give up the rings and buffers.  The backend unmaps them only after we
 * said Closed, so each page is freed once its revoke goes through.
 * Called with NAPI disabled or never enabled, and @irq already freed.
 */
static void pvkit_net_release_queue(struct pvkit_net_queue *q)
{
	unsigned int i;

	for (i = 0; i < PVKIT_NET_TX_SLOTS; i++)
		pvkit_net_free_buf(&q->tx[i]);
	for (i = 0; i < PVKIT_NET_RX_SLOTS; i++)
		pvkit_net_free_buf(&q->rx[i]);
	pvkit_net_free_ring(&q->tx_sring, &q->tx_ring_ref);
	pvkit_net_free_ring(&q->rx_sring, &q->rx_ring_ref);
}

static int pvkit_net_alloc_queue(struct pvkit_net_queue *q)
{
	unsigned int i;
	int ret;

	q->tx_ring_ref = pvkit_net_alloc_ring(q->np, &q->tx_sring);
	if (q->tx_ring_ref < 0)
		return q->tx_ring_ref;
	q->rx_ring_ref = pvkit_net_alloc_ring(q->np, &q->rx_sring);
	if (q->rx_ring_ref < 0)
		return q->rx_ring_ref;
	for (i = 0; i < PVKIT_NET_TX_SLOTS; i++) {
		ret = pvkit_net_alloc_buf(q->np, &q->tx[i], true);
		if (ret)
			return ret;
		q->tx_free[i] = i;
	}
	for (i = 0; i < PVKIT_NET_RX_SLOTS; i++) {
		ret = pvkit_net_alloc_buf(q->np, &q->rx[i], false);
		if (ret)
			return ret;
		q->rx_free[i] = i;
	}
	q->nr_tx_free = PVKIT_NET_TX_SLOTS;
	q->nr_rx_free = PVKIT_NET_RX_SLOTS;
	q->tx_prod_pvt = 0;
	q->tx_rsp_cons = 0;
	q->rx_prod_pvt = 0;
	q->rx_rsp_cons = 0;
	return 0;
}

/* Give up every queue's rings and buffers (see the queue's). */
static void pvkit_net_release(struct pvkit_netfront *np)
{
	unsigned int i;

	for (i = 0; i < np->max_queues; i++)
		pvkit_net_release_queue(&np->queues[i]);
	pvkit_gnttab_unreserve(&np->resv);
}

/* Write a queue's @key: below queue-<n>/ when there are several. */
static int pvkit_net_queue_key(struct pvkit_net_queue *q, const char *key,
			       unsigned int val)
{
	char path[32];

	if (q->np->nr_queues > 1)
		snprintf(path, sizeof(path), "queue-%u/%s", q->index, key);
	else
		strscpy(path, key, sizeof(path));
	return pvkit_bus_printf(q->np->dev, path, "%u", val);
}

/* A queue's rings and event channel. */
static int pvkit_net_publish_queue(struct pvkit_net_queue *q)
{
	int ret;

	ret = pvkit_net_queue_key(q, "tx-ring-ref", q->tx_ring_ref);
	if (!ret)
		ret = pvkit_net_queue_key(q, "rx-ring-ref", q->rx_ring_ref);
	if (!ret)
		ret = pvkit_net_queue_key(q, "event-channel",
					  pvkit_evtchn_port(q->irq));
	return ret;
}

/* Tell the backend where the rings are and what we can take. */
static int pvkit_net_publish(struct pvkit_netfront *np)
{
	struct pvkit_bus_device *dev = np->dev;
	struct pvkit_net_queue *q;
	int ret = 0;

	if (np->nr_queues > 1)
		ret = pvkit_bus_printf(dev, "multi-queue-num-queues", "%u",
				       np->nr_queues);
	for (q = np->queues; q < np->queues + np->nr_queues; q++) {
		if (!ret)
			ret = pvkit_net_publish_queue(q);
	}
	/* Received packets are copied into our buffers, never flipped. */
	if (!ret)
		ret = pvkit_bus_printf(dev, "request-rx-copy", "1");
	/* ... and may fill several of them. */
	if (!ret)
		ret = pvkit_bus_printf(dev, "feature-sg", "1");
	if (!ret)
		ret = pvkit_bus_printf(dev, "feature-rx-notify", "1");
	/* A received packet must have its checksum filled in. */
	if (!ret)
		ret = pvkit_bus_printf(dev, "feature-no-csum-offload", "1");
	return ret;
}

/* Use @queues ring pairs; the rings are down. */
static void pvkit_net_set_queues(struct pvkit_netfront *np,
				 unsigned int queues)
{
	rtnl_lock();
	np->nr_queues = queues;
	netif_set_real_num_tx_queues(np->netdev, queues);
	netif_set_real_num_rx_queues(np->netdev, queues);
	rtnl_unlock();
}

/*
 * Reserve the grant references of every queue, with fewer queues if the
 * table has too few free.  -EAGAIN: not enough for one queue, and
 * the bus calls pvkit_net_retry() once there are.
 */
static int pvkit_net_reserve(struct pvkit_netfront *np)
{
	unsigned int queues = np->nr_queues, free;
	int ret;

	for (;;) {
		ret = pvkit_gnttab_reserve(&np->resv,
					   queues * PVKIT_NET_QUEUE_GRANTS);
		if (ret != -ENOSPC)
			break;
		free = pvkit_gnttab_free_count();
		if (free >= PVKIT_NET_QUEUE_GRANTS) {
			queues = clamp(free / PVKIT_NET_QUEUE_GRANTS, 1U,
				       max(queues - 1, 1U));
			continue;
		}
		pvkit_bus_retry_when_grants_free(np->dev,
						 PVKIT_NET_QUEUE_GRANTS, 1);
		dev_info_ratelimited(&np->dev->dev,
				     "%u grant references free, too few: setting up once more are\n",
				     free);
		return -EAGAIN;
	}
	if (!ret && queues != np->nr_queues) {
		dev_info(&np->dev->dev,
			 "grant table too full for %u queues: using %u\n",
			 np->nr_queues, queues);
		pvkit_net_set_queues(np, queues);
	}
	return ret;
}

/*
 * One queue's rings, buffers, grants and event channel; its interrupt
 * goes to the queue's CPU, and so does its transmit traffic (XPS).  The
 * receive ring gets all its buffers before the backend can see it.
 */
static int pvkit_net_setup_queue(struct pvkit_net_queue *q)
{
	struct pvkit_bus_device *dev = q->np->dev;
	unsigned int cpu = cpumask_local_spread(q->index, NUMA_NO_NODE);
	int ret;

	q->broken = false;
	ret = pvkit_net_alloc_queue(q);
	if (ret)
		return ret;
	ret = pvkit_bus_bind_evtchn_handler(dev, pvkit_net_interrupt, 0, q->name,
					    q);
	if (ret < 0)
		return ret;
	q->irq = ret;
	irq_set_affinity_and_hint(q->irq, cpumask_of(cpu));
	netif_set_xps_queue(q->np->netdev, cpumask_of(cpu), q->index);
	pvkit_net_rx_refill(q, false);
	return 0;
}

/*
 * Every queue's rings, then the keys that publish them.  Runs with NAPI
 * idle (rings_up is false).
 */
static int pvkit_net_setup(struct pvkit_netfront *np)
{
	struct pvkit_net_queue *q;
	int ret;

	ret = pvkit_net_reserve(np);
	if (ret)
		return ret;
	for (q = np->queues; q < np->queues + np->nr_queues; q++) {
		ret = pvkit_net_setup_queue(q);
		if (ret)
			return ret;
	}
	ret = pvkit_net_publish(np);
	if (!ret)
		np->rings_up = true;
	return ret;
}

/* Stop the data path; afterwards nothing touches the rings. */
static void pvkit_net_quiesce(struct pvkit_netfront *np)
{
	struct net_device *netdev = np->netdev;
	unsigned int i, n = 0, *irqs;
	struct pvkit_net_queue *q;

	netif_carrier_off(netdev);
	for (i = 0; i < np->max_queues; i++) {
		spin_lock_bh(&np->queues[i].tx_lock);
		np->connected = false;
		spin_unlock_bh(&np->queues[i].tx_lock);
	}
	rtnl_lock();
	for (i = 0; netif_running(netdev) && i < np->max_queues; i++)
		napi_disable(&np->queues[i].napi);
	np->rings_up = false;
	for (i = 0; netif_running(netdev) && i < np->max_queues; i++)
		napi_enable(&np->queues[i].napi);
	rtnl_unlock();
	/* All the queues' ports in one batch: one wait for upcalls in all. */
	irqs = kcalloc(np->nr_queues, sizeof(*irqs), GFP_KERNEL);
	for (q = np->queues; q < np->queues + np->nr_queues; q++) {
		if (q->irq > 0) {
			irq_update_affinity_hint(q->irq, NULL);
			free_irq(q->irq, q);
			if (irqs)
				irqs[n++] = q->irq;
			else
				pvkit_evtchn_unbind(q->irq);
			q->irq = 0;
		}
	}
	pvkit_evtchn_unbind_many(irqs, n);
	kfree(irqs);
}

/* Stop, tell the backend we are closed, give everything back. */
static void pvkit_net_close(struct pvkit_netfront *np)
{
	pvkit_net_quiesce(np);
	pvkit_bus_switch_state(np->dev, PVKIT_BUS_CLOSED);
	pvkit_net_release(np);
}

static bool pvkit_net_backend_flag(struct pvkit_bus_device *dev,
				   const char *key)
{
	unsigned int val;

	return !pvkit_bus_read_otherend_uint(dev, key, &val) && val;
}

/*
 * Read what the backend offers: transmit offloads (the features follow)
 * and ring pairs (one per online CPU, as many as both sides have).
 */
static void pvkit_net_read_backend(struct pvkit_netfront *np)
{
	struct pvkit_bus_device *dev = np->dev;
	unsigned int queues = 1;

	pvkit_bus_read_otherend_uint(dev, "multi-queue-max-queues", &queues);
	queues = clamp(queues, 1U, min(np->max_queues, num_online_cpus()));
	pvkit_net_set_queues(np, queues);
	rtnl_lock();
	WRITE_ONCE(np->backend_sg, pvkit_net_backend_flag(dev, "feature-sg"));
	WRITE_ONCE(np->backend_tso4,
		   pvkit_net_backend_flag(dev, "feature-gso-tcpv4"));
	WRITE_ONCE(np->backend_tso6,
		   pvkit_net_backend_flag(dev, "feature-gso-tcpv6"));
	WRITE_ONCE(np->backend_ipv6_csum,
		   pvkit_net_backend_flag(dev, "feature-ipv6-csum-offload"));
	netdev_update_features(np->netdev);
	/* Frames beyond a page need several slots on the transmit ring. */
	np->netdev->max_mtu = np->backend_sg ? PVKIT_NET_MAX_SG_MTU :
					       PVKIT_NET_MAX_MTU;
	rtnl_unlock();
}

/* The backend is connected: traffic may flow. */
static void pvkit_net_connect(struct pvkit_netfront *np)
{
	struct pvkit_net_queue *q;

	if (np->connected || !np->rings_up)
		return;
	for (q = np->queues; q < np->queues + np->nr_queues; q++) {
		spin_lock_bh(&q->tx_lock);
		np->connected = true;
		spin_unlock_bh(&q->tx_lock);
	}
	netif_carrier_on(np->netdev);
	netif_tx_wake_all_queues(np->netdev);
	/* Packets may have been answered before we listened. */
	for (q = np->queues; q < np->queues + np->nr_queues; q++)
		napi_schedule(&q->napi);
	netdev_info(np->netdev, "connected to %s, MAC %pM, %u queue%s%s%s%s\n",
		    np->dev->otherend, np->netdev->dev_addr, np->nr_queues,
		    np->nr_queues > 1 ? "s" : "",
		    np->backend_sg ? ", sg" : "",
		    np->backend_sg && np->backend_tso4 ? ", tso4" : "",
		    np->backend_sg && np->backend_tso6 ? ", tso6" : "");
}

static void pvkit_net_changed(struct pvkit_bus_device *dev, int state)
{
	struct pvkit_netfront *np = dev_get_drvdata(&dev->dev);
	int ret;

	switch (state) {
	case PVKIT_BUS_INITWAIT:
		if (dev->state == PVKIT_BUS_CLOSED)
			pvkit_bus_switch_state(dev, PVKIT_BUS_INITIALISING);
		if (dev->state != PVKIT_BUS_INITIALISING)
			break;
		pvkit_net_read_backend(np);
		ret = pvkit_net_setup(np);
		/* Waiting for grant references: pvkit_net_retry() comes. */
		if (ret == -EAGAIN)
			break;
		/* xen-net-device connects when the frontend says Connected. */
		if (!ret)
			ret = pvkit_bus_switch_state(dev, PVKIT_BUS_CONNECTED);
		if (ret) {
			dev_err(&dev->dev, "cannot set up the rings: %d\n", ret);
			pvkit_net_close(np);
		}
		break;
	case PVKIT_BUS_CONNECTED:
		if (dev->state == PVKIT_BUS_CONNECTED)
			pvkit_net_connect(np);
		break;
	case PVKIT_BUS_CLOSING:
	case PVKIT_BUS_CLOSED:
		if (dev->state == PVKIT_BUS_CLOSED)
			break;
		pvkit_bus_switch_state(dev, PVKIT_BUS_CLOSING);
		pvkit_net_close(np);
		break;
	default:
		break;
	}
}

/* The MAC address the backend chose, from our own directory. */
static void pvkit_net_read_mac(struct pvkit_netfront *np)
{
	char path[128], buf[32];
	u8 mac[ETH_ALEN];

	snprintf(path, sizeof(path), "%s/mac", np->dev->nodename);
	if (pvkit_store_read(PVKIT_XBT_NULL, path, buf, sizeof(buf)) > 0 &&
	    mac_pton(strim(buf), mac) && is_valid_ether_addr(mac)) {
		eth_hw_addr_set(np->netdev, mac);
		return;
	}
	dev_warn(&np->dev->dev, "no usable MAC address in the store: using a random one\n");
	eth_hw_addr_random(np->netdev);
}

/* A queue with nothing set up yet; its NAPI is added (and disabled). */
static void pvkit_net_init_queue(struct pvkit_netfront *np, unsigned int i)
{
	struct pvkit_net_queue *q = &np->queues[i];
	unsigned int j;

	q->np = np;
	q->index = i;
	snprintf(q->name, sizeof(q->name), "%s-q%u", dev_name(&np->dev->dev), i);
	q->tx_ring_ref = -1;
	q->rx_ring_ref = -1;
	for (j = 0; j < PVKIT_NET_TX_SLOTS; j++)
		q->tx[j].gref = -1;
	for (j = 0; j < PVKIT_NET_RX_SLOTS; j++)
		q->rx[j].gref = -1;
	spin_lock_init(&q->tx_lock);
	u64_stats_init(&q->rx_stats.syncp);
	u64_stats_init(&q->tx_stats.syncp);
	netif_napi_add(np->netdev, &q->napi, pvkit_net_poll);
}

/* Free what probe allocated; the NIC is unregistered, the rings gone. */
static void pvkit_net_free(struct pvkit_netfront *np)
{
	struct net_device *netdev = np->netdev;
	unsigned int i;

	for (i = 0; i < np->max_queues; i++)
		netif_napi_del(&np->queues[i].napi);
	kvfree(np->queues);
	free_netdev(netdev);
}

/*
 * Grant references came back (the bus calls this, device locked): set up
 * again, as the backend's state asks.
 */
static void pvkit_net_retry(struct pvkit_bus_device *dev)
{
	struct pvkit_netfront *np = dev_get_drvdata(&dev->dev);

	if (!np->rings_up)
		pvkit_net_changed(dev, dev->otherend_state);
}

static int pvkit_net_probe(struct pvkit_bus_device *dev)
{
	unsigned int max_queues, i;
	struct net_device *netdev;
	struct pvkit_netfront *np;
	int ret;

	max_queues = min_t(unsigned int, num_possible_cpus(),
			   PVKIT_NET_MAX_QUEUES);
	netdev = alloc_etherdev_mq(sizeof(*np), max_queues);
	if (!netdev)
		return -ENOMEM;
	np = netdev_priv(netdev);
	np->dev = dev;
	np->netdev = netdev;
	np->max_queues = max_queues;
	np->nr_queues = 1;
	np->queues = kvcalloc(max_queues, sizeof(*np->queues), GFP_KERNEL);
	if (!np->queues) {
		free_netdev(netdev);
		return -ENOMEM;
	}
	for (i = 0; i < max_queues; i++)
		pvkit_net_init_queue(np, i);

	netdev->netdev_ops = &pvkit_net_ops;
	netdev->ethtool_ops = &pvkit_net_ethtool_ops;
	netdev->watchdog_timeo = 5 * HZ;
	/* The backend does not filter on the MAC: it may change while up. */
	netdev->priv_flags |= IFF_LIVE_ADDR_CHANGE;
	/*
	 * Packets are copied, so any skb layout will do; checksums and TCP
	 * segmentation are left to the backend as far as it offers them
	 * (pvkit_net_fix_features()), IPv4 checksums always.
	 */
	netdev->hw_features = NETIF_F_SG | NETIF_F_IP_CSUM | NETIF_F_RXCSUM |
			      NETIF_F_IPV6_CSUM | NETIF_F_TSO | NETIF_F_TSO6;
	netdev->features = netdev->hw_features;
	/* The packet's size is a u16 on the wire, headers included. */
	netif_set_tso_max_size(netdev, PVKIT_NETIF_MAX_TX_SIZE - MAX_TCP_HEADER);
	netdev->min_mtu = ETH_MIN_MTU;
	netdev->max_mtu = PVKIT_NET_MAX_MTU;
	SET_NETDEV_DEV(netdev, &dev->dev);
	netif_set_real_num_tx_queues(netdev, 1);
	netif_set_real_num_rx_queues(netdev, 1);
	pvkit_net_read_mac(np);
	netif_carrier_off(netdev);
	dev_set_drvdata(&dev->dev, np);

	ret = register_netdev(netdev);
	if (ret)
		goto free;
	ret = pvkit_bus_switch_state(dev, PVKIT_BUS_INITIALISING);
	if (!ret)
		return 0;
	unregister_netdev(netdev);
free:
	pvkit_net_free(np);
	return ret;
}

static void pvkit_net_remove(struct pvkit_bus_device *dev)
{
	struct pvkit_netfront *np = dev_get_drvdata(&dev->dev);
	struct net_device *netdev = np->netdev;

	unregister_netdev(netdev);
	pvkit_net_close(np);
	pvkit_net_free(np);
}

static ssize_t bad_responses_show(struct device *d,
				  struct device_attribute *attr, char *buf)
{
	struct pvkit_netfront *np = dev_get_drvdata(d);

	return sysfs_emit(buf, "%llu\n", pvkit_net_sum(np, rx_bad_responses) +
			  pvkit_net_sum(np, tx_bad_responses));
}
static DEVICE_ATTR_RO(bad_responses);

static ssize_t netdev_show(struct device *d, struct device_attribute *attr,
			   char *buf)
{
	struct pvkit_netfront *np = dev_get_drvdata(d);

	return sysfs_emit(buf, "%s\n", netdev_name(np->netdev));
}
static DEVICE_ATTR_RO(netdev);

static struct attribute *pvkit_net_attrs[] = {
	&dev_attr_bad_responses.attr,
	&dev_attr_netdev.attr,
	NULL,
};
ATTRIBUTE_GROUPS(pvkit_net);

static struct pvkit_bus_driver pvkit_net_driver = {
	.type			= "vif",
	.probe			= pvkit_net_probe,
	.remove			= pvkit_net_remove,
	.otherend_changed	= pvkit_net_changed,
	.retry			= pvkit_net_retry,
	.driver = {
		.name		= "pvkit-netfront",
		.dev_groups	= pvkit_net_groups,
	},
};

static int __init pvkit_net_init(void)
{
	if (!pvkit_available())
		return -ENODEV;
	return pvkit_bus_register_driver(&pvkit_net_driver);
}
module_init(pvkit_net_init);

static void __exit pvkit_net_exit(void)
{
	pvkit_bus_unregister_driver(&pvkit_net_driver);
}
module_exit(pvkit_net_exit);

MODULE_DESCRIPTION("pvkit network frontend");
MODULE_LICENSE("GPL");
