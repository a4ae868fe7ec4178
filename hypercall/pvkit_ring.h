/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * pvkit shared rings: the header every split device's ring page starts
 * with (SPEC.md section 10).  It is Xen's shared ring ("sring") header,
 * so Xen-style backends find the indexes where they expect them.
 */
#ifndef _UAPI_LINUX_PVKIT_RING_H
#define _UAPI_LINUX_PVKIT_RING_H

#include <linux/types.h>

/**
 * struct pvkit_ring_header - head of a shared ring page (Xen's sring)
 * @req_prod: requests produced by the frontend (free-running)
 * @req_event: the backend wants an event when req_prod passes this
 * @rsp_prod: responses produced by the backend (free-running)
 * @rsp_event: the frontend wants an event when rsp_prod passes this
 * @pad: zero
 *
 * Slots follow at offset 64; a slot holds one request or one response
 * (union, the larger size); the number of slots is the largest power of
 * two that fits in the ring's pages.
 */
struct pvkit_ring_header {
	__u32 req_prod;
	__u32 req_event;
	__u32 rsp_prod;
	__u32 rsp_event;
	__u8 pad[48];
};

#endif /* _UAPI_LINUX_PVKIT_RING_H */
