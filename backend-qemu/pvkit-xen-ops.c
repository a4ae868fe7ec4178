/*
 * QEMU's Xen backend operations over the pvkit device
 *
 * QEMU's Xen device models (hw/xen/xen-bus.c and the xen-console,
 * xen-block and xen-net-device backends) reach their hypervisor only
 * through the four tables of include/hw/xen/xen_backend_ops.h.  This file
 * fills them in with the pvkit device's services, so those backends serve
 * a pvkit guest (domain PVKIT_DOMID_GUEST) unchanged:
 *
 * - event channels: pvkit_evtchn_bind_backend() and friends.  A handle
 *   owns an EventNotifier whose fd the backend polls; the binding's
 *   handler (a bottom half in the main loop) marks its port pending and
 *   sets the notifier.  The local port is the guest's port.
 * - grant tables: pvkit_gnttab_map() and pvkit_gnttab_copy().  Several
 *   refs map at once (xen-block's multi-page rings) when they name
 *   consecutive guest frames: the guest's RAM is one host mapping, so the
 *   pages are then consecutive for the backend too.
 * - foreign memory: not offered (a pvkit guest grants every page it
 *   shares).
 * - the store: the device's xenstore engine (xenstore_impl.c), used as
 *   domain 0.  Watch events are queued and delivered from a bottom half,
 *   never from inside the engine.
 *
 * Threading.  The store operations must be called with the BQL held (the
 *   engine has no lock of its own); Xen backends only use the store from
 *   the main loop.  Event-channel and grant operations may be called from
 *   any thread: the per-handle state has its own mutex, which is never
 *   held while calling into the device (the device's functions take the
 *   BQL when the caller does not hold it; lock order: BQL, then a
 *   handle's mutex).  That is deadlock-free while the backends run in the
 *   main loop, which already holds the BQL.  It is NOT enough for a
 *   backend running in an iothread (xen-block with iothread=...): the
 *   iothread would take the BQL for each grant copy and notify, and the
 *   main loop draining that iothread's requests with the BQL held (e.g.
 *   blk_drain() while unplugging or stopping the VM) would wait for
 *   completion callbacks that wait for the BQL.  Serving iothreads needs
 *   the device's event-channel delivery and grant-table state under
 *   their own locks instead of the BQL.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/event_notifier.h"
#include "qemu/lockable.h"
#include "qemu/main-loop.h"
#include "qemu/thread.h"
#include "qapi/error.h"
#include "block/aio.h"
#include "hw/xen/xen_backend_ops.h"
#include "hw/i386/kvm/xenstore_impl.h"
#include "pvkit-dispatch.h"
#include "pvkit-xen-ops.h"

/* The store; NULL while the tables are not installed. */
static XenstoreImplState *pvkit_xen_store;
static unsigned int pvkit_xen_guest;

/* Fail with -@err and errno = @err, as the libxen* APIs do. */
static int pvkit_xen_err(int err)
{
    errno = err;
    return -err;
}

/* ---- Event channels ---- */

/* A guest port bound through a handle. */
typedef struct PVKitXenPort {
    struct xenevtchn_handle *xc;
    evtchn_port_t port;
    bool pending;               /* under xc->lock */
} PVKitXenPort;

struct xenevtchn_handle {
    EventNotifier notifier;
    QemuMutex lock;
    GList *ports;               /* PVKitXenPort, under lock */
};

/* The binding's bottom half (main loop, BQL held): the guest sent. */
static void pvkit_xen_evtchn_event(void *opaque)
{
    PVKitXenPort *p = opaque;

    WITH_QEMU_LOCK_GUARD(&p->xc->lock) {
        p->pending = true;
    }
    event_notifier_set(&p->xc->notifier);
}

static xenevtchn_handle *pvkit_xen_evtchn_open(void)
{
    xenevtchn_handle *xc = g_new0(xenevtchn_handle, 1);
    int ret = event_notifier_init(&xc->notifier, false);

    if (ret < 0) {
        g_free(xc);
        errno = -ret;
        return NULL;
    }
    qemu_mutex_init(&xc->lock);
    return xc;
}

