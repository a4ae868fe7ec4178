/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * pvkit split block device: the wire format between a block frontend and
 * its backend (SPEC.md section 10).  It is Xen's blkif protocol, native
 * x86_64 layout ("x86_64-abi"), so Xen-style backends such as QEMU's
 * xen-block serve it unchanged.  Every field is little-endian and at its
 * natural alignment; explicit padding makes the layout plain.
 */
#ifndef _UAPI_LINUX_PVKIT_BLKIF_H
#define _UAPI_LINUX_PVKIT_BLKIF_H

#include <linux/types.h>
#include <linux/pvkit_ring.h>

/* Request operations. */
#define PVKIT_BLKIF_OP_READ		0
#define PVKIT_BLKIF_OP_WRITE		1
#define PVKIT_BLKIF_OP_FLUSH		3	/* Xen: FLUSH_DISKCACHE */
#define PVKIT_BLKIF_OP_DISCARD		5
#define PVKIT_BLKIF_OP_INDIRECT		6	/* read or write, see below */

/* Response status. */
#define PVKIT_BLKIF_RSP_EOPNOTSUPP	(-2)
#define PVKIT_BLKIF_RSP_ERROR		(-1)
#define PVKIT_BLKIF_RSP_OKAY		0

/* Segments (granted pages) one direct request carries at most. */
#define PVKIT_BLKIF_MAX_SEGMENTS	11
/* Pages of segment descriptors one indirect request names at most. */
#define PVKIT_BLKIF_MAX_INDIRECT_PAGES	8
/* Segment descriptors in one such page (4096 / 8). */
#define PVKIT_BLKIF_SEGS_PER_INDIRECT_PAGE	512
/* Largest ring: 2^4 pages (the backend's "max-ring-page-order" may be lower). */
#define PVKIT_BLKIF_MAX_RING_ORDER	4
/* Sectors are always 512 bytes on the wire. */
#define PVKIT_BLKIF_SECTOR_SHIFT	9

/* Bits of the backend's "info" key. */
#define PVKIT_VDISK_CDROM		0x1
#define PVKIT_VDISK_REMOVABLE		0x2
#define PVKIT_VDISK_READONLY		0x4

/* The frontend's "protocol" key for this layout. */
#define PVKIT_BLKIF_PROTOCOL		"x86_64-abi"

/**
 * struct pvkit_blkif_segment - one granted page of a request
 * @gref: grant reference of the page
 * @first_sect: first 512-byte sector of the page used (0-7)
 * @last_sect: last one, inclusive (first_sect-7)
 * @pad: zero
 */
struct pvkit_blkif_segment {
	__u32 gref;
	__u8 first_sect;
	__u8 last_sect;
	__u8 pad[2];
};

/**
 * struct pvkit_blkif_request - read, write or flush
 * @operation: PVKIT_BLKIF_OP_*
 * @nr_segments: entries of @seg used (0 for a flush)
 * @handle: the device's number (its devid)
 * @pad: zero
 * @id: the frontend's tag, echoed in the response
 * @sector_number: first sector on the disk
 * @seg: the data pages, in order
 */
struct pvkit_blkif_request {
	__u8 operation;
	__u8 nr_segments;
	__u16 handle;
	__u32 pad;
	__u64 id;
	__u64 sector_number;
	struct pvkit_blkif_segment seg[PVKIT_BLKIF_MAX_SEGMENTS];
};

/**
 * struct pvkit_blkif_discard - discard a range
 * @operation: PVKIT_BLKIF_OP_DISCARD
 * @flag: 0 (Xen's secure-discard bit is not used)
 * @handle: the device's number
 * @pad: zero
 * @id: the frontend's tag
 * @sector_number: first sector
 * @nr_sectors: sectors to discard
 */
struct pvkit_blkif_discard {
	__u8 operation;
	__u8 flag;
	__u16 handle;
	__u32 pad;
	__u64 id;
	__u64 sector_number;
	__u64 nr_sectors;
};

/**
 * struct pvkit_blkif_indirect - a read or write with its segments elsewhere
 * @operation: PVKIT_BLKIF_OP_INDIRECT
 * @indirect_op: PVKIT_BLKIF_OP_READ or PVKIT_BLKIF_OP_WRITE
 * @nr_segments: segments, 1 to the backend's "feature-max-indirect-segments"
 * @pad: zero
 * @id: the frontend's tag
 * @sector_number: first sector on the disk
 * @handle: the device's number
 * @pad2: zero
 * @indirect_grefs: granted pages holding the segments, an array of
 *	struct pvkit_blkif_segment packed PVKIT_BLKIF_SEGS_PER_INDIRECT_PAGE
 *	to a page; entries past the last page used are ignored
 * @pad3: zero
 *
 * The response carries @indirect_op, not PVKIT_BLKIF_OP_INDIRECT.
 */
struct pvkit_blkif_indirect {
	__u8 operation;
	__u8 indirect_op;
	__u16 nr_segments;
	__u32 pad;
	__u64 id;
	__u64 sector_number;
	__u16 handle;
	__u16 pad2;
	__u32 indirect_grefs[PVKIT_BLKIF_MAX_INDIRECT_PAGES];
	__u32 pad3;
};

/**
 * struct pvkit_blkif_response - completion of one request
 * @id: the request's @id
 * @operation: the request's @operation
 * @pad: undefined
 * @status: PVKIT_BLKIF_RSP_*
 * @pad2: undefined
 */
struct pvkit_blkif_response {
	__u64 id;
	__u8 operation;
	__u8 pad;
	__s16 status;
	__u32 pad2;
};

#define PVKIT_BLKIF_SLOT_SIZE	sizeof(struct pvkit_blkif_request)

#endif /* _UAPI_LINUX_PVKIT_BLKIF_H */
