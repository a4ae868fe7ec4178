/*
 * pvkit-test-vbd: a disk backend that misbehaves on request
 *
 * A test-only device on the Xen bus the pvkit device creates.  To the
 * guest it looks like any disk: a "vbd" device whose backend directory
 * (type "pvkit-test-vbd") offers sectors, sector-size, info and
 * feature-flush-cache, and which maps the frontend's one-page blkif ring
 * (x86_64-abi, <hw/pvkit/pvkit-blkif.h>) and binds its event channel.
 * It has no storage: a read returns a fixed pattern (each sector: its
 * number as a little-endian u64, then 0xa5 bytes), a write is fetched and
 * dropped.  The backend directory also says what the device will do
 * (test-fault, test-fault-after), for the guest's tests.
 *
 * From the fault-after'th response on (counting from 0) it breaks the
 * protocol the way its "fault" property says, so that the frontend's
 * defences can be tested:
 *
 *   none        every request is answered correctly
 *   bad-id      the response carries an id no request has
 *   bad-op      the response carries another operation than the request
 *   bad-status  the response status is 77
 *   overrun     rsp_prod is pushed far past the requests
 *   silent      no response at all
 *   garbage     the response slot is filled with random bytes
 *
 * The device is also a hostile-guest target: everything the guest puts in
 * the ring is checked.  A bad request gets an error response and a
 * LOG_GUEST_ERROR line; a producer index that claims more requests than
 * the ring holds makes the device stop reading the ring until the
 * frontend reconnects.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/guest-random.h"
#include "qemu/host-utils.h"
#include "qemu/log.h"
#include "qapi/error.h"
#include "hw/qdev-properties.h"
#include "hw/xen/xen-backend.h"
#include "hw/xen/xen-bus.h"
#include "hw/pvkit/pvkit-blkif.h"

#define TYPE_PVKIT_TEST_VBD "pvkit-test-vbd"
OBJECT_DECLARE_SIMPLE_TYPE(PVKitTestVbd, PVKIT_TEST_VBD)

#define TVBD_SECTOR_SIZE    (1u << PVKIT_BLKIF_SECTOR_SHIFT)
#define TVBD_SECTORS_PER_PAGE (XEN_PAGE_SIZE / TVBD_SECTOR_SIZE)
#define TVBD_RING_HDR       sizeof(struct pvkit_ring_header)
#define TVBD_SLOT_SIZE      PVKIT_BLKIF_SLOT_SIZE
/* rsp_prod jumps this far ahead in the "overrun" mode. */
#define TVBD_OVERRUN        0x10000u
/* Every 512-byte sector reads as its number then this byte, repeated. */
#define TVBD_PATTERN_BYTE   0xa5

typedef enum PVKitTestFault {
    TVBD_FAULT_NONE,
    TVBD_FAULT_BAD_ID,
    TVBD_FAULT_BAD_OP,
    TVBD_FAULT_BAD_STATUS,
    TVBD_FAULT_OVERRUN,
    TVBD_FAULT_SILENT,
    TVBD_FAULT_GARBAGE,
    TVBD_FAULT__MAX,
} PVKitTestFault;

/* NULL-terminated for g_strjoinv() */
static const char *const tvbd_fault_names[TVBD_FAULT__MAX + 1] = {
    [TVBD_FAULT_NONE] = "none",
    [TVBD_FAULT_BAD_ID] = "bad-id",
    [TVBD_FAULT_BAD_OP] = "bad-op",
    [TVBD_FAULT_BAD_STATUS] = "bad-status",
    [TVBD_FAULT_OVERRUN] = "overrun",
    [TVBD_FAULT_SILENT] = "silent",
    [TVBD_FAULT_GARBAGE] = "garbage",
};

struct PVKitTestVbd {
    XenDevice xendev;

    /* Properties */
    uint32_t devid;
    uint64_t sectors;
    char *fault_name;
    uint32_t fault_after;

    PVKitTestFault fault;
    uint8_t *sring;             /* the mapped ring page, or NULL */
    uint32_t ring_ref;
    XenEventChannel *channel;
    unsigned int nr_slots;
    uint32_t req_cons;          /* next request to read */
    uint32_t rsp_prod_pvt;      /* next response slot */
    uint32_t rsp_skew;          /* added to rsp_prod when published */
    bool ring_dead;             /* the guest broke the ring's indexes */
    uint64_t responses;         /* responses made (sent or withheld) */
    uint8_t buf[PVKIT_BLKIF_MAX_SEGMENTS * XEN_PAGE_SIZE];
};

