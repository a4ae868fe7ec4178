/*
 * pvkit reference host device: the store server
 *
 * QEMU's own xenstore engine (hw/i386/kvm/xenstore_impl.c) served to the
 * guest as domain 1 over the ring page it registers with STORE_SETUP; the
 * ring's framing is pvkit-xs-ring.c's, the port a device-model binding
 * whose bottom half (pvkit_xs_bh()) serves the requests.  All under the
 * BQL.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "hw/xen/interface/io/xs_wire.h"
#include "hw/i386/kvm/xenstore_impl.h"
#include "pvkit-internal.h"

QEMU_BUILD_BUG_ON(sizeof(struct pvkit_xs_ring) !=
                  sizeof(struct xenstore_domain_interface));
QEMU_BUILD_BUG_ON(offsetof(struct pvkit_xs_ring, rsp) !=
                  offsetof(struct xenstore_domain_interface, rsp));
QEMU_BUILD_BUG_ON(offsetof(struct pvkit_xs_ring, req_cons) !=
                  offsetof(struct xenstore_domain_interface, req_cons));
QEMU_BUILD_BUG_ON(offsetof(struct pvkit_xs_ring, rsp_prod) !=
                  offsetof(struct xenstore_domain_interface, rsp_prod));
QEMU_BUILD_BUG_ON(offsetof(struct pvkit_xs_ring, error) !=
                  offsetof(struct xenstore_domain_interface, error));
QEMU_BUILD_BUG_ON(sizeof(struct pvkit_xs_hdr) != sizeof(struct xsd_sockmsg));
QEMU_BUILD_BUG_ON(PVKIT_XS_RING_SIZE != XENSTORE_RING_SIZE);
QEMU_BUILD_BUG_ON(PVKIT_XS_PAYLOAD_MAX != XENSTORE_PAYLOAD_MAX);
QEMU_BUILD_BUG_ON(PVKIT_XS_ERROR_RINGIDX != XENSTORE_ERROR_RINGIDX);
QEMU_BUILD_BUG_ON(PVKIT_XS_WATCH_EVENT != (int)XS_WATCH_EVENT ||
                  PVKIT_XS_ERROR != (int)XS_ERROR ||
                  PVKIT_XS_SET_PERMS != (int)XS_SET_PERMS ||
                  PVKIT_XS_RESET_WATCHES != (int)XS_RESET_WATCHES ||
                  PVKIT_XS_DIRECTORY_PART != (int)XS_DIRECTORY_PART ||
                  PVKIT_XS_TYPE_COUNT != (int)XS_TYPE_COUNT);

static void pvkit_xs_watch_cb(void *opaque, const char *path,
                              const char *token)
{
    PVKitState *s = opaque;

    if (s->xs_ram.ptr) {
        pvkit_xs_queue_watch(&s->xs_conn, path, token);
        qemu_bh_schedule(s->xs_bh);
    }
}

/* Forget the connection: open transactions, watches, queued replies. */
static void pvkit_store_drop_conn(PVKitState *s)
{
    int i;

    for (i = 0; i < PVKIT_XS_MAX_TX; i++) {
        if (s->xs_tx[i]) {
            xs_impl_transaction_end(s->xs, PVKIT_DOMID_GUEST, s->xs_tx[i],
                                    false);
            s->xs_tx[i] = 0;
        }
    }
    xs_impl_reset_watches(s->xs, PVKIT_DOMID_GUEST);
    pvkit_xs_conn_reset(&s->xs_conn);
}

void pvkit_store_unmap(PVKitState *s)
{
    if (s->xs_ram.mr) {
        pvkit_store_drop_conn(s);
    }
    pvkit_guest_ram_map(&s->xs_ram, 0, 0);
}

static void pvkit_ring_dirty(PVKitState *s)
{
    pvkit_guest_ram_dirty(&s->xs_ram, 0, PVKIT_PAGE_SIZE);
}