static int pvkit_xen_evtchn_bind(xenevtchn_handle *xc, uint32_t domid,
                                 evtchn_port_t guest_port)
{
    PVKitXenPort *p;
    int ret;

    if (!xc || domid != pvkit_xen_guest) {
        return pvkit_xen_err(EINVAL);
    }
    p = g_new0(PVKitXenPort, 1);
    p->xc = xc;
    p->port = guest_port;
    ret = pvkit_evtchn_bind_backend(guest_port, NULL, pvkit_xen_evtchn_event,
                                    p);
    if (ret < 0) {
        g_free(p);
        return pvkit_xen_err(-ret);
    }
    WITH_QEMU_LOCK_GUARD(&xc->lock) {
        xc->ports = g_list_prepend(xc->ports, p);
    }
    return guest_port;
}

/* The binding of @port in @xc, or NULL; caller holds xc->lock. */
static PVKitXenPort *pvkit_xen_evtchn_find(xenevtchn_handle *xc,
                                           evtchn_port_t port)
{
    GList *l;

    for (l = xc->ports; l; l = l->next) {
        PVKitXenPort *p = l->data;

        if (p->port == port) {
            return p;
        }
    }
    return NULL;
}

/*
 * The device deletes the binding's bottom half under the BQL, and the
 * bottom half runs in the main loop under the BQL: once this returns the
 * handler cannot run any more and @p can be freed.  A port the guest
 * has closed already is no longer bound: that is not an error here.
 */
static int pvkit_xen_evtchn_unbind(xenevtchn_handle *xc, evtchn_port_t port)
{
    PVKitXenPort *p = NULL;

    if (!xc) {
        return pvkit_xen_err(EINVAL);
    }
    WITH_QEMU_LOCK_GUARD(&xc->lock) {
        p = pvkit_xen_evtchn_find(xc, port);
        xc->ports = g_list_remove(xc->ports, p);
    }
    if (!p) {
        return pvkit_xen_err(EINVAL);
    }
    pvkit_evtchn_unbind_backend(port);
    g_free(p);
    return 0;
}

static int pvkit_xen_evtchn_close(xenevtchn_handle *xc)
{
    if (!xc) {
        return pvkit_xen_err(EINVAL);
    }
    while (xc->ports) {
        pvkit_xen_evtchn_unbind(xc, ((PVKitXenPort *)xc->ports->data)->port);
    }
    event_notifier_cleanup(&xc->notifier);
    qemu_mutex_destroy(&xc->lock);
    g_free(xc);
    return 0;
}

static int pvkit_xen_evtchn_fd(xenevtchn_handle *xc)
{
    return xc ? event_notifier_get_fd(&xc->notifier) : pvkit_xen_err(EINVAL);
}

static int pvkit_xen_evtchn_notify(xenevtchn_handle *xc, evtchn_port_t port)
{
    bool bound = false;
    int ret;

    if (xc) {
        WITH_QEMU_LOCK_GUARD(&xc->lock) {
            bound = pvkit_xen_evtchn_find(xc, port) != NULL;
        }
    }
    if (!bound) {
        return pvkit_xen_err(EINVAL);
    }
    ret = pvkit_evtchn_notify(port);
    return ret < 0 ? pvkit_xen_err(-ret) : 0;
}

/* Nothing to do: the device masks nothing on the backend's side. */
static int pvkit_xen_evtchn_unmask(xenevtchn_handle *xc, evtchn_port_t port)
{
    return 0;
}

/*
 * One pending port of the handle (its pending flag cleared), or -1 with
 * errno EAGAIN when none is.  The notifier stays set while more are.
 */
static int pvkit_xen_evtchn_pending(xenevtchn_handle *xc)
{
    int port = -1;
    bool more = false;
    GList *l;

    if (!xc) {
        return pvkit_xen_err(EINVAL);
    }
    event_notifier_test_and_clear(&xc->notifier);
    WITH_QEMU_LOCK_GUARD(&xc->lock) {
        for (l = xc->ports; l && !more; l = l->next) {
            PVKitXenPort *p = l->data;

            if (p->pending && port >= 0) {
                more = true;
            } else if (p->pending) {
                p->pending = false;
                port = p->port;
            }
        }
    }
    if (more) {
        event_notifier_set(&xc->notifier);
    }
    if (port < 0) {
        errno = EAGAIN;
    }
    return port;
}