static struct pvkit_ring_header *tvbd_hdr(PVKitTestVbd *s)
{
    return (struct pvkit_ring_header *)s->sring;
}

static void *tvbd_slot(PVKitTestVbd *s, uint32_t idx)
{
    return s->sring + TVBD_RING_HDR + (idx & (s->nr_slots - 1)) *
           TVBD_SLOT_SIZE;
}

static void tvbd_pattern(uint8_t *p, uint64_t sector, unsigned int count)
{
    unsigned int i;

    for (i = 0; i < count; i++, p += TVBD_SECTOR_SIZE) {
        uint64_t le = cpu_to_le64(sector + i);

        memset(p, TVBD_PATTERN_BYTE, TVBD_SECTOR_SIZE);
        memcpy(p, &le, sizeof(le));
    }
}

/*
 * Check the segments of a read or write and move its data: a read gets
 * the pattern copied into the guest's pages, a write is copied out and
 * dropped.  Returns a PVKIT_BLKIF_RSP_* status.
 */
static int tvbd_rw(PVKitTestVbd *s, const struct pvkit_blkif_request *req)
{
    XenDevice *xendev = XEN_DEVICE(s);
    XenDeviceGrantCopySegment segs[PVKIT_BLKIF_MAX_SEGMENTS];
    bool is_read = req->operation == PVKIT_BLKIF_OP_READ;
    uint64_t count = 0;
    size_t off = 0;
    Error *err = NULL;
    unsigned int i;

    if (req->nr_segments == 0 ||
        req->nr_segments > PVKIT_BLKIF_MAX_SEGMENTS) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s %u: request %" PRIu64
                      " has %u segments\n", TYPE_PVKIT_TEST_VBD, s->devid,
                      (uint64_t)req->id, req->nr_segments);
        return PVKIT_BLKIF_RSP_ERROR;
    }
    for (i = 0; i < req->nr_segments; i++) {
        const struct pvkit_blkif_segment *seg = &req->seg[i];
        unsigned int n;

        if (seg->last_sect >= TVBD_SECTORS_PER_PAGE ||
            seg->first_sect > seg->last_sect) {
            qemu_log_mask(LOG_GUEST_ERROR, "%s %u: request %" PRIu64
                          " segment %u has sectors %u-%u\n",
                          TYPE_PVKIT_TEST_VBD, s->devid, (uint64_t)req->id,
                          i, seg->first_sect, seg->last_sect);
            return PVKIT_BLKIF_RSP_ERROR;
        }
        n = seg->last_sect - seg->first_sect + 1;
        if (is_read) {
            segs[i].dest.foreign.ref = seg->gref;
            segs[i].dest.foreign.offset = seg->first_sect * TVBD_SECTOR_SIZE;
            segs[i].source.virt = s->buf + off;
        } else {
            segs[i].source.foreign.ref = seg->gref;
            segs[i].source.foreign.offset = seg->first_sect *
                                            TVBD_SECTOR_SIZE;
            segs[i].dest.virt = s->buf + off;
        }
        segs[i].len = n * TVBD_SECTOR_SIZE;
        off += segs[i].len;
        count += n;
    }
    if (req->sector_number > s->sectors ||
        count > s->sectors - req->sector_number) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s %u: request %" PRIu64
                      " for sectors %" PRIu64 "+%" PRIu64 " of %" PRIu64
                      "\n", TYPE_PVKIT_TEST_VBD, s->devid,
                      (uint64_t)req->id, (uint64_t)req->sector_number,
                      count, s->sectors);
        return PVKIT_BLKIF_RSP_ERROR;
    }
    if (is_read) {
        tvbd_pattern(s->buf, req->sector_number, count);
    }
    xen_device_copy_grant_refs(xendev, is_read, segs, req->nr_segments,
                               &err);
    if (err) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s %u: request %" PRIu64 ": %s\n",
                      TYPE_PVKIT_TEST_VBD, s->devid, (uint64_t)req->id,
                      error_get_pretty(err));
        error_free(err);
        return PVKIT_BLKIF_RSP_ERROR;
    }
    return PVKIT_BLKIF_RSP_OKAY;
}

