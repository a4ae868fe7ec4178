/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvkit store: ring framing and message validation (see pvkit-xs-ring.h).
 *
 * Ordering follows Xen's xenstored: read the producer index, then
 * (acquire) the bytes it covers, then publish the consumer index
 * (release); write reply bytes, then (release) publish rsp_prod.  The
 * indexes are free-running 32-bit counters; the guest may change any of
 * them, so each one read is checked against the ring size.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "pvkit-xs-ring.h"
#include "hw/pvkit/pvkit-abi.h"

/* XENSTORE_ABS_PATH_MAX */
#define PVKIT_XS_ABS_PATH_MAX   3072

_Static_assert(offsetof(struct pvkit_xs_ring, req_cons) == 2048,
               "xenstore ring layout");
_Static_assert(offsetof(struct pvkit_xs_ring, error) == 2072,
               "xenstore ring layout");
_Static_assert(sizeof(struct pvkit_xs_hdr) == PVKIT_XS_HDR_SIZE,
               "xsd_sockmsg layout");

static uint32_t ld_acquire(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void st_release(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

void pvkit_xs_conn_reset(PVKitXsConn *c)
{
    c->req_len = 0;
    c->req_done = false;
    c->skip = 0;
    c->broken = false;
    c->q_head = 0;
    c->q_used = 0;
}

void pvkit_xs_ring_init(struct pvkit_xs_ring *r)
{
    st_release(&r->req_cons, 0);
    st_release(&r->req_prod, 0);
    st_release(&r->rsp_cons, 0);
    st_release(&r->rsp_prod, 0);
    st_release(&r->error, PVKIT_XS_ERROR_NONE);
    st_release(&r->connection, PVKIT_XS_CONNECTED);
    st_release(&r->server_features, PVKIT_XS_SERVER_FEATURE_ERROR);
}

static int corrupt(PVKitXsConn *c, struct pvkit_xs_ring *r)
{
    if (!c->broken) {
        c->broken = true;
        c->stats.corrupt++;
    }
    st_release(&r->error, PVKIT_XS_ERROR_RINGIDX);
    return PVKIT_XS_CORRUPT;
}

/*
 * Copy up to @want bytes out of the request ring into @dst; returns the
 * count (0: nothing there) or PVKIT_XS_CORRUPT.
 */
static int ring_take(PVKitXsConn *c, struct pvkit_xs_ring *r, uint8_t *dst,
                     uint32_t want)
{
    uint32_t cons = __atomic_load_n(&r->req_cons, __ATOMIC_RELAXED);
    uint32_t prod = ld_acquire(&r->req_prod);
    uint32_t avail = prod - cons, n, i, off, chunk;

    if (avail > PVKIT_XS_RING_SIZE) {
        return corrupt(c, r);
    }
    n = avail < want ? avail : want;
    for (i = 0; i < n; i += chunk) {
        off = (cons + i) & (PVKIT_XS_RING_SIZE - 1);
        chunk = PVKIT_XS_RING_SIZE - off;
        if (chunk > n - i) {
            chunk = n - i;
        }
        if (dst) {
            memcpy(dst + i, r->req + off, chunk);
        }
    }
    if (n) {
        /* the copies above complete before the guest may reuse the space */
        st_release(&r->req_cons, cons + n);
    }
    return (int)n;
}

int pvkit_xs_pull(PVKitXsConn *c, struct pvkit_xs_ring *r)
{
    struct pvkit_xs_hdr h;
    int n;

    if (c->broken) {
        return PVKIT_XS_CORRUPT;
    }
    if (c->req_done) {
        c->req_done = false;
        c->req_len = 0;
    }
    /*
     * The payload of an oversized request: discard it, at most one ring's
     * worth per call, so a guest that keeps producing cannot keep the
     * host here.
     */
    if (c->skip) {
        n = ring_take(c, r, NULL, c->skip);
        if (n < 0) {
            return n;
        }
        c->skip -= (uint32_t)n;
        if (c->skip) {
            return PVKIT_XS_NONE;
        }
    }
    if (c->req_len < PVKIT_XS_HDR_SIZE) {
        n = ring_take(c, r, c->req + c->req_len,
                      PVKIT_XS_HDR_SIZE - c->req_len);
        if (n < 0) {
            return n;
        }
        c->req_len += (uint32_t)n;
        if (c->req_len < PVKIT_XS_HDR_SIZE) {
            return PVKIT_XS_NONE;
        }
    }
    memcpy(&h, c->req, sizeof(h));
    if (h.len > PVKIT_XS_PAYLOAD_MAX) {
        c->stats.requests++;
        c->skip = h.len;
        c->req_done = true;
        return PVKIT_XS_TOOBIG;
    }
    if (c->req_len < PVKIT_XS_HDR_SIZE + h.len) {
        n = ring_take(c, r, c->req + c->req_len,
                      PVKIT_XS_HDR_SIZE + h.len - c->req_len);
        if (n < 0) {
            return n;
        }
        c->req_len += (uint32_t)n;
        if (c->req_len < PVKIT_XS_HDR_SIZE + h.len) {
            return PVKIT_XS_NONE;
        }
    }
    c->stats.requests++;
    c->req_done = true;
    return PVKIT_XS_MSG;
}

static void queue_put(PVKitXsConn *c, const void *src, uint32_t len)
{
    uint32_t tail = (c->q_head + c->q_used) % PVKIT_XS_QUEUE_SIZE;
    uint32_t first = PVKIT_XS_QUEUE_SIZE - tail;

    if (first > len) {
        first = len;
    }
    memcpy(c->queue + tail, src, first);
    memcpy(c->queue, (const uint8_t *)src + first, len - first);
    c->q_used += len;
}

int pvkit_xs_queue(PVKitXsConn *c, uint32_t type, uint32_t req_id,
                   uint32_t tx_id, const void *payload, uint32_t len,
                   uint32_t reserve)
{
    struct pvkit_xs_hdr h = { type, req_id, tx_id, len };
    uint64_t need = (uint64_t)PVKIT_XS_HDR_SIZE + len + reserve;

    if (len > PVKIT_XS_PAYLOAD_MAX) {
        return -PVKIT_E2BIG;
    }
    if (need > PVKIT_XS_QUEUE_SIZE - c->q_used) {
        return -PVKIT_ENOSPC;
    }
    queue_put(c, &h, sizeof(h));
    if (len) {
        queue_put(c, payload, len);
    }
    return 0;
}

static const struct {
    int err;
    const char *name;
} xs_errors[] = {
    { EINVAL, "EINVAL" }, { EACCES, "EACCES" }, { EEXIST, "EEXIST" },
    { EISDIR, "EISDIR" }, { ENOENT, "ENOENT" }, { ENOMEM, "ENOMEM" },
    { ENOSPC, "ENOSPC" }, { EIO, "EIO" }, { ENOTEMPTY, "ENOTEMPTY" },
    { ENOSYS, "ENOSYS" }, { EROFS, "EROFS" }, { EBUSY, "EBUSY" },
    { EAGAIN, "EAGAIN" }, { EISCONN, "EISCONN" }, { E2BIG, "E2BIG" },
    { EPERM, "EPERM" },
};

const char *pvkit_xs_errname(int err)
{
    size_t i;

    for (i = 0; i < sizeof(xs_errors) / sizeof(xs_errors[0]); i++) {
        if (xs_errors[i].err == err) {
            return xs_errors[i].name;
        }
    }
    return "EINVAL";
}

int pvkit_xs_queue_error(PVKitXsConn *c, uint32_t req_id, uint32_t tx_id,
                         int err)
{
    const char *name = pvkit_xs_errname(err);
    int ret;

    ret = pvkit_xs_queue(c, PVKIT_XS_ERROR, req_id, tx_id, name,
                         (uint32_t)strlen(name) + 1, 0);
    if (!ret) {
        c->stats.errors++;
    }
    return ret;
}

int pvkit_xs_queue_watch(PVKitXsConn *c, const char *path,
                         const char *token)
{
    uint8_t buf[PVKIT_XS_PAYLOAD_MAX];
    size_t pl = strlen(path) + 1, tl = strlen(token) + 1;
    int ret = -PVKIT_E2BIG;

    if (pl + tl <= sizeof(buf)) {
        memcpy(buf, path, pl);
        memcpy(buf + pl, token, tl);
        /* keep room for the reply to the request being served */
        ret = pvkit_xs_queue(c, PVKIT_XS_WATCH_EVENT, 0, 0, buf,
                             (uint32_t)(pl + tl), PVKIT_XS_MSG_MAX);
    }
    if (ret) {
        c->stats.watch_dropped++;
    } else {
        c->stats.watch_events++;
    }
    return ret;
}

bool pvkit_xs_can_take(const PVKitXsConn *c)
{
    return !c->broken &&
           PVKIT_XS_QUEUE_SIZE - c->q_used >= 2 * PVKIT_XS_MSG_MAX;
}

int pvkit_xs_push(PVKitXsConn *c, struct pvkit_xs_ring *r)
{
    uint32_t cons, prod, space, n, i, off, chunk, q;

    if (c->broken) {
        return PVKIT_XS_CORRUPT;
    }
    cons = ld_acquire(&r->rsp_cons);
    prod = __atomic_load_n(&r->rsp_prod, __ATOMIC_RELAXED);
    if (prod - cons > PVKIT_XS_RING_SIZE) {
        return corrupt(c, r);
    }
    space = PVKIT_XS_RING_SIZE - (prod - cons);
    n = c->q_used < space ? c->q_used : space;
    for (i = 0; i < n; i += chunk) {
        off = (prod + i) & (PVKIT_XS_RING_SIZE - 1);
        q = (c->q_head + i) % PVKIT_XS_QUEUE_SIZE;
        chunk = PVKIT_XS_RING_SIZE - off;
        if (chunk > n - i) {
            chunk = n - i;
        }
        if (chunk > PVKIT_XS_QUEUE_SIZE - q) {
            chunk = PVKIT_XS_QUEUE_SIZE - q;
        }
        memcpy(r->rsp + off, c->queue + q, chunk);
    }
    if (n) {
        c->q_head = (c->q_head + n) % PVKIT_XS_QUEUE_SIZE;
        c->q_used -= n;
        /* the bytes are visible before the index that covers them */
        st_release(&r->rsp_prod, prod + n);
    }
    return (int)n;
}

/*
 * Split @len bytes at @p into NUL-terminated strings; the last one must
 * end exactly at @len.  Returns the count, or -1 when the payload does
 * not end with a NUL or holds more than @max strings.
 */
static int split(const uint8_t *p, uint32_t len, const char **arg,
                 uint32_t max)
{
    uint32_t i, start = 0, n = 0;

    if (len == 0 || p[len - 1] != '\0') {
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (p[i] == '\0') {
            if (n == max) {
                return -1;
            }
            arg[n++] = (const char *)p + start;
            start = i + 1;
        }
    }
    return (int)n;
}

static int check_path(const char *path)
{
    size_t l = strlen(path);

    if (l == 0) {
        return EINVAL;
    }
    return l > PVKIT_XS_ABS_PATH_MAX ? E2BIG : 0;
}

int pvkit_xs_parse(const PVKitXsConn *c, PVKitXsArgs *a)
{
    struct pvkit_xs_hdr h;
    const uint8_t *p = c->req + PVKIT_XS_HDR_SIZE;
    uint32_t len, i;
    int n;

    memset(a, 0, sizeof(*a));
    memcpy(&h, c->req, sizeof(h));
    len = h.len;
    a->type = h.type;
    a->req_id = h.req_id;
    a->tx_id = h.tx_id;
    if (!c->req_done || len > PVKIT_XS_PAYLOAD_MAX) {
        return EINVAL;
    }

    switch (h.type) {
    case PVKIT_XS_DIRECTORY:
    case PVKIT_XS_READ:
    case PVKIT_XS_GET_PERMS:
    case PVKIT_XS_MKDIR:
    case PVKIT_XS_RM:
        /* exactly one string: the path */
        n = split(p, len, a->arg, 1);
        if (n != 1) {
            return EINVAL;
        }
        a->nargs = 1;
        return check_path(a->arg[0]);
    case PVKIT_XS_WRITE: {
        /* path NUL value (raw bytes, not terminated) */
        const uint8_t *nul = len ? memchr(p, '\0', len) : NULL;

        if (!nul) {
            return EINVAL;
        }
        a->arg[0] = (const char *)p;
        a->nargs = 1;
        a->value = nul + 1;
        a->value_len = len - (uint32_t)(nul + 1 - p);
        return check_path(a->arg[0]);
    }
    case PVKIT_XS_WATCH:
    case PVKIT_XS_UNWATCH:
        /* path NUL token NUL */
        n = split(p, len, a->arg, 2);
        if (n != 2) {
            return EINVAL;
        }
        a->nargs = 2;
        return check_path(a->arg[0]);
    case PVKIT_XS_TRANSACTION_START:
    case PVKIT_XS_RESET_WATCHES:
    case PVKIT_XS_GET_DOMAIN_PATH:
        /* nothing, or one string (Linux sends ""; the domid) */
        if (len == 0 && h.type != PVKIT_XS_GET_DOMAIN_PATH) {
            return 0;
        }
        n = split(p, len, a->arg, 1);
        if (n != 1) {
            return EINVAL;
        }
        a->nargs = 1;
        return 0;
    case PVKIT_XS_TRANSACTION_END:
        n = split(p, len, a->arg, 1);
        if (n != 1 || (strcmp(a->arg[0], "T") && strcmp(a->arg[0], "F"))) {
            return EINVAL;
        }
        a->nargs = 1;
        return 0;
    case PVKIT_XS_SET_PERMS:
        /* path NUL perm NUL [perm NUL ...] */
        n = split(p, len, a->arg, PVKIT_XS_MAX_ARGS);
        if (n < 2) {
            return EINVAL;
        }
        a->nargs = (uint32_t)n;
        for (i = 1; i < a->nargs; i++) {
            if (!a->arg[i][0]) {
                return EINVAL;
            }
        }
        return check_path(a->arg[0]);
    case PVKIT_XS_CONTROL:
    case PVKIT_XS_INTRODUCE:
    case PVKIT_XS_RELEASE:
    case PVKIT_XS_IS_DOMAIN_INTRODUCED:
    case PVKIT_XS_RESUME:
    case PVKIT_XS_SET_TARGET:
    case PVKIT_XS_DIRECTORY_PART:
    case PVKIT_XS_WATCH_EVENT:
    case PVKIT_XS_ERROR:
        return ENOSYS;
    default:
        return EINVAL;
    }
}