static struct evtchn_backend_ops pvkit_xen_evtchn_ops = {
    .open = pvkit_xen_evtchn_open,
    .bind_interdomain = pvkit_xen_evtchn_bind,
    .unbind = pvkit_xen_evtchn_unbind,
    .close = pvkit_xen_evtchn_close,
    .get_fd = pvkit_xen_evtchn_fd,
    .notify = pvkit_xen_evtchn_notify,
    .unmask = pvkit_xen_evtchn_unmask,
    .pending = pvkit_xen_evtchn_pending,
};

/* ---- Grant tables ---- */

/* Most pages one mapping may span: xen-block's largest ring (order 4). */
#define PVKIT_XEN_MAP_MAX_PAGES 16

/* One mapping made through a handle. */
typedef struct PVKitXenMap {
    void *addr;
    uint32_t ref;               /* the first page's */
    uint32_t count;
    int handle[PVKIT_XEN_MAP_MAX_PAGES];        /* the device's, per page */
} PVKitXenMap;

/* Release the device's mappings behind @m. */
static void pvkit_xen_map_release(PVKitXenMap *m)
{
    uint32_t i;

    for (i = 0; i < m->count; i++) {
        pvkit_gnttab_unmap(m->handle[i]);
    }
}

struct xengntdev_handle {
    QemuMutex lock;
    GArray *maps;               /* PVKitXenMap, under lock */
};

static xengnttab_handle *pvkit_xen_gnttab_open(void)
{
    xengnttab_handle *xgt = g_new0(xengnttab_handle, 1);

    qemu_mutex_init(&xgt->lock);
    xgt->maps = g_array_new(false, false, sizeof(PVKitXenMap));
    return xgt;
}

/* Mappings still held are released (a backend that forgot to unmap). */
static int pvkit_xen_gnttab_close(xengnttab_handle *xgt)
{
    guint i;

    if (!xgt) {
        return pvkit_xen_err(EINVAL);
    }
    for (i = 0; i < xgt->maps->len; i++) {
        pvkit_xen_map_release(&g_array_index(xgt->maps, PVKitXenMap, i));
    }
    g_array_free(xgt->maps, true);
    qemu_mutex_destroy(&xgt->lock);
    g_free(xgt);
    return 0;
}

/* The grant side of one copy segment, checked against the page. */
static int pvkit_xen_copy_one(XenGrantCopySegment *seg, bool to_domain)
{
    uint32_t ref = to_domain ? seg->dest.foreign.ref : seg->source.foreign.ref;
    off_t offset = to_domain ? seg->dest.foreign.offset :
                               seg->source.foreign.offset;
    void *buf = to_domain ? seg->source.virt : seg->dest.virt;

    if (!buf || offset < 0 || offset > XEN_PAGE_SIZE ||
        seg->len > XEN_PAGE_SIZE - offset) {
        return -PVKIT_EINVAL;
    }
    return pvkit_gnttab_copy(ref, offset, seg->len, buf, to_domain);
}

static int pvkit_xen_gnttab_copy(xengnttab_handle *xgt, bool to_domain,
                                 uint32_t domid, XenGrantCopySegment *segs,
                                 uint32_t nr_segs, Error **errp)
{
    uint32_t i;
    int ret;

    if (domid != pvkit_xen_guest) {
        error_setg(errp, "pvkit: grant copy for domain %" PRIu32
                   " (the guest is %u)", domid, pvkit_xen_guest);
        return pvkit_xen_err(EINVAL);
    }
    for (i = 0; i < nr_segs; i++) {
        ret = pvkit_xen_copy_one(&segs[i], to_domain);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "pvkit: grant copy %s the guest "
                             "refused (segment %" PRIu32 " of %" PRIu32 ")",
                             to_domain ? "to" : "from", i + 1, nr_segs);
            return pvkit_xen_err(-ret);
        }
    }
    return 0;
}

static int pvkit_xen_gnttab_set_max(xengnttab_handle *xgt, uint32_t nr)
{
    return 0;
}

/*
 * Several refs map only if they name consecutive guest frames, which the
 * backend then sees as consecutive pages; other layouts fail with
 * EOPNOTSUPP (a frontend allocates a multi-page ring in one piece).
 */