/* Serve one request (a copy of its slot); a PVKIT_BLKIF_RSP_* status. */
static int tvbd_serve(PVKitTestVbd *s, const struct pvkit_blkif_request *req)
{
    switch (req->operation) {
    case PVKIT_BLKIF_OP_READ:
    case PVKIT_BLKIF_OP_WRITE:
        return tvbd_rw(s, req);
    case PVKIT_BLKIF_OP_FLUSH:
        if (req->nr_segments) {
            qemu_log_mask(LOG_GUEST_ERROR, "%s %u: flush %" PRIu64
                          " with %u segments\n", TYPE_PVKIT_TEST_VBD,
                          s->devid, (uint64_t)req->id, req->nr_segments);
            return PVKIT_BLKIF_RSP_ERROR;
        }
        return PVKIT_BLKIF_RSP_OKAY;
    case PVKIT_BLKIF_OP_DISCARD:
        /* feature-discard is not offered */
        return PVKIT_BLKIF_RSP_EOPNOTSUPP;
    default:
        qemu_log_mask(LOG_GUEST_ERROR, "%s %u: request %" PRIu64
                      " has operation %u\n", TYPE_PVKIT_TEST_VBD, s->devid,
                      (uint64_t)req->id, req->operation);
        return PVKIT_BLKIF_RSP_ERROR;
    }
}

/* Write the response to @req into the next slot, faulty if it is time. */
static void tvbd_respond(PVKitTestVbd *s,
                         const struct pvkit_blkif_request *req, int status)
{
    struct pvkit_blkif_response rsp = {
        .id = req->id,
        .operation = req->operation,
        .status = status,
    };
    PVKitTestFault fault = s->responses++ >= s->fault_after ?
                           s->fault : TVBD_FAULT_NONE;

    switch (fault) {
    case TVBD_FAULT_NONE:
        break;
    case TVBD_FAULT_BAD_ID:
        /* The frontend's ids are its tags, far below this. */
        rsp.id = req->id ^ (1ull << 40);
        break;
    case TVBD_FAULT_BAD_OP:
        rsp.operation = req->operation == PVKIT_BLKIF_OP_READ ?
                        PVKIT_BLKIF_OP_WRITE : PVKIT_BLKIF_OP_READ;
        break;
    case TVBD_FAULT_BAD_STATUS:
        rsp.status = 77;
        break;
    case TVBD_FAULT_OVERRUN:
        s->rsp_skew = TVBD_OVERRUN;
        break;
    case TVBD_FAULT_SILENT:
        return;
    case TVBD_FAULT_GARBAGE:
        qemu_guest_getrandom_nofail(tvbd_slot(s, s->rsp_prod_pvt),
                                    TVBD_SLOT_SIZE);
        s->rsp_prod_pvt++;
        return;
    default:
        g_assert_not_reached();
    }
    memcpy(tvbd_slot(s, s->rsp_prod_pvt), &rsp, sizeof(rsp));
    s->rsp_prod_pvt++;
}

/* Publish the responses written so far; notify if the frontend asked. */
static void tvbd_push(PVKitTestVbd *s)
{
    struct pvkit_ring_header *hdr = tvbd_hdr(s);
    uint32_t old = qatomic_read(&hdr->rsp_prod);
    uint32_t new = s->rsp_prod_pvt + s->rsp_skew;

    if (old == new) {
        return;
    }
    /* The slots before the index that publishes them. */
    smp_wmb();
    qatomic_set(&hdr->rsp_prod, new);
    /* rsp_prod visible before rsp_event is read. */
    smp_mb();
    if (new - qatomic_read(&hdr->rsp_event) < new - old) {
        xen_device_notify_event_channel(XEN_DEVICE(s), s->channel, NULL);
    }
}

