/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvkit store: the host end of a xenstore ring (Xen's
 * struct xenstore_domain_interface, io/xs_wire.h) and the framing and
 * validation of the messages on it.  Plain C with no QEMU dependency, so
 * it is unit tested on its own (tests/host/); pvkit.c connects it to the
 * store engine (QEMU's hw/i386/kvm/xenstore_impl.c) and an event channel.
 *
 * The guest is hostile: it may change the ring indexes and bytes at any
 * time.  Every index is checked, message bytes are copied out of the ring
 * before they are looked at, and each call does bounded work.
 */
#ifndef HW_PVKIT_XS_RING_H
#define HW_PVKIT_XS_RING_H

#include <stdbool.h>
#include <stdint.h>

/* Layout and numbers of Xen's io/xs_wire.h (checked in pvkit.c). */
#define PVKIT_XS_RING_SIZE      1024
#define PVKIT_XS_PAYLOAD_MAX    4096
#define PVKIT_XS_HDR_SIZE       16
#define PVKIT_XS_MSG_MAX        (PVKIT_XS_HDR_SIZE + PVKIT_XS_PAYLOAD_MAX)

#define PVKIT_XS_ERROR_NONE     0
#define PVKIT_XS_ERROR_COMM     1
#define PVKIT_XS_ERROR_RINGIDX  2
#define PVKIT_XS_ERROR_PROTO    3
#define PVKIT_XS_CONNECTED      0
#define PVKIT_XS_SERVER_FEATURE_ERROR 2

struct pvkit_xs_ring {
    char req[PVKIT_XS_RING_SIZE];
    char rsp[PVKIT_XS_RING_SIZE];
    uint32_t req_cons, req_prod;
    uint32_t rsp_cons, rsp_prod;
    uint32_t server_features;
    uint32_t connection;
    uint32_t error;
};

struct pvkit_xs_hdr {
    uint32_t type;
    uint32_t req_id;
    uint32_t tx_id;
    uint32_t len;
};

/* enum xsd_sockmsg_type */
enum {
    PVKIT_XS_CONTROL = 0,
    PVKIT_XS_DIRECTORY = 1,
    PVKIT_XS_READ = 2,
    PVKIT_XS_GET_PERMS = 3,
    PVKIT_XS_WATCH = 4,
    PVKIT_XS_UNWATCH = 5,
    PVKIT_XS_TRANSACTION_START = 6,
    PVKIT_XS_TRANSACTION_END = 7,
    PVKIT_XS_INTRODUCE = 8,
    PVKIT_XS_RELEASE = 9,
    PVKIT_XS_GET_DOMAIN_PATH = 10,
    PVKIT_XS_WRITE = 11,
    PVKIT_XS_MKDIR = 12,
    PVKIT_XS_RM = 13,
    PVKIT_XS_SET_PERMS = 14,
    PVKIT_XS_WATCH_EVENT = 15,
    PVKIT_XS_ERROR = 16,
    PVKIT_XS_IS_DOMAIN_INTRODUCED = 17,
    PVKIT_XS_RESUME = 18,
    PVKIT_XS_SET_TARGET = 19,
    PVKIT_XS_RESET_WATCHES = 21,
    PVKIT_XS_DIRECTORY_PART = 22,
    PVKIT_XS_TYPE_COUNT = 23,
};

/* Bytes of replies and watch events the host holds for a slow guest. */
#define PVKIT_XS_QUEUE_SIZE     (16 * PVKIT_XS_MSG_MAX)

/*
 * Counters, never reset.
 * @requests: whole requests taken from the ring (oversized ones too)
 * @errors: XS_ERROR replies queued
 * @watch_events: XS_WATCH_EVENT messages queued
 * @watch_dropped: watch events dropped because the queue was full
 * @corrupt: connections stopped for a corrupt ring index
 */
typedef struct PVKitXsStats {
    uint64_t requests;
    uint64_t errors;
    uint64_t watch_events;
    uint64_t watch_dropped;
    uint64_t corrupt;
} PVKitXsStats;

typedef struct PVKitXsConn {
    uint8_t req[PVKIT_XS_MSG_MAX];  /* the request being gathered */
    uint32_t req_len;               /* bytes of it gathered so far */
    bool req_done;                  /* req holds a whole message */
    uint32_t skip;                  /* payload bytes still to discard */
    bool broken;                    /* stopped: ring index corrupt */
    uint8_t queue[PVKIT_XS_QUEUE_SIZE];    /* replies not yet in rsp */
    uint32_t q_head;                /* oldest queued byte */
    uint32_t q_used;
    PVKitXsStats stats;
} PVKitXsConn;

/* Results of pvkit_xs_pull(). */
#define PVKIT_XS_NONE       0   /* no whole message (yet) */
#define PVKIT_XS_MSG        1   /* conn->req holds a whole message */
#define PVKIT_XS_TOOBIG     2   /* header with len > PAYLOAD_MAX */
#define PVKIT_XS_CORRUPT    (-1)    /* conn is broken */

/* Forget partial requests and queued replies (not the counters). */
void pvkit_xs_conn_reset(PVKitXsConn *c);

/*
 * Prepare a freshly mapped ring: zero indexes, error and connection,
 * advertise XENSTORE_SERVER_FEATURE_ERROR.
 */
void pvkit_xs_ring_init(struct pvkit_xs_ring *r);

/*
 * Take request bytes from @r until one whole message is gathered.
 * PVKIT_XS_MSG: conn->req holds the header and its payload (the payload
 * of a message is never longer than PVKIT_XS_PAYLOAD_MAX).
 * PVKIT_XS_TOOBIG: the header announced a longer payload; conn->req holds
 * the header, the payload will be discarded as it arrives; the caller
 * answers E2BIG.  PVKIT_XS_CORRUPT: the guest's indexes are inconsistent
 * (req_prod - req_cons > ring size): @r->error is set to
 * XENSTORE_ERROR_RINGIDX and the connection is dead until reset.
 * Consumes at most one message's bytes per call.
 */
int pvkit_xs_pull(PVKitXsConn *c, struct pvkit_xs_ring *r);

/*
 * Queue a message for the guest: header + @len (<= PAYLOAD_MAX) payload
 * bytes, leaving at least @reserve bytes of the queue free.  0, or
 * -PVKIT_ENOSPC / -PVKIT_E2BIG with nothing queued.
 */
int pvkit_xs_queue(PVKitXsConn *c, uint32_t type, uint32_t req_id,
                   uint32_t tx_id, const void *payload, uint32_t len,
                   uint32_t reserve);

/* Queue an XS_ERROR reply naming errno @err ("EINVAL\0"). */
int pvkit_xs_queue_error(PVKitXsConn *c, uint32_t req_id, uint32_t tx_id,
                         int err);

/* Queue an XS_WATCH_EVENT "path\0token\0"; dropped (counted) if full. */
int pvkit_xs_queue_watch(PVKitXsConn *c, const char *path,
                         const char *token);

/* Enough room for any reply, so the next request may be taken. */
bool pvkit_xs_can_take(const PVKitXsConn *c);

/*
 * Move queued bytes into @r's rsp ring as far as there is space.  Returns
 * the number of bytes moved (the caller notifies the guest when > 0) or
 * PVKIT_XS_CORRUPT (rsp_prod - rsp_cons > ring size).
 */
int pvkit_xs_push(PVKitXsConn *c, struct pvkit_xs_ring *r);

/* The xenstore error name of errno value @err ("EINVAL" if unknown). */
const char *pvkit_xs_errname(int err);

/*
 * A request's arguments, pointing into conn->req.  @arg[0..nargs-1] are
 * NUL-terminated strings; for XS_WRITE, @value/@value_len is the raw
 * value after the path.
 */
#define PVKIT_XS_MAX_ARGS   8
typedef struct PVKitXsArgs {
    uint32_t type, req_id, tx_id;
    const char *arg[PVKIT_XS_MAX_ARGS];
    uint32_t nargs;
    const uint8_t *value;
    uint32_t value_len;
} PVKitXsArgs;

/*
 * Check the message in conn->req (after PVKIT_XS_MSG) against its type
 * and split its arguments.  Returns 0, or a positive errno for the
 * XS_ERROR reply: EINVAL (unknown type, wrong number of strings, a
 * string not NUL-terminated, an empty path, XS_TRANSACTION_END argument
 * not "T"/"F"), ENOSYS (a known type this store does not serve:
 * control, introduce, release, is_domain_introduced, resume, set_target,
 * directory_part, or a message only the host sends), E2BIG (path longer
 * than XENSTORE_ABS_PATH_MAX).
 */
int pvkit_xs_parse(const PVKitXsConn *c, PVKitXsArgs *a);

#endif /* HW_PVKIT_XS_RING_H */