/* STORE_SETUP (the dispatcher checked alignment and that gpa is RAM). */
int64_t pvkit_store_setup(void *opaque, uint64_t gpa)
{
    PVKitState *s = opaque;
    int64_t port;
    int ret;

    if (!gpa) {
        if (s->xs_port) {
            /* releases the binding, which unmaps */
            pvkit_evtchn_backend_close(&pvkit_host_ops, s, s->xs_port);
        }
        s->xs_port = 0;
        pvkit_store_unmap(s);
        return 0;
    }
    if (s->xs_ram.mr) {
        return -PVKIT_EBUSY;
    }
    ret = pvkit_guest_ram_map(&s->xs_ram, gpa, PVKIT_PAGE_SIZE);
    if (ret) {
        return ret;
    }
    port = pvkit_evtchn_backend_alloc(&pvkit_host_ops, s, s->xs_bh);
    if (port < 0) {
        pvkit_guest_ram_map(&s->xs_ram, 0, 0);
        return port;
    }
    s->nr_bindings++;
    s->xs_port = port;
    memset(s->xs_tx, 0, sizeof(s->xs_tx));
    pvkit_xs_conn_reset(&s->xs_conn);
    pvkit_xs_ring_init(s->xs_ram.ptr);
    pvkit_ring_dirty(s);
    return port;
}

static void pvkit_xs_reply(PVKitState *s, const PVKitXsArgs *a,
                           const void *data, uint32_t len)
{
    /* pvkit_xs_can_take() left room for any reply */
    if (len > PVKIT_XS_PAYLOAD_MAX) {
        pvkit_xs_queue_error(&s->xs_conn, a->req_id, a->tx_id, E2BIG);
        return;
    }
    pvkit_xs_queue(&s->xs_conn, a->type, a->req_id, a->tx_id, data, len, 0);
}

static void pvkit_xs_ok(PVKitState *s, const PVKitXsArgs *a)
{
    pvkit_xs_reply(s, a, "OK", 3);
}

/* Strings each followed by a NUL, as DIRECTORY and GET_PERMS answer. */
static void pvkit_xs_reply_list(PVKitState *s, const PVKitXsArgs *a,
                                GList *items)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    GList *l;

    for (l = items; l; l = l->next) {
        g_byte_array_append(out, l->data, strlen(l->data) + 1);
    }
    pvkit_xs_reply(s, a, out->data, out->len);
}

static void pvkit_xs_tx_track(PVKitState *s, uint32_t tx, bool open)
{
    int i;

    for (i = 0; i < PVKIT_XS_MAX_TX; i++) {
        if (s->xs_tx[i] == (open ? 0 : tx)) {
            s->xs_tx[i] = open ? tx : 0;
            return;
        }
    }
}