static bool tvbd_event(void *opaque)
{
    PVKitTestVbd *s = opaque;
    struct pvkit_ring_header *hdr;
    struct pvkit_blkif_request req;
    bool work = false;
    uint32_t prod;

    if (!s->sring || s->ring_dead) {
        return false;
    }
    hdr = tvbd_hdr(s);
    for (;;) {
        prod = qatomic_read(&hdr->req_prod);
        /* The index before the slots it publishes. */
        smp_rmb();
        /*
         * Requests read but not answered, plus those announced, can
         * never be more than the ring holds (withheld answers count as
         * outstanding: the frontend still owns those slots' tags).
         */
        if (prod - s->rsp_prod_pvt > s->nr_slots ||
            prod - s->req_cons > s->nr_slots) {
            qemu_log_mask(LOG_GUEST_ERROR, "%s %u: req_prod %u with %u "
                          "requests read and %u answered; ignoring the "
                          "ring until the frontend reconnects\n",
                          TYPE_PVKIT_TEST_VBD, s->devid, prod, s->req_cons,
                          s->rsp_prod_pvt);
            s->ring_dead = true;
            break;
        }
        while (s->req_cons != prod) {
            /* One copy: the guest may change the slot under us. */
            memcpy(&req, tvbd_slot(s, s->req_cons), sizeof(req));
            s->req_cons++;
            tvbd_respond(s, &req, tvbd_serve(s, &req));
            work = true;
        }
        tvbd_push(s);
        qatomic_set(&hdr->req_event, s->req_cons + 1);
        /* req_event visible before the last look at req_prod. */
        smp_mb();
        if (qatomic_read(&hdr->req_prod) == s->req_cons) {
            break;
        }
    }
    return work;
}

static void tvbd_disconnect(PVKitTestVbd *s)
{
    XenDevice *xendev = XEN_DEVICE(s);
    Error *err = NULL;

    if (s->channel) {
        xen_device_unbind_event_channel(xendev, s->channel, &err);
        s->channel = NULL;
        if (err) {
            error_report_err(err);
            err = NULL;
        }
    }
    if (s->sring) {
        xen_device_unmap_grant_refs(xendev, s->sring, &s->ring_ref, 1, &err);
        s->sring = NULL;
        if (err) {
            error_report_err(err);
        }
    }
}

static void tvbd_connect(PVKitTestVbd *s, Error **errp)
{
    ERRP_GUARD();
    XenDevice *xendev = XEN_DEVICE(s);
    unsigned int ring_ref, port, order;
    char *protocol;

    if (xen_device_frontend_scanf(xendev, "ring-page-order", "%u",
                                  &order) == 1) {
        error_setg(errp, "ring-page-order %u: only one-page rings", order);
        return;
    }
    if (xen_device_frontend_scanf(xendev, "ring-ref", "%u",
                                  &ring_ref) != 1) {
        error_setg(errp, "no ring-ref");
        return;
    }
    if (xen_device_frontend_scanf(xendev, "event-channel", "%u",
                                  &port) != 1) {
        error_setg(errp, "no event-channel");
        return;
    }
    protocol = xen_device_frontend_read(xendev, "protocol");
    if (!protocol || strcmp(protocol, PVKIT_BLKIF_PROTOCOL)) {
        error_setg(errp, "protocol %s: only " PVKIT_BLKIF_PROTOCOL,
                   protocol ? protocol : "(none)");
        free(protocol);
        return;
    }
    free(protocol);

    s->ring_ref = ring_ref;
    xen_device_set_max_grant_refs(xendev, 1, errp);
    if (*errp) {
        return;
    }
    s->sring = xen_device_map_grant_refs(xendev, &s->ring_ref, 1,
                                         PROT_READ | PROT_WRITE, errp);
    if (*errp) {
        s->sring = NULL;
        return;
    }
    s->req_cons = 0;
    s->rsp_prod_pvt = 0;
    s->rsp_skew = 0;
    s->ring_dead = false;
    s->channel = xen_device_bind_event_channel(xendev, port, tvbd_event, s,
                                               errp);
    if (*errp) {
        s->channel = NULL;
        tvbd_disconnect(s);
        return;
    }
    /* Requests the frontend may already have queued. */
    tvbd_event(s);
}

static void tvbd_frontend_changed(XenDevice *xendev,
                                  enum xenbus_state frontend_state,
                                  Error **errp)
{
    ERRP_GUARD();
    PVKitTestVbd *s = PVKIT_TEST_VBD(xendev);

    switch (frontend_state) {
    case XenbusStateInitialised:
    case XenbusStateConnected:
        if (xen_device_backend_get_state(xendev) == XenbusStateConnected) {
            break;
        }
        tvbd_disconnect(s);
        tvbd_connect(s, errp);
        if (*errp) {
            break;
        }
        xen_device_backend_set_state(xendev, XenbusStateConnected);
        break;
    case XenbusStateClosing:
        xen_device_backend_set_state(xendev, XenbusStateClosing);
        break;
    case XenbusStateClosed:
    case XenbusStateUnknown:
        tvbd_disconnect(s);
        xen_device_backend_set_state(xendev, XenbusStateClosed);
        break;
    default:
        break;
    }
}

