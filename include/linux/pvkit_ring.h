/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvkit shared rings, frontend side: publishing requests and re-arming
 * the response event with the notification suppression every split
 * device's ring uses (SPEC.md section 10).
 */
#ifndef _LINUX_PVKIT_RING_H
#define _LINUX_PVKIT_RING_H

#include <linux/compiler.h>
#include <linux/types.h>
#include <asm/barrier.h>
#include <uapi/linux/pvkit_ring.h>

/**
 * pvkit_ring_push_requests() - publish the requests written up to @new
 * @r: the ring's header
 * @new: the frontend's private producer index
 *
 * Return: true if the backend must be notified: it asked for an event
 * (req_event) within the requests this call published.
 */
static inline bool pvkit_ring_push_requests(struct pvkit_ring_header *r,
					    u32 new)
{
	u32 old = READ_ONCE(r->req_prod);

	/* Slots before the index: pairs with the backend's read barrier
	 * after it loads req_prod.
	 */
	virt_wmb();
	WRITE_ONCE(r->req_prod, new);
	/* req_prod visible before req_event is read: pairs with the
	 * backend's full barrier between writing req_event and its last
	 * look at req_prod.
	 */
	virt_mb();
	return new - READ_ONCE(r->req_event) < new - old;
}

/**
 * pvkit_ring_rearm_responses_after() - ask for an event @n responses on
 * @r: the ring's header
 * @cons: the frontend's consumer index (all before it consumed)
 * @n: responses to wait for, at least 1.  The backend owes at least that
 *	many for requests already published, or the event never comes.
 *
 * Return: true if @n responses are in already: the event for them may
 * have been decided before this call, so the caller consumes them
 * before it sleeps.
 */
static inline bool
pvkit_ring_rearm_responses_after(struct pvkit_ring_header *r, u32 cons,
				 u32 n)
{
	WRITE_ONCE(r->rsp_event, cons + n);
	/* rsp_event visible before the last look at rsp_prod: pairs with
	 * the backend's full barrier between publishing responses and
	 * reading rsp_event.
	 */
	virt_mb();
	return READ_ONCE(r->rsp_prod) - cons >= n;
}

/**
 * pvkit_ring_rearm_responses() - ask for an event at the next response
 * @r: the ring's header
 * @cons: the frontend's consumer index (all before it consumed)
 *
 * Return: true if responses arrived meanwhile: they bring no event, so
 * the caller consumes them before it sleeps.
 */
static inline bool pvkit_ring_rearm_responses(struct pvkit_ring_header *r,
					      u32 cons)
{
	return pvkit_ring_rearm_responses_after(r, cons, 1);
}

#endif /* _LINUX_PVKIT_RING_H */