static void *pvkit_xen_gnttab_map(xengnttab_handle *xgt, uint32_t count,
                                  uint32_t domid, uint32_t *refs, int prot)
{
    PVKitXenMap m = { 0 };
    void *addr;
    int ret;

    if (!xgt || !refs || !count || count > PVKIT_XEN_MAP_MAX_PAGES ||
        domid != pvkit_xen_guest) {
        errno = EINVAL;
        return NULL;
    }
    for (m.count = 0; m.count < count; m.count++) {
        ret = pvkit_gnttab_map(refs[m.count], prot & PROT_WRITE, &addr);
        if (ret < 0) {
            pvkit_xen_map_release(&m);
            errno = -ret;
            return NULL;
        }
        m.handle[m.count] = ret;
        if (!m.count) {
            m.addr = addr;
        } else if (addr != (uint8_t *)m.addr + m.count * XEN_PAGE_SIZE) {
            m.count++;
            pvkit_xen_map_release(&m);
            errno = EOPNOTSUPP;
            return NULL;
        }
    }
    m.ref = refs[0];
    WITH_QEMU_LOCK_GUARD(&xgt->lock) {
        g_array_append_val(xgt->maps, m);
    }
    return m.addr;
}

/*
 * Two refs may name the same guest frame, so the same address can be
 * mapped twice: match the ref too when the caller gives it.
 */
static int pvkit_xen_gnttab_unmap(xengnttab_handle *xgt, void *addr,
                                  uint32_t *refs, uint32_t count)
{
    PVKitXenMap found = { 0 };
    uint32_t p;
    guint i;
    int ret = 0, r;

    if (!xgt) {
        return pvkit_xen_err(EINVAL);
    }
    WITH_QEMU_LOCK_GUARD(&xgt->lock) {
        for (i = 0; i < xgt->maps->len; i++) {
            PVKitXenMap *m = &g_array_index(xgt->maps, PVKitXenMap, i);

            if (m->addr == addr && m->count == count &&
                (!refs || m->ref == refs[0])) {
                found = *m;
                g_array_remove_index_fast(xgt->maps, i);
                break;
            }
        }
    }
    if (!found.count) {
        return pvkit_xen_err(EINVAL);
    }
    for (p = 0; p < found.count; p++) {
        r = pvkit_gnttab_unmap(found.handle[p]);
        ret = ret ? ret : r;
    }
    return ret < 0 ? pvkit_xen_err(-ret) : 0;
}

static struct gnttab_backend_ops pvkit_xen_gnttab_ops = {
    .features = XEN_GNTTAB_OP_FEATURE_MAP_MULTIPLE,
    .open = pvkit_xen_gnttab_open,
    .close = pvkit_xen_gnttab_close,
    .grant_copy = pvkit_xen_gnttab_copy,
    .set_max_grants = pvkit_xen_gnttab_set_max,
    .map_refs = pvkit_xen_gnttab_map,
    .unmap = pvkit_xen_gnttab_unmap,
};

/* ---- Foreign memory: not offered ---- */

static void *pvkit_xen_foreign_map(uint32_t dom, void *addr, int prot,
                                   size_t pages, xen_pfn_t *pfns, int *errs)
{
    errno = ENOSYS;
    return NULL;
}

static int pvkit_xen_foreign_unmap(void *addr, size_t pages)
{
    return pvkit_xen_err(ENOSYS);
}

static struct foreignmem_backend_ops pvkit_xen_foreignmem_ops = {
    .map = pvkit_xen_foreign_map,
    .unmap = pvkit_xen_foreign_unmap,
};

/* ---- The store ---- */

struct qemu_xs_handle {
    GList *watches;             /* struct qemu_xs_watch */
    GQueue events;              /* PVKitXsEvent, oldest first */
    QEMUBH *bh;                 /* delivers @events */
    int delivering;             /* nesting depth of the bottom half */
    bool closed;                /* closed while delivering: free later */
};

struct qemu_xs_watch {
    struct qemu_xs_handle *h;
    char *path;
    char *token;
    xs_watch_fn fn;
    void *opaque;
};

typedef struct PVKitXsEvent {
    struct qemu_xs_watch *w;
    char *path;
} PVKitXsEvent;

