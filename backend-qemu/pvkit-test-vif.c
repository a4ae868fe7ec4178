/*
 * pvkit-test-vif: a NIC backend that misbehaves on request
 *
 * A test-only device on the Xen bus the pvkit device creates.  To the
 * guest it looks like any NIC: a "vif" device (MAC in the frontend's
 * directory, feature-rx-copy in the backend's) that maps the frontend's
 * transmit and receive rings (netif, <hw/pvkit/pvkit-netif.h>) and binds
 * its event channel.  It has no network: every packet the guest sends is
 * looped back into the guest's next receive buffer, so the guest can
 * check what comes back.  The backend directory also says what the device
 * will do (test-fault, test-fault-after), for the guest's tests.
 *
 * From the fault-after'th response of the ring a fault belongs to
 * (counting from 0) it breaks the protocol the way "fault" says:
 *
 *   none           every packet is answered and looped back correctly
 *   rx-bad-id      receive responses carry an id no buffer has
 *   rx-bad-size    receive responses claim more bytes than a page holds
 *   rx-bad-offset  receive responses put the packet past the page's end
 *   rx-bad-flags   receive responses say more-data and extra-info follow
 *   rx-bad-status  receive responses carry status -77
 *   rx-garbage     receive response slots are filled with random bytes
 *   rx-overrun     the receive ring's rsp_prod jumps far past the buffers
 *   tx-bad-id      transmit responses carry an id no request has
 *   tx-bad-status  transmit responses carry status 77
 *   tx-silent      no transmit responses at all (packets still loop back)
 *
 * The device is also a hostile-guest target: everything the guest puts in
 * the rings is checked.  A bad transmit request gets an error response
 * and a LOG_GUEST_ERROR line; a producer index that claims more requests
 * than a ring holds makes the device stop reading the rings until the
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
#include "hw/pvkit/pvkit-netif.h"

#define TYPE_PVKIT_TEST_VIF "pvkit-test-vif"
OBJECT_DECLARE_SIMPLE_TYPE(PVKitTestVif, PVKIT_TEST_VIF)

#define TVIF_RING_HDR       sizeof(struct pvkit_ring_header)
/* Where a looped-back packet starts in its buffer, as xen-net-device. */
#define TVIF_RX_OFFSET      2
/* rsp_prod jumps this far ahead in the "rx-overrun" mode. */
#define TVIF_OVERRUN        0x10000u
#define TVIF_MIN_FRAME      14

typedef enum PVKitTestVifFault {
    TVIF_FAULT_NONE,
    TVIF_FAULT_RX_BAD_ID,
    TVIF_FAULT_RX_BAD_SIZE,
    TVIF_FAULT_RX_BAD_OFFSET,
    TVIF_FAULT_RX_BAD_FLAGS,
    TVIF_FAULT_RX_BAD_STATUS,
    TVIF_FAULT_RX_GARBAGE,
    TVIF_FAULT_RX_OVERRUN,
    TVIF_FAULT_TX_BAD_ID,
    TVIF_FAULT_TX_BAD_STATUS,
    TVIF_FAULT_TX_SILENT,
    TVIF_FAULT__MAX,
} PVKitTestVifFault;

/* NULL-terminated for g_strjoinv() */
static const char *const tvif_fault_names[TVIF_FAULT__MAX + 1] = {
    [TVIF_FAULT_NONE] = "none",
    [TVIF_FAULT_RX_BAD_ID] = "rx-bad-id",
    [TVIF_FAULT_RX_BAD_SIZE] = "rx-bad-size",
    [TVIF_FAULT_RX_BAD_OFFSET] = "rx-bad-offset",
    [TVIF_FAULT_RX_BAD_FLAGS] = "rx-bad-flags",
    [TVIF_FAULT_RX_BAD_STATUS] = "rx-bad-status",
    [TVIF_FAULT_RX_GARBAGE] = "rx-garbage",
    [TVIF_FAULT_RX_OVERRUN] = "rx-overrun",
    [TVIF_FAULT_TX_BAD_ID] = "tx-bad-id",
    [TVIF_FAULT_TX_BAD_STATUS] = "tx-bad-status",
    [TVIF_FAULT_TX_SILENT] = "tx-silent",
};