/* One request, already taken whole from the ring. */
static void pvkit_xs_handle(PVKitState *s)
{
    const unsigned int dom = PVKIT_DOMID_GUEST;
    PVKitXsArgs a;
    int err = pvkit_xs_parse(&s->xs_conn, &a);
    g_autoptr(GByteArray) data = g_byte_array_new();
    GList *list = NULL;
    uint64_t gencnt;
    xs_transaction_t tx;
    unsigned int domid;
    char buf[32];
    uint32_t i;

    if (err) {
        goto out;
    }
    switch (a.type) {
    case XS_READ:
        err = xs_impl_read(s->xs, dom, a.tx_id, a.arg[0], data);
        if (!err) {
            pvkit_xs_reply(s, &a, data->data, data->len);
        }
        break;
    case XS_WRITE:
        g_byte_array_append(data, a.value, a.value_len);
        err = xs_impl_write(s->xs, dom, a.tx_id, a.arg[0], data);
        if (!err) {
            pvkit_xs_ok(s, &a);
        }
        break;
    case XS_MKDIR:
        err = xs_impl_read(s->xs, dom, a.tx_id, a.arg[0], data);
        if (err == ENOENT) {
            g_byte_array_set_size(data, 0);
            err = xs_impl_write(s->xs, dom, a.tx_id, a.arg[0], data);
        }
        if (!err) {
            pvkit_xs_ok(s, &a);
        }
        break;
    case XS_DIRECTORY:
        err = xs_impl_directory(s->xs, dom, a.tx_id, a.arg[0], &gencnt,
                                &list);
        if (!err) {
            pvkit_xs_reply_list(s, &a, list);
        }
        g_list_free_full(list, g_free);
        break;
    case XS_RM:
        err = xs_impl_rm(s->xs, dom, a.tx_id, a.arg[0]);
        if (!err) {
            pvkit_xs_ok(s, &a);
        }
        break;
    case XS_GET_PERMS:
        err = xs_impl_get_perms(s->xs, dom, a.tx_id, a.arg[0], &list);
        if (!err) {
            pvkit_xs_reply_list(s, &a, list);
        }
        g_list_free_full(list, g_free);
        break;
    case XS_SET_PERMS:
        for (i = 1; i < a.nargs; i++) {
            list = g_list_append(list, (gpointer)a.arg[i]);
        }
        err = xs_impl_set_perms(s->xs, dom, a.tx_id, a.arg[0], list);
        g_list_free(list);
        if (!err) {
            pvkit_xs_ok(s, &a);
        }
        break;
    case XS_WATCH:
        err = xs_impl_watch(s->xs, dom, a.arg[0], a.arg[1],
                            pvkit_xs_watch_cb, s);
        if (!err) {
            pvkit_xs_ok(s, &a);
        }
        break;
    case XS_UNWATCH:
        err = xs_impl_unwatch(s->xs, dom, a.arg[0], a.arg[1],
                              pvkit_xs_watch_cb, s);
        if (!err) {
            pvkit_xs_ok(s, &a);
        }
        break;
    case XS_RESET_WATCHES:
        err = xs_impl_reset_watches(s->xs, dom);
        if (!err) {
            pvkit_xs_ok(s, &a);
        }
        break;
    case XS_TRANSACTION_START:
        if (a.tx_id != XBT_NULL) {
            err = EINVAL;
            break;
        }
        err = xs_impl_transaction_start(s->xs, dom, &tx);
        if (!err) {
            pvkit_xs_tx_track(s, tx, true);
            snprintf(buf, sizeof(buf), "%u", tx);
            pvkit_xs_reply(s, &a, buf, strlen(buf) + 1);
        }
        break;
    case XS_TRANSACTION_END:
        err = xs_impl_transaction_end(s->xs, dom, a.tx_id,
                                      !strcmp(a.arg[0], "T"));
        if (err != ENOENT) {
            /* ended, committed or not (EAGAIN: a conflict) */
            pvkit_xs_tx_track(s, a.tx_id, false);
        }
        if (!err) {
            pvkit_xs_ok(s, &a);
        }
        break;
    case XS_GET_DOMAIN_PATH:
        if (qemu_strtoui(a.arg[0], NULL, 10, &domid)) {
            err = EINVAL;
            break;
        }
        snprintf(buf, sizeof(buf), "/local/domain/%u", domid);
        pvkit_xs_reply(s, &a, buf, strlen(buf) + 1);
        break;
    default:
        err = ENOSYS;
        break;
    }
out:
    if (err) {
        pvkit_xs_queue_error(&s->xs_conn, a.req_id, a.tx_id, err);
    }
}

/*
 * The guest's event (or a watch firing): serve whole requests while the
 * reply queue has room, at most PVKIT_XS_BUDGET per run, move replies
 * into the ring and notify the guest if either index moved.
 */
void pvkit_xs_bh(void *opaque)
{
    PVKitState *s = opaque;
    PVKitXsConn *c = &s->xs_conn;
    struct pvkit_xs_ring *r = s->xs_ram.ptr;
    uint32_t req_cons;
    struct pvkit_xs_hdr h;
    int budget = PVKIT_XS_BUDGET, ret;
    bool moved = false;

    if (!r || c->broken) {
        return;
    }
    req_cons = qatomic_read(&r->req_cons);
    for (;;) {
        ret = pvkit_xs_push(c, r);
        if (ret < 0) {
            break;
        }
        moved |= ret > 0;
        if (!pvkit_xs_can_take(c)) {
            break;
        }
        if (!budget--) {
            qemu_bh_schedule(s->xs_bh);
            break;
        }
        ret = pvkit_xs_pull(c, r);
        if (ret == PVKIT_XS_MSG) {
            pvkit_xs_handle(s);
        } else if (ret == PVKIT_XS_TOOBIG) {
            memcpy(&h, c->req, sizeof(h));
            qemu_log_mask(LOG_GUEST_ERROR, "pvkit: store request of %" PRIu32
                          " bytes\n", h.len);
            pvkit_xs_queue_error(c, h.req_id, h.tx_id, E2BIG);
        } else {
            if (ret < 0) {
                qemu_log_mask(LOG_GUEST_ERROR,
                              "pvkit: store ring index corrupt, stopped\n");
            }
            /* nothing more; replies queued so far still go out */
            ret = pvkit_xs_push(c, r);
            moved |= ret > 0;
            break;
        }
    }
    moved |= qatomic_read(&r->req_cons) != req_cons || c->broken;
    if (moved) {
        pvkit_ring_dirty(s);
        pvkit_evtchn_backend_notify(&pvkit_host_ops, s, s->xs_port);
    }
}