static char *tvbd_get_name(XenDevice *xendev, Error **errp)
{
    PVKitTestVbd *s = PVKIT_TEST_VBD(xendev);

    if (!s->devid) {
        error_setg(errp, "devid property not set");
        return NULL;
    }
    return g_strdup_printf("%u", s->devid);
}

static void tvbd_realize(XenDevice *xendev, Error **errp)
{
    PVKitTestVbd *s = PVKIT_TEST_VBD(xendev);
    const char *fault = s->fault_name ? s->fault_name : "none";
    int i;

    for (i = 0; i < TVBD_FAULT__MAX; i++) {
        if (!strcmp(fault, tvbd_fault_names[i])) {
            break;
        }
    }
    if (i == TVBD_FAULT__MAX) {
        g_autofree char *names = g_strjoinv(", ",
                                            (char **)tvbd_fault_names);

        error_setg(errp, "fault '%s': one of %s", fault, names);
        return;
    }
    s->fault = i;
    if (!s->sectors) {
        error_setg(errp, "sectors must not be 0");
        return;
    }
    s->nr_slots = pow2floor((XEN_PAGE_SIZE - TVBD_RING_HDR) /
                            TVBD_SLOT_SIZE);

    xen_device_backend_printf(xendev, "sector-size", "%u", TVBD_SECTOR_SIZE);
    xen_device_backend_printf(xendev, "sectors", "%" PRIu64, s->sectors);
    xen_device_backend_printf(xendev, "info", "%u", 0);
    xen_device_backend_printf(xendev, "mode", "w");
    xen_device_backend_printf(xendev, "feature-flush-cache", "%u", 1);
    /* For the guest's tests: what to expect of this disk. */
    xen_device_backend_printf(xendev, "test-fault", "%s",
                              tvbd_fault_names[s->fault]);
    xen_device_backend_printf(xendev, "test-fault-after", "%u",
                              s->fault_after);
    xen_device_frontend_printf(xendev, "virtual-device", "%u", s->devid);
    xen_device_frontend_printf(xendev, "device-type", "disk");
}

static void tvbd_unrealize(XenDevice *xendev)
{
    tvbd_disconnect(PVKIT_TEST_VBD(xendev));
}

static const Property tvbd_props[] = {
    DEFINE_PROP_UINT32("devid", PVKitTestVbd, devid, 0),
    DEFINE_PROP_UINT64("sectors", PVKitTestVbd, sectors, 16384),
    DEFINE_PROP_STRING("fault", PVKitTestVbd, fault_name),
    DEFINE_PROP_UINT32("fault-after", PVKitTestVbd, fault_after, 0),
};

static void tvbd_class_init(ObjectClass *class, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(class);
    XenDeviceClass *xendev_class = XEN_DEVICE_CLASS(class);

    xendev_class->backend = TYPE_PVKIT_TEST_VBD;
    xendev_class->device = "vbd";
    xendev_class->get_name = tvbd_get_name;
    xendev_class->realize = tvbd_realize;
    xendev_class->frontend_changed = tvbd_frontend_changed;
    xendev_class->unrealize = tvbd_unrealize;

    dc->desc = "pvkit test disk backend (corrupt or missing responses)";
    device_class_set_props(dc, tvbd_props);
}

static const TypeInfo tvbd_info = {
    .name = TYPE_PVKIT_TEST_VBD,
    .parent = TYPE_XEN_DEVICE,
    .instance_size = sizeof(PVKitTestVbd),
    .class_init = tvbd_class_init,
};

static void tvbd_register_types(void)
{
    type_register_static(&tvbd_info);
}

type_init(tvbd_register_types)

/*
 * The backend type must be known to the Xen bus too: it watches the
 * backend directories of the registered types only, and that watch is
 * what removes an unplugged device once its frontend has closed.
 * Devices come from -device or device_add, never from the store.
 */
static void tvbd_backend_create(XenBackendInstance *backend, QDict *opts,
                                Error **errp)
{
    error_setg(errp, "%s devices are created with -device only",
               TYPE_PVKIT_TEST_VBD);
}

static const XenBackendInfo tvbd_backend_info = {
    .type = TYPE_PVKIT_TEST_VBD,
    .create = tvbd_backend_create,
};

static void tvbd_register_backend(void)
{
    xen_backend_register(&tvbd_backend_info);
}

xen_backend_init(tvbd_register_backend);