/* One direction's ring as the backend sees it. */
typedef struct TvifRing {
    uint8_t *sring;             /* the mapped ring page, or NULL */
    uint32_t ref;
    unsigned int nr_slots;
    size_t slot_size;
    uint32_t req_cons;          /* next request to read */
    uint32_t rsp_prod_pvt;      /* next response slot */
    uint32_t rsp_skew;          /* added to rsp_prod when published */
    uint64_t responses;         /* responses made (sent or withheld) */
} TvifRing;

struct PVKitTestVif {
    XenDevice xendev;

    /* Properties */
    uint32_t devid;
    char *fault_name;
    uint32_t fault_after;

    PVKitTestVifFault fault;
    TvifRing tx, rx;
    XenEventChannel *channel;
    bool rings_dead;            /* the guest broke a ring's indexes */
    uint8_t frame[XEN_PAGE_SIZE];
};

static struct pvkit_ring_header *tvif_hdr(TvifRing *r)
{
    return (struct pvkit_ring_header *)r->sring;
}

static void *tvif_slot(TvifRing *r, uint32_t idx)
{
    return r->sring + TVIF_RING_HDR + (idx & (r->nr_slots - 1)) *
           r->slot_size;
}

/* The fault to apply to @r's next response, counting it. */
static PVKitTestVifFault tvif_next_fault(PVKitTestVif *s, TvifRing *r,
                                         bool rx_fault)
{
    bool is_rx = s->fault >= TVIF_FAULT_RX_BAD_ID &&
                 s->fault <= TVIF_FAULT_RX_OVERRUN;

    if (r->responses++ < s->fault_after || is_rx != rx_fault) {
        return TVIF_FAULT_NONE;
    }
    return s->fault;
}

/* Publish @r's responses; true if the frontend asked for an event. */
static bool tvif_push(TvifRing *r)
{
    struct pvkit_ring_header *hdr = tvif_hdr(r);
    uint32_t old = qatomic_read(&hdr->rsp_prod);
    uint32_t new = r->rsp_prod_pvt + r->rsp_skew;

    if (old == new) {
        return false;
    }
    /* The slots before the index that publishes them. */
    smp_wmb();
    qatomic_set(&hdr->rsp_prod, new);
    /* rsp_prod visible before rsp_event is read. */
    smp_mb();
    return new - qatomic_read(&hdr->rsp_event) < new - old;
}

static void tvif_tx_respond(PVKitTestVif *s, uint16_t id, int16_t status)
{
    struct pvkit_netif_tx_response rsp = { .id = id, .status = status };

    switch (tvif_next_fault(s, &s->tx, false)) {
    case TVIF_FAULT_TX_BAD_ID:
        /* The frontend's ids index its 256 slots. */
        rsp.id = id ^ 0x8000;
        break;
    case TVIF_FAULT_TX_BAD_STATUS:
        rsp.status = 77;
        break;
    case TVIF_FAULT_TX_SILENT:
        return;
    default:
        break;
    }
    memcpy(tvif_slot(&s->tx, s->tx.rsp_prod_pvt), &rsp, sizeof(rsp));
    s->tx.rsp_prod_pvt++;
}

/* Answer the receive buffer @req holding @len bytes of s->frame. */
static void tvif_rx_respond(PVKitTestVif *s,
                            const struct pvkit_netif_rx_request *req,
                            int16_t status)
{
    struct pvkit_netif_rx_response rsp = {
        .id = req->id,
        .offset = TVIF_RX_OFFSET,
        .status = status,
    };

    switch (tvif_next_fault(s, &s->rx, true)) {
    case TVIF_FAULT_RX_BAD_ID:
        rsp.id = req->id ^ 0x8000;
        break;
    case TVIF_FAULT_RX_BAD_SIZE:
        rsp.status = XEN_PAGE_SIZE + 100;
        break;
    case TVIF_FAULT_RX_BAD_OFFSET:
        rsp.offset = XEN_PAGE_SIZE - 8;
        break;
    case TVIF_FAULT_RX_BAD_FLAGS:
        rsp.flags = PVKIT_NETRXF_MORE_DATA | PVKIT_NETRXF_EXTRA_INFO;
        break;
    case TVIF_FAULT_RX_BAD_STATUS:
        rsp.status = -77;
        break;
    case TVIF_FAULT_RX_GARBAGE:
        qemu_guest_getrandom_nofail(tvif_slot(&s->rx, s->rx.rsp_prod_pvt),
                                    s->rx.slot_size);
        s->rx.rsp_prod_pvt++;
        return;
    case TVIF_FAULT_RX_OVERRUN:
        s->rx.rsp_skew = TVIF_OVERRUN;
        break;
    default:
        break;
    }
    memcpy(tvif_slot(&s->rx, s->rx.rsp_prod_pvt), &rsp, sizeof(rsp));
    s->rx.rsp_prod_pvt++;
}