static void G_GNUC_PRINTF(4, 5) pvkit_xs_node(PVKitState *s, GList *perms,
                                              const char *relpath,
                                              const char *fmt, ...)
{
    g_autofree char *path = g_strdup_printf("/local/domain/%u%s%s",
                                            PVKIT_DOMID_GUEST,
                                            *relpath ? "/" : "", relpath);
    g_autoptr(GByteArray) data = g_byte_array_new();
    g_autofree char *value = NULL;
    va_list ap;

    va_start(ap, fmt);
    value = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_byte_array_append(data, (uint8_t *)value, strlen(value));
    if (xs_impl_write(s->xs, PVKIT_DOMID_HOST, XBT_NULL, path, data) ||
        xs_impl_set_perms(s->xs, PVKIT_DOMID_HOST, XBT_NULL, path, perms)) {
        error_report("pvkit: cannot create store node %s", path);
    }
}

/*
 * Empty the guest's home.  With the Xen bus, device/ stays: it holds the
 * frontend directories of the bus's devices, which do not go away with a
 * reset (the startup reset follows their realize).
 */
static void pvkit_store_clear(PVKitState *s)
{
    g_autofree char *home = g_strdup_printf("/local/domain/%u",
                                            PVKIT_DOMID_GUEST);
    GList *items = NULL, *l;

    if (!s->xen_bus) {
        xs_impl_rm(s->xs, PVKIT_DOMID_HOST, XBT_NULL, home);
        return;
    }
    xs_impl_directory(s->xs, PVKIT_DOMID_HOST, XBT_NULL, home, NULL, &items);
    for (l = items; l; l = l->next) {
        g_autofree char *path = g_strdup_printf("%s/%s", home,
                                                (char *)l->data);

        if (strcmp(l->data, "device")) {
            xs_impl_rm(s->xs, PVKIT_DOMID_HOST, XBT_NULL, path);
        }
    }
    g_list_free_full(items, g_free);
}

/*
 * The guest's part of the tree, as QEMU's Xen emulation builds it
 * (xen_xenstore.c), less what pvkit does not offer (ACPI, suspend):
 * /local/domain/1 and a few nodes readable by the guest, and the
 * directories a guest writes to, owned by it.
 */
void pvkit_store_populate(PVKitState *s)
{
    GList *perms;

    pvkit_store_clear(s);
    perms = g_list_append(NULL, xs_perm_as_string(XS_PERM_NONE,
                                                  PVKIT_DOMID_HOST));
    perms = g_list_append(perms, xs_perm_as_string(XS_PERM_READ,
                                                   PVKIT_DOMID_GUEST));
    pvkit_xs_node(s, perms, "", "%s", "");
    pvkit_xs_node(s, perms, "domid", "%u", PVKIT_DOMID_GUEST);
    pvkit_xs_node(s, perms, "name", "%s", "pvkit-guest");
    pvkit_xs_node(s, perms, "control/platform-feature-xs_reset_watches",
                  "%u", 1);
    g_list_free_full(perms, g_free);

    perms = g_list_append(NULL, xs_perm_as_string(XS_PERM_NONE,
                                                  PVKIT_DOMID_GUEST));
    pvkit_xs_node(s, perms, "attr", "%s", "");
    pvkit_xs_node(s, perms, "control/shutdown", "%s", "");
    pvkit_xs_node(s, perms, "data", "%s", "");
    pvkit_xs_node(s, perms, "device", "%s", "");
    pvkit_xs_node(s, perms, "drivers", "%s", "");
    pvkit_xs_node(s, perms, "error", "%s", "");
    pvkit_xs_node(s, perms, "feature", "%s", "");
    g_list_free_full(perms, g_free);
}