/* The engine, or NULL with errno set when the tables were removed. */
static XenstoreImplState *pvkit_xen_xs(void)
{
    if (!pvkit_xen_store) {
        errno = ENOENT;
    }
    return pvkit_xen_store;
}

static bool pvkit_xen_xs_ok(int err)
{
    if (err) {
        errno = err;
        return false;
    }
    return true;
}

static void pvkit_xs_event_free(PVKitXsEvent *ev)
{
    g_free(ev->path);
    g_free(ev);
}

/*
 * Deliver the events queued when the bottom half started; newer ones
 * (a callback's own writes) wait for the next run.  A callback may
 * unwatch any watch or close the handle: each event leaves the queue
 * before its callback runs, unwatch drops the watch's queued events and
 * a close while delivering defers freeing the handle.
 */
static void pvkit_xs_deliver(void *opaque)
{
    struct qemu_xs_handle *h = opaque;
    guint budget = g_queue_get_length(&h->events);
    PVKitXsEvent *ev;

    h->delivering++;
    while (budget-- && !h->closed &&
           (ev = g_queue_pop_head(&h->events))) {
        ev->w->fn(ev->w->opaque, ev->path);
        pvkit_xs_event_free(ev);
    }
    h->delivering--;
    if (h->closed) {
        if (!h->delivering) {
            g_free(h);
        }
        return;
    }
    if (!g_queue_is_empty(&h->events)) {
        qemu_bh_schedule(h->bh);
    }
}

/* Called by the engine, inside whatever store operation fired it. */
static void pvkit_xs_watch_fired(void *opaque, const char *path,
                                 const char *token)
{
    struct qemu_xs_watch *w = opaque;
    PVKitXsEvent *ev = g_new(PVKitXsEvent, 1);

    ev->w = w;
    ev->path = g_strdup(path);
    g_queue_push_tail(&w->h->events, ev);
    qemu_bh_schedule(w->h->bh);
}

static struct qemu_xs_handle *pvkit_xen_xs_open(void)
{
    struct qemu_xs_handle *h;

    if (!pvkit_xen_xs()) {
        return NULL;
    }
    h = g_new0(struct qemu_xs_handle, 1);
    g_queue_init(&h->events);
    h->bh = aio_bh_new(qemu_get_aio_context(), pvkit_xs_deliver, h);
    return h;
}

static void pvkit_xen_xs_unwatch(struct qemu_xs_handle *h,
                                 struct qemu_xs_watch *w);

static void pvkit_xen_xs_close(struct qemu_xs_handle *h)
{
    if (!h) {
        return;
    }
    while (h->watches) {
        pvkit_xen_xs_unwatch(h, h->watches->data);
    }
    qemu_bh_delete(h->bh);
    h->bh = NULL;
    if (h->delivering) {
        h->closed = true;
    } else {
        g_free(h);
    }
}

static char *pvkit_xen_xs_domain_path(struct qemu_xs_handle *h,
                                      unsigned int domid)
{
    return g_strdup_printf("/local/domain/%u", domid);
}

/*
 * libxenstore returns the names and the array in one allocation that the
 * caller frees with free(): so do we (g_malloc is malloc since glib 2.46).
 */
static char **pvkit_xs_names_array(GList *items, unsigned int *num)
{
    size_t n = g_list_length(items), size = (n + 1) * sizeof(char *);
    char **names;
    char *p;
    GList *l;

    for (l = items; l; l = l->next) {
        size += strlen(l->data) + 1;
    }
    names = g_malloc(size);
    p = (char *)&names[n + 1];
    n = 0;
    for (l = items; l; l = l->next) {
        names[n++] = strcpy(p, l->data);
        p += strlen(p) + 1;
    }
    names[n] = NULL;
    *num = n;
    return names;
}

static char **pvkit_xen_xs_directory(struct qemu_xs_handle *h,
                                     xs_transaction_t t, const char *path,
                                     unsigned int *num)
{
    XenstoreImplState *xs = pvkit_xen_xs();
    GList *items = NULL;
    char **names;
    int err;

    if (!xs) {
        return NULL;
    }
    err = xs_impl_directory(xs, PVKIT_DOMID_HOST, t, path, NULL, &items);
    if (!pvkit_xen_xs_ok(err)) {
        return NULL;
    }
    names = pvkit_xs_names_array(items, num);
    g_list_free_full(items, g_free);
    return names;
}