/*
 * Check a transmit request and copy its packet into s->frame.  Returns
 * the packet's length, or -1 after logging what was wrong.
 */
static int tvif_fetch(PVKitTestVif *s,
                      const struct pvkit_netif_tx_request *req)
{
    XenDeviceGrantCopySegment seg;
    Error *err = NULL;

    if (req->flags & (PVKIT_NETTXF_MORE_DATA | PVKIT_NETTXF_EXTRA_INFO) ||
        req->size < TVIF_MIN_FRAME ||
        req->offset + req->size > XEN_PAGE_SIZE) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s %u: tx request %u: flags 0x%x, "
                      "%u bytes at %u\n", TYPE_PVKIT_TEST_VIF, s->devid,
                      req->id, req->flags, req->size, req->offset);
        return -1;
    }
    seg.source.foreign.ref = req->gref;
    seg.source.foreign.offset = req->offset;
    seg.dest.virt = s->frame;
    seg.len = req->size;
    xen_device_copy_grant_refs(XEN_DEVICE(s), false, &seg, 1, &err);
    if (err) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s %u: tx request %u: %s\n",
                      TYPE_PVKIT_TEST_VIF, s->devid, req->id,
                      error_get_pretty(err));
        error_free(err);
        return -1;
    }
    return req->size;
}

/* Put s->frame (@len bytes) into the guest's next receive buffer. */
static void tvif_loop_back(PVKitTestVif *s, int len)
{
    struct pvkit_ring_header *hdr = tvif_hdr(&s->rx);
    struct pvkit_netif_rx_request req;
    XenDeviceGrantCopySegment seg;
    Error *err = NULL;
    uint32_t prod = qatomic_read(&hdr->req_prod);

    /* The index before the slots it publishes. */
    smp_rmb();
    if (prod - s->rx.rsp_prod_pvt > s->rx.nr_slots) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s %u: rx req_prod %u with %u "
                      "answered; ignoring the rings until the frontend "
                      "reconnects\n", TYPE_PVKIT_TEST_VIF, s->devid, prod,
                      s->rx.rsp_prod_pvt);
        s->rings_dead = true;
        return;
    }
    if (s->rx.req_cons == prod) {
        return;                 /* no buffer: the packet is dropped */
    }
    /* One copy: the guest may change the slot under us. */
    memcpy(&req, tvif_slot(&s->rx, s->rx.req_cons), sizeof(req));
    s->rx.req_cons++;
    seg.source.virt = s->frame;
    seg.dest.foreign.ref = req.gref;
    seg.dest.foreign.offset = TVIF_RX_OFFSET;
    seg.len = len;
    xen_device_copy_grant_refs(XEN_DEVICE(s), true, &seg, 1, &err);
    if (err) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s %u: rx buffer %u: %s\n",
                      TYPE_PVKIT_TEST_VIF, s->devid, req.id,
                      error_get_pretty(err));
        error_free(err);
        tvif_rx_respond(s, &req, PVKIT_NETIF_RSP_ERROR);
        return;
    }
    tvif_rx_respond(s, &req, len);
}

