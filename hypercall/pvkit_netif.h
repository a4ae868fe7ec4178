/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * pvkit split network device: the wire format between a network frontend
 * and its backend (SPEC.md section 11).  It is Xen's netif protocol,
 * native x86_64 layout, so Xen-style backends such as QEMU's
 * xen-net-device serve it unchanged.  Two rings, each one page starting
 * with struct pvkit_ring_header: the transmit ring carries packets to the
 * backend, the receive ring carries empty buffers to it and packets back.
 */
#ifndef _UAPI_LINUX_PVKIT_NETIF_H
#define _UAPI_LINUX_PVKIT_NETIF_H

#include <linux/types.h>
#include <linux/pvkit_ring.h>

/* Transmit request flags. */
#define PVKIT_NETTXF_CSUM_BLANK		(1u << 0)	/* backend fills the L4 checksum */
#define PVKIT_NETTXF_DATA_VALIDATED	(1u << 1)	/* the data is known good */
#define PVKIT_NETTXF_MORE_DATA		(1u << 2)	/* the packet goes on in the next slot */
#define PVKIT_NETTXF_EXTRA_INFO		(1u << 3)	/* an extra-info slot follows */

/* Receive response flags. */
#define PVKIT_NETRXF_DATA_VALIDATED	(1u << 0)	/* checksums were verified */
#define PVKIT_NETRXF_CSUM_BLANK		(1u << 1)	/* the L4 checksum is not filled */
#define PVKIT_NETRXF_MORE_DATA		(1u << 2)	/* the packet goes on in the next slot */
#define PVKIT_NETRXF_EXTRA_INFO		(1u << 3)	/* an extra-info slot follows */
#define PVKIT_NETRXF_GSO_PREFIX		(1u << 4)	/* a GSO prefix slot precedes */

/* Response status (rx: a non-negative status is the packet's size). */
#define PVKIT_NETIF_RSP_DROPPED		(-2)
#define PVKIT_NETIF_RSP_ERROR		(-1)
#define PVKIT_NETIF_RSP_OKAY		0
#define PVKIT_NETIF_RSP_NULL		1	/* an extra-info slot's answer */

/**
 * struct pvkit_netif_tx_request - one packet (or fragment) to send
 * @gref: grant reference of the page holding the data
 * @offset: where the data starts in the page
 * @flags: PVKIT_NETTXF_*
 * @id: the frontend's tag, echoed in the response
 * @size: bytes in this slot; for the first slot of a packet, the whole
 *        packet's size
 *
 * The data must not cross the end of its page.
 */
struct pvkit_netif_tx_request {
	__u32 gref;
	__u16 offset;
	__u16 flags;
	__u16 id;
	__u16 size;
};

/**
 * struct pvkit_netif_tx_response - the backend is done with a request
 * @id: the request's @id
 * @status: PVKIT_NETIF_RSP_*
 */
struct pvkit_netif_tx_response {
	__u16 id;
	__s16 status;
};

/**
 * struct pvkit_netif_rx_request - an empty buffer for the backend to fill
 * @id: the frontend's tag, echoed in the response
 * @pad: zero
 * @gref: grant reference of the buffer's page (granted writable)
 */
struct pvkit_netif_rx_request {
	__u16 id;
	__u16 pad;
	__u32 gref;
};

/**
 * struct pvkit_netif_rx_response - a packet received into a buffer
 * @id: the buffer's request @id
 * @offset: where the packet starts in the page
 * @flags: PVKIT_NETRXF_*
 * @status: the packet's size in bytes, or a negative PVKIT_NETIF_RSP_*
 */
struct pvkit_netif_rx_response {
	__u16 id;
	__u16 offset;
	__u16 flags;
	__s16 status;
};

/* Extra-info slot types and flags. */
#define PVKIT_NETIF_EXTRA_TYPE_GSO	1
#define PVKIT_NETIF_EXTRA_FLAG_MORE	(1u << 0)	/* another extra slot follows */

/* GSO types. */
#define PVKIT_NETIF_GSO_TYPE_TCPV4	1
#define PVKIT_NETIF_GSO_TYPE_TCPV6	2

/* A packet's size is a u16: the most a (GSO) packet may carry. */
#define PVKIT_NETIF_MAX_TX_SIZE		0xffff
/* Slots one transmitted packet may take at most, extra slots included. */
#define PVKIT_NETIF_MAX_TX_SLOTS	18

/**
 * struct pvkit_netif_extra_info - a slot of extra information
 * @type: PVKIT_NETIF_EXTRA_TYPE_*
 * @flags: PVKIT_NETIF_EXTRA_FLAG_*
 * @gso_size: for a GSO slot, the payload bytes of each segment (the MSS)
 * @gso_type: for a GSO slot, PVKIT_NETIF_GSO_TYPE_*
 * @pad: zero
 * @gso_features: zero
 *
 * On the transmit ring an extra slot follows the first request of a
 * packet whose flags have PVKIT_NETTXF_EXTRA_INFO, before its further
 * fragments; it takes a ring slot and is answered with
 * PVKIT_NETIF_RSP_NULL (whose id means nothing).
 */
struct pvkit_netif_extra_info {
	__u8 type;
	__u8 flags;
	__u16 gso_size;
	__u8 gso_type;
	__u8 pad;
	__u16 gso_features;
};

/* Bytes per slot: a slot holds a request or, once answered, its response. */
#define PVKIT_NETIF_TX_SLOT_SIZE	sizeof(struct pvkit_netif_tx_request)
#define PVKIT_NETIF_RX_SLOT_SIZE	sizeof(struct pvkit_netif_rx_request)

#endif /* _UAPI_LINUX_PVKIT_NETIF_H */