/* The value, NUL-terminated (xen-bus-helper.c parses it as a string). */
static void *pvkit_xen_xs_read(struct qemu_xs_handle *h, xs_transaction_t t,
                               const char *path, unsigned int *len)
{
    XenstoreImplState *xs = pvkit_xen_xs();
    GByteArray *data;
    int err;

    if (!xs) {
        return NULL;
    }
    data = g_byte_array_new();
    err = xs_impl_read(xs, PVKIT_DOMID_HOST, t, path, data);
    if (!pvkit_xen_xs_ok(err)) {
        g_byte_array_unref(data);
        return NULL;
    }
    if (len) {
        *len = data->len;
    }
    g_byte_array_append(data, (const guint8 *)"", 1);
    return g_byte_array_free(data, false);
}

static bool pvkit_xen_xs_write(struct qemu_xs_handle *h, xs_transaction_t t,
                               const char *path, const void *data,
                               unsigned int len)
{
    XenstoreImplState *xs = pvkit_xen_xs();
    g_autoptr(GByteArray) value = NULL;

    if (!xs) {
        return false;
    }
    value = g_byte_array_sized_new(len);
    g_byte_array_append(value, data, len);
    return pvkit_xen_xs_ok(xs_impl_write(xs, PVKIT_DOMID_HOST, t, path,
                                         value));
}

/*
 * Like xs_mkdir() (an existing node keeps its value) followed by
 * xs_set_permissions(): @owner owns the node, @domid gets @perms.
 */
static bool pvkit_xen_xs_create(struct qemu_xs_handle *h, xs_transaction_t t,
                                unsigned int owner, unsigned int domid,
                                unsigned int perms, const char *path)
{
    XenstoreImplState *xs = pvkit_xen_xs();
    g_autoptr(GByteArray) data = NULL;
    GList *acl;
    int err;

    if (!xs) {
        return false;
    }
    data = g_byte_array_new();
    err = xs_impl_read(xs, PVKIT_DOMID_HOST, t, path, data);
    if (err == ENOENT) {
        g_byte_array_set_size(data, 0);
        err = xs_impl_write(xs, PVKIT_DOMID_HOST, t, path, data);
    }
    if (!pvkit_xen_xs_ok(err)) {
        return false;
    }
    acl = g_list_append(NULL, xs_perm_as_string(XS_PERM_NONE, owner));
    acl = g_list_append(acl, xs_perm_as_string(perms, domid));
    err = xs_impl_set_perms(xs, PVKIT_DOMID_HOST, t, path, acl);
    g_list_free_full(acl, g_free);
    return pvkit_xen_xs_ok(err);
}

static bool pvkit_xen_xs_destroy(struct qemu_xs_handle *h, xs_transaction_t t,
                                 const char *path)
{
    XenstoreImplState *xs = pvkit_xen_xs();

    return xs && pvkit_xen_xs_ok(xs_impl_rm(xs, PVKIT_DOMID_HOST, t, path));
}

static void pvkit_xs_watch_free(struct qemu_xs_watch *w)
{
    g_free(w->path);
    g_free(w->token);
    g_free(w);
}

/* Drop @w's queued events and forget it. */
static void pvkit_xs_watch_forget(struct qemu_xs_handle *h,
                                  struct qemu_xs_watch *w)
{
    GList *l = h->events.head, *next;

    for (; l; l = next) {
        PVKitXsEvent *ev = l->data;

        next = l->next;
        if (ev->w == w) {
            g_queue_delete_link(&h->events, l);
            pvkit_xs_event_free(ev);
        }
    }
    h->watches = g_list_remove(h->watches, w);
    pvkit_xs_watch_free(w);
}

/*
 * The engine fires a new watch at once: the watch is on the handle's
 * list before that event is queued.
 */