/* Read the transmit requests published so far; false if none. */
static bool tvif_tx_requests(PVKitTestVif *s)
{
    struct pvkit_ring_header *hdr = tvif_hdr(&s->tx);
    struct pvkit_netif_tx_request req;
    uint32_t prod = qatomic_read(&hdr->req_prod);
    bool work = false;
    int len;

    /* The index before the slots it publishes. */
    smp_rmb();
    /*
     * Requests not yet answered can never be more than the ring holds
     * (withheld answers included: the guest cannot reuse those slots).
     */
    if (prod - s->tx.rsp_prod_pvt > s->tx.nr_slots ||
        prod - s->tx.req_cons > s->tx.nr_slots) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s %u: tx req_prod %u with %u "
                      "read; ignoring the rings until the frontend "
                      "reconnects\n", TYPE_PVKIT_TEST_VIF, s->devid, prod,
                      s->tx.req_cons);
        s->rings_dead = true;
        return false;
    }
    while (s->tx.req_cons != prod && !s->rings_dead) {
        memcpy(&req, tvif_slot(&s->tx, s->tx.req_cons), sizeof(req));
        s->tx.req_cons++;
        len = tvif_fetch(s, &req);
        tvif_tx_respond(s, req.id, len < 0 ? PVKIT_NETIF_RSP_ERROR :
                                             PVKIT_NETIF_RSP_OKAY);
        if (len >= 0) {
            tvif_loop_back(s, len);
        }
        work = true;
    }
    return work;
}

static bool tvif_event(void *opaque)
{
    PVKitTestVif *s = opaque;
    struct pvkit_ring_header *hdr;
    bool work = false, notify;

    if (!s->tx.sring || !s->rx.sring || s->rings_dead) {
        return false;
    }
    hdr = tvif_hdr(&s->tx);
    for (;;) {
        work |= tvif_tx_requests(s);
        if (s->rings_dead) {
            break;
        }
        notify = tvif_push(&s->tx);
        notify |= tvif_push(&s->rx);
        if (notify) {
            xen_device_notify_event_channel(XEN_DEVICE(s), s->channel, NULL);
        }
        qatomic_set(&hdr->req_event, s->tx.req_cons + 1);
        /* req_event visible before the last look at req_prod. */
        smp_mb();
        if (qatomic_read(&hdr->req_prod) == s->tx.req_cons) {
            break;
        }
    }
    return work;
}

static void tvif_unmap(PVKitTestVif *s, TvifRing *r)
{
    Error *err = NULL;

    if (r->sring) {
        xen_device_unmap_grant_refs(XEN_DEVICE(s), r->sring, &r->ref, 1,
                                    &err);
        r->sring = NULL;
        if (err) {
            error_report_err(err);
        }
    }
}

static void tvif_disconnect(PVKitTestVif *s)
{
    Error *err = NULL;

    if (s->channel) {
        xen_device_unbind_event_channel(XEN_DEVICE(s), s->channel, &err);
        s->channel = NULL;
        if (err) {
            error_report_err(err);
        }
    }
    tvif_unmap(s, &s->tx);
    tvif_unmap(s, &s->rx);
}

static bool tvif_map(PVKitTestVif *s, TvifRing *r, const char *key,
                     size_t slot_size, Error **errp)
{
    unsigned int ref;

    if (xen_device_frontend_scanf(XEN_DEVICE(s), key, "%u", &ref) != 1) {
        error_setg(errp, "no %s", key);
        return false;
    }
    memset(r, 0, sizeof(*r));
    r->ref = ref;
    r->slot_size = slot_size;
    r->nr_slots = pow2floor((XEN_PAGE_SIZE - TVIF_RING_HDR) / slot_size);
    r->sring = xen_device_map_grant_refs(XEN_DEVICE(s), &r->ref, 1,
                                         PROT_READ | PROT_WRITE, errp);
    return r->sring != NULL;
}

static void tvif_connect(PVKitTestVif *s, Error **errp)
{
    ERRP_GUARD();
    XenDevice *xendev = XEN_DEVICE(s);
    unsigned int port, rx_copy;

    if (xen_device_frontend_scanf(xendev, "event-channel", "%u",
                                  &port) != 1) {
        error_setg(errp, "no event-channel");
        return;
    }
    if (xen_device_frontend_scanf(xendev, "request-rx-copy", "%u",
                                  &rx_copy) != 1 || !rx_copy) {
        error_setg(errp, "the frontend does not take copied packets");
        return;
    }
    xen_device_set_max_grant_refs(xendev, 2, errp);
    if (*errp ||
        !tvif_map(s, &s->tx, "tx-ring-ref", PVKIT_NETIF_TX_SLOT_SIZE,
                  errp) ||
        !tvif_map(s, &s->rx, "rx-ring-ref", PVKIT_NETIF_RX_SLOT_SIZE,
                  errp)) {
        tvif_disconnect(s);
        return;
    }
    s->rings_dead = false;
    s->channel = xen_device_bind_event_channel(xendev, port, tvif_event, s,
                                               errp);
    if (*errp) {
        s->channel = NULL;
        tvif_disconnect(s);
        return;
    }
    /* Packets the frontend may already have queued. */
    tvif_event(s);
}

static void tvif_frontend_changed(XenDevice *xendev,
                                  enum xenbus_state frontend_state,
                                  Error **errp)
{
    ERRP_GUARD();
    PVKitTestVif *s = PVKIT_TEST_VIF(xendev);

    switch (frontend_state) {
    case XenbusStateConnected:
        if (xen_device_backend_get_state(xendev) == XenbusStateConnected) {
            break;
        }
        tvif_disconnect(s);
        tvif_connect(s, errp);
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
        tvif_disconnect(s);
        xen_device_backend_set_state(xendev, XenbusStateClosed);
        break;
    default:
        break;
    }
}

static char *tvif_get_name(XenDevice *xendev, Error **errp)
{
    PVKitTestVif *s = PVKIT_TEST_VIF(xendev);

    if (!s->devid) {
        error_setg(errp, "devid property not set");
        return NULL;
    }
    return g_strdup_printf("%u", s->devid);
}

static void tvif_realize(XenDevice *xendev, Error **errp)
{
    PVKitTestVif *s = PVKIT_TEST_VIF(xendev);
    const char *fault = s->fault_name ? s->fault_name : "none";
    int i;

    for (i = 0; i < TVIF_FAULT__MAX; i++) {
        if (!strcmp(fault, tvif_fault_names[i])) {
            break;
        }
    }
    if (i == TVIF_FAULT__MAX) {
        g_autofree char *names = g_strjoinv(", ",
                                            (char **)tvif_fault_names);

        error_setg(errp, "fault '%s': one of %s", fault, names);
        return;
    }
    s->fault = i;

    /* A locally administered address that names the device. */
    xen_device_frontend_printf(xendev, "mac", "02:00:00:%02x:%02x:%02x",
                               (s->devid >> 16) & 0xff,
                               (s->devid >> 8) & 0xff, s->devid & 0xff);
    xen_device_backend_printf(xendev, "feature-rx-copy", "%u", 1);
    /* For the guest's tests: what to expect of this NIC. */
    xen_device_backend_printf(xendev, "test-fault", "%s",
                              tvif_fault_names[s->fault]);
    xen_device_backend_printf(xendev, "test-fault-after", "%u",
                              s->fault_after);
}

static void tvif_unrealize(XenDevice *xendev)
{
    tvif_disconnect(PVKIT_TEST_VIF(xendev));
}

static const Property tvif_props[] = {
    DEFINE_PROP_UINT32("devid", PVKitTestVif, devid, 0),
    DEFINE_PROP_STRING("fault", PVKitTestVif, fault_name),
    DEFINE_PROP_UINT32("fault-after", PVKitTestVif, fault_after, 0),
};

static void tvif_class_init(ObjectClass *class, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(class);
    XenDeviceClass *xendev_class = XEN_DEVICE_CLASS(class);

    xendev_class->backend = TYPE_PVKIT_TEST_VIF;
    xendev_class->device = "vif";
    xendev_class->get_name = tvif_get_name;
    xendev_class->realize = tvif_realize;
    xendev_class->frontend_changed = tvif_frontend_changed;
    xendev_class->unrealize = tvif_unrealize;
    dc->desc = "pvkit test NIC that loops packets back, faulty on request";
    dc->user_creatable = true;
    device_class_set_props(dc, tvif_props);
}

static const TypeInfo tvif_info = {
    .name = TYPE_PVKIT_TEST_VIF,
    .parent = TYPE_XEN_DEVICE,
    .instance_size = sizeof(PVKitTestVif),
    .class_init = tvif_class_init,
};

static void tvif_register_types(void)
{
    type_register_static(&tvif_info);
}

type_init(tvif_register_types)