static struct qemu_xs_watch *pvkit_xen_xs_watch(struct qemu_xs_handle *h,
                                                const char *path,
                                                xs_watch_fn fn, void *opaque)
{
    XenstoreImplState *xs = pvkit_xen_xs();
    struct qemu_xs_watch *w;
    int err;

    if (!xs) {
        return NULL;
    }
    if (!h || !path || !fn) {
        errno = EINVAL;
        return NULL;
    }
    w = g_new0(struct qemu_xs_watch, 1);
    w->h = h;
    w->path = g_strdup(path);
    w->token = g_strdup_printf("pvkit-%p", w);
    w->fn = fn;
    w->opaque = opaque;
    h->watches = g_list_prepend(h->watches, w);
    err = xs_impl_watch(xs, PVKIT_DOMID_HOST, path, w->token,
                        pvkit_xs_watch_fired, w);
    if (!pvkit_xen_xs_ok(err)) {
        pvkit_xs_watch_forget(h, w);
        return NULL;
    }
    return w;
}

static void pvkit_xen_xs_unwatch(struct qemu_xs_handle *h,
                                 struct qemu_xs_watch *w)
{
    if (!h || !w || w->h != h) {
        return;
    }
    if (pvkit_xen_store) {
        xs_impl_unwatch(pvkit_xen_store, PVKIT_DOMID_HOST, w->path, w->token,
                        pvkit_xs_watch_fired, w);
    }
    pvkit_xs_watch_forget(h, w);
}

static xs_transaction_t pvkit_xen_xs_tx_start(struct qemu_xs_handle *h)
{
    XenstoreImplState *xs = pvkit_xen_xs();
    xs_transaction_t t = XBT_NULL;

    if (xs) {
        pvkit_xen_xs_ok(xs_impl_transaction_start(xs, PVKIT_DOMID_HOST, &t));
    }
    return t;
}

static bool pvkit_xen_xs_tx_end(struct qemu_xs_handle *h, xs_transaction_t t,
                                bool abort)
{
    XenstoreImplState *xs = pvkit_xen_xs();

    return xs && pvkit_xen_xs_ok(xs_impl_transaction_end(xs, PVKIT_DOMID_HOST,
                                                         t, !abort));
}

static struct xenstore_backend_ops pvkit_xen_xenstore_ops = {
    .open = pvkit_xen_xs_open,
    .close = pvkit_xen_xs_close,
    .get_domain_path = pvkit_xen_xs_domain_path,
    .directory = pvkit_xen_xs_directory,
    .read = pvkit_xen_xs_read,
    .write = pvkit_xen_xs_write,
    .create = pvkit_xen_xs_create,
    .destroy = pvkit_xen_xs_destroy,
    .watch = pvkit_xen_xs_watch,
    .unwatch = pvkit_xen_xs_unwatch,
    .transaction_start = pvkit_xen_xs_tx_start,
    .transaction_end = pvkit_xen_xs_tx_end,
};

/* ---- Installation ---- */

bool pvkit_xen_ops_install(XenstoreImplState *xs, unsigned int guest_domid,
                           Error **errp)
{
    if (xen_evtchn_ops || xen_gnttab_ops || xen_foreignmem_ops ||
        xen_xenstore_ops) {
        error_setg(errp, "pvkit: the Xen backend operations are already "
                   "provided (by Xen or KVM's Xen emulation)");
        return false;
    }
    pvkit_xen_store = xs;
    pvkit_xen_guest = guest_domid;
    xen_evtchn_ops = &pvkit_xen_evtchn_ops;
    xen_gnttab_ops = &pvkit_xen_gnttab_ops;
    xen_foreignmem_ops = &pvkit_xen_foreignmem_ops;
    xen_xenstore_ops = &pvkit_xen_xenstore_ops;
    return true;
}

void pvkit_xen_ops_uninstall(void)
{
    if (xen_evtchn_ops == &pvkit_xen_evtchn_ops) {
        xen_evtchn_ops = NULL;
    }
    if (xen_gnttab_ops == &pvkit_xen_gnttab_ops) {
        xen_gnttab_ops = NULL;
    }
    if (xen_foreignmem_ops == &pvkit_xen_foreignmem_ops) {
        xen_foreignmem_ops = NULL;
    }
    if (xen_xenstore_ops == &pvkit_xen_xenstore_ops) {
        xen_xenstore_ops = NULL;
    }
    pvkit_xen_store = NULL;
}
